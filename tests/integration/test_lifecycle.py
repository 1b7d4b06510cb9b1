"""The handler against the local registry (moto, corrected to behave as SageMaker),
driven by the same runner that `make demo` and `python -m devkit invoke` use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devkit import sagemaker_fidelity
from devkit.receiver import ResponseReceiver
from devkit.registry import LocalRegistry
from devkit.runner import Lifecycle
from tests.helpers import load_event

ROOT = Path(__file__).resolve().parents[2]
TICKET = {"ticket": "CAB-1234", "approved-by": "ml-platform"}


def approve(arn: str = "churn/2", **metadata: str) -> dict[str, object]:
    return {"ModelPackageArn": arn, "ModelApprovalStatus": "Approved",
            "CustomerMetadataProperties": metadata or dict(TICKET)}


def test_create_update_delete_keeps_the_pipelines_metadata(lifecycle: Lifecycle, labels: dict[str, str]) -> None:
    arn = labels["churn/2"]
    pipeline_keys = lifecycle.metadata(arn)
    lifecycle.create(approve())
    assert lifecycle.metadata(arn) == {**pipeline_keys, **TICKET}
    assert lifecycle.describe(arn)["ModelApprovalStatus"] == "Approved"
    lifecycle.update(approve(ticket="CAB-1299", evaluation="s3://e"))
    assert lifecycle.metadata(arn) == {**pipeline_keys, "ticket": "CAB-1299", "evaluation": "s3://e"}
    lifecycle.delete()
    assert lifecycle.metadata(arn) == pipeline_keys
    assert lifecycle.failures == [] and lifecycle.lost_keys() == []


def test_every_event_gets_exactly_one_response(lifecycle: Lifecycle, receiver: ResponseReceiver) -> None:
    lifecycle.create(approve(), redeliver=True)
    lifecycle.update(approve(ticket="CAB-2"), redeliver=True)
    lifecycle.delete(redeliver=True)
    assert len(receiver.received) == len(lifecycle.played) == 6
    assert lifecycle.failures == []


def test_redelivered_create_changes_nothing_more(lifecycle: Lifecycle, registry: LocalRegistry) -> None:
    first = lifecycle.create(approve())
    registry.reset_counts()
    again = lifecycle.play(first.event, "create (redelivered)")
    # The record holds the first delivery's answer: one read, nothing described, written or sent.
    assert dict(registry.requests) == {"BatchGetItem": 1}
    assert again.response == first.response | {"RequestId": first.event["RequestId"]}


def test_failed_update_is_rolled_back(lifecycle: Lifecycle, labels: dict[str, str]) -> None:
    arn = labels["churn/2"]
    lifecycle.create(approve())
    before = lifecycle.metadata(arn)
    # "owner" holds the pipeline's value: taking it over fails before any change
    played = lifecycle.update(approve(ticket="CAB-9", owner="ml-platform"), expect="FAILED")
    assert played.response and "owner" in played.response["Reason"]
    assert lifecycle.played[-1].label == "update (rollback)" and lifecycle.played[-1].status == "SUCCESS"
    assert lifecycle.metadata(arn) == before
    assert lifecycle.failures == []


def test_replacement_moves_to_the_new_package_and_releases_the_old(lifecycle: Lifecycle,
                                                                   labels: dict[str, str]) -> None:
    old, new = labels["churn/2"], labels["churn/1"]
    old_keys, new_keys = lifecycle.metadata(old), lifecycle.metadata(new)
    lifecycle.create(approve())
    lifecycle.update(approve("churn/1"))
    assert lifecycle.physical_id == new
    assert lifecycle.metadata(new) == {**new_keys, **TICKET}
    assert lifecycle.metadata(old) == old_keys  # released by the Delete that followed
    assert [p.label for p in lifecycle.played][-1] == "delete (old package, after replacement)"


def test_out_of_band_edits_survive_and_edited_managed_keys_are_left_on_delete(lifecycle: Lifecycle,
                                                                              labels: dict[str, str]) -> None:
    arn = labels["churn/2"]
    lifecycle.create(approve())
    lifecycle.pipeline("churn/2", set_={"drift": "ok", "approved-by": "someone-else"})
    lifecycle.delete()
    metadata = lifecycle.metadata(arn)
    assert metadata["drift"] == "ok" and metadata["approved-by"] == "someone-else"
    assert "ticket" not in metadata


def test_a_package_in_progress_is_waited_for(lifecycle: Lifecycle, labels: dict[str, str]) -> None:
    sagemaker_fidelity.set_status(labels["churn/3"], "InProgress", for_seconds=1.5)
    played = lifecycle.create(approve("churn/3"))
    assert played.status == "SUCCESS"
    assert played.response and played.response["Data"]["ModelPackageStatus"] == "Completed"


def test_a_failed_package_fails_the_create_and_its_delete_changes_nothing(lifecycle: Lifecycle,
                                                                         labels: dict[str, str]) -> None:
    arn = labels["churn/2"]
    before = lifecycle.metadata(arn)
    sagemaker_fidelity.set_status(arn, "Failed")
    played = lifecycle.create(approve(), expect="FAILED")
    assert played.response and played.response["Reason"].startswith("Model package unavailable")
    assert lifecycle.played[-1].label == "delete (after the failed create)"
    assert lifecycle.played[-1].status == "SUCCESS"
    assert lifecycle.metadata(arn) == before


def test_specifications_card_and_stage_reach_the_package(lifecycle: Lifecycle, labels: dict[str, str]) -> None:
    props = load_event("create-inference-spec")["ResourceProperties"]
    props["ModelPackageArn"] = "churn/2"
    lifecycle.create(props)
    live = lifecycle.describe(labels["churn/2"])
    assert [s["Name"] for s in live["AdditionalInferenceSpecifications"]] == ["neo-graviton"]
    assert live["ModelCard"]["ModelCardStatus"] == "Draft"
    assert live["ModelLifeCycle"] == props["ModelLifeCycle"]
    # dropping the spec from the properties succeeds and leaves it on the package
    lifecycle.update({"ModelPackageArn": "churn/2"})
    assert len(lifecycle.describe(labels["churn/2"])["AdditionalInferenceSpecifications"]) == 1
    assert lifecycle.failures == []


@pytest.mark.parametrize("name", ["create", "create-inference-spec", "delete-after-failed-create",
                                  "create-bad-input"])
def test_event_files_play_through_invoke(name: str, tmp_path: Path) -> None:
    # the `invoke` command, in a fresh process per event (a cold start), its own registry
    completed = subprocess.run([sys.executable, "-m", "devkit", "invoke", f"events/{name}.json"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120, check=False)
    expected = "FAILED" if name == "create-bad-input" else "SUCCESS"
    assert f"Status              {expected}" in completed.stdout, completed.stdout + completed.stderr
    assert completed.returncode == (0 if expected == "SUCCESS" else 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"RequestType": "Create"}', "field 'RequestId' is missing"),
        ('{"RequestType": "Create", "RequestId": "r", "StackId": "s", "LogicalResourceId": "L", '
         '"ResourceProperties": {"ModelPackageArn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/nope/1"}}',
         "ResourceProperties.ModelPackageArn: arn:aws:sagemaker:eu-west-1:123456789012:model-package/nope/1 is not in"),
    ],
)
def test_invoke_refuses_bad_files_in_one_line(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(content)
    completed = subprocess.run([sys.executable, "-m", "devkit", "invoke", str(path)], cwd=ROOT,
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]


def test_the_demo_runs_and_its_checks_hold() -> None:
    completed = subprocess.run([sys.executable, "-m", "devkit", "demo"], cwd=ROOT, capture_output=True,
                               text=True, timeout=300, check=False)
    out = completed.stdout
    assert completed.returncode == 0, out[-2000:] + completed.stderr[-2000:]
    assert "none lost or changed" in out and "All checks held." in out
    assert out.count("== Step") == 15

    def step(number: int) -> str:
        return out.split(f"== Step {number}:", 1)[1].split(f"== Step {number + 1}:", 1)[0]

    # the refused second call: the first reverted, the rollback finds nothing to send
    refused = step(7)
    assert "Reason              SageMaker error at SourceUri: UpdateModelPackage refused" in refused
    assert "SageMaker calls     DescribeModelPackage 1\n" in refused.split("update (rollback)", 1)[1]
    # a second stack joins churn/2's approval; when the first moves on, churn/2 stays approved
    assert "[stack prod-deploy]" in step(8) and "Status              SUCCESS" in step(8)
    released = step(9).split("package churn/2", 1)[1].split("package churn/3", 1)[0]
    assert "approval Approved" in released and 'owner = "data-science"' in released and "ticket" not in released
    # drift: none, then SageMaker's event after an out-of-band edit logs it and the report lists it
    assert "(exit status 0)" in step(10)
    assert "SageMaker calls     DescribeModelPackage 1\n" in step(12) and step(12).count("Drift               ") == 2
    assert "(exit status 1)" in step(13)
    # the last stack on churn/2 gives back what was there before both (as close as SageMaker allows)
    last = step(15)
    assert "approval Rejected" in last and "environment" not in last
    # the redelivered Create is answered as the first was, from the record: nothing described
    redelivered = out.split("create (redelivered)", 1)[1].split("Data", 1)[0]
    assert "SageMaker calls     none\n" in redelivered and "Prior-state table   BatchGetItem 1\n" in redelivered


def test_scenario_naming_a_package_the_registry_lacks_is_refused_before_any_event(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("steps:\n  - create: {ModelPackageArn: churn/9}\n  - delete: {}\n")
    completed = subprocess.run([sys.executable, "-m", "devkit", "scenario", str(scenario)], cwd=ROOT,
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 2 and "== Step" not in completed.stdout
    [line] = completed.stderr.strip().splitlines()
    assert str(scenario) in line and "steps[0].create.ModelPackageArn" in line and "churn/9" in line


def test_port_in_use_is_a_one_line_error() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        completed = subprocess.run([sys.executable, "-m", "devkit", "demo", "--port", str(port)], cwd=ROOT,
                                   capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (choose another --port)"]


def test_invoke_plays_an_event_for_another_account_and_region_with_its_seed(tmp_path: Path) -> None:
    # The contract's own example ARN (account 111122223333, churn/7 in us-east-1).
    seed = tmp_path / "seed.yaml"
    seed.write_text('region: us-east-1\naccount: "111122223333"\ngroups:\n  - name: churn\n    versions:\n'
                    + "      - metadata: {pipeline: p}\n" * 7)
    event = load_event("create")
    event["ResourceProperties"]["ModelPackageArn"] = "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/7"
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    completed = subprocess.run([sys.executable, "-m", "devkit", "invoke", str(path), "--seed", str(seed)], cwd=ROOT,
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Status              SUCCESS" in completed.stdout and 'pipeline = "p"' in completed.stdout
    assert 'ticket = "CAB-1234"' in completed.stdout


def test_seed_with_a_bad_account_is_a_one_line_error(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("account: 42\ngroups:\n  - name: churn\n    versions: [{}]\n")
    completed = subprocess.run([sys.executable, "-m", "devkit", "invoke", "events/create.json", "--seed", str(seed)],
                               cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [f"error: {seed}: field 'account' must be 12 digits"]
