"""Drift against the local registry: SageMaker's state change event played through the
handler (as EventBridge delivers it) after an out-of-band edit, and the report command
as an operator runs it, with its exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devkit.receiver import ResponseReceiver
from devkit.registry import LocalRegistry
from devkit.runner import Lifecycle, state_change_event
from tests.helpers import LogCapture

ROOT = Path(__file__).resolve().parents[2]
CENTRAL = ROOT / "devkit" / "demo" / "central-registry.yaml"
FUNCTION, REGISTRY = "123456789012", "111122223333"
ROLE = "arn:aws:iam::111122223333:role/model-registry-governor"
TICKET = {"ticket": "CAB-1234", "approved-by": "ml-platform"}


def approve(package: str = "churn/2", **more: Any) -> dict[str, Any]:
    return {"ModelPackageArn": package, "ModelApprovalStatus": "Approved",
            "CustomerMetadataProperties": dict(TICKET), **more}


def drift_report(registry: LocalRegistry, *args: str, table: str | None = None) -> subprocess.CompletedProcess[str]:
    """tools/drift_report.py in its own process, as an operator runs it: the function's
    account's credentials, the registry's endpoint given on the command line."""
    credentials = {k: v for k, v in registry.environment().items() if k.startswith("AWS_") and "ENDPOINT" not in k}
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "drift_report.py"), "--table", table or registry.table_name,
         "--region", registry.region, "--endpoint-url", registry.endpoint, *args],
        capture_output=True, text=True, check=False, timeout=120, env={**os.environ, **credentials},
    )


def test_the_report_exits_0_without_drift_and_1_after_an_out_of_band_change(
    lifecycle: Lifecycle, registry: LocalRegistry, labels: dict[str, str]
) -> None:
    # GIVEN a stack that approved churn/2 and recorded two keys
    lifecycle.create(approve())
    clean = drift_report(registry)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 governed package, 0 drifted items" in clean.stdout and "No drift" in clean.stdout
    # WHEN someone rejects it in Studio and edits a managed key
    lifecycle.pipeline("churn/2", approval="Rejected", set_={"ticket": "INC-9"})
    drifted = drift_report(registry)
    # THEN the report lists both under the stack and resource that declare them, and exits 1
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert "stack local-demo, resource ApproveModel" in drifted.stdout
    rows = [line.split() for line in drifted.stdout.splitlines() if line.strip().startswith(labels["churn/2"])]
    assert [row[1:] for row in rows] == [["ModelApprovalStatus", "changed", "Approved", "Rejected"],
                                         ["metadata", "ticket", "changed", "CAB-1234", "INC-9"]]
    # AND as JSON, for a pipeline to read
    as_json = json.loads(drift_report(registry, "--json").stdout)
    assert [(d["ModelPackageArn"], d["item"], d["StackName"], d["LogicalResourceId"]) for d in as_json["drift"]] == [
        (labels["churn/2"], "ModelApprovalStatus", "local-demo", "ApproveModel"),
        (labels["churn/2"], "metadata ticket", "local-demo", "ApproveModel")]
    # AND the report changed nothing: no UpdateModelPackage since the pipeline's edit
    assert lifecycle.describe(labels["churn/2"])["ModelApprovalStatus"] == "Rejected"


def test_the_report_exits_2_when_the_table_cannot_be_read(registry: LocalRegistry) -> None:
    completed = drift_report(registry, table="no-such-table")
    assert completed.returncode == 2
    assert "the table cannot be read" in completed.stdout and "ResourceNotFoundException" in completed.stdout


def test_sagemakers_event_after_an_out_of_band_change_logs_the_drift_and_changes_nothing(
    lifecycle: Lifecycle, registry: LocalRegistry, receiver: ResponseReceiver, labels: dict[str, str],
    logs: LogCapture,
) -> None:
    lifecycle.create(approve())
    lifecycle.pipeline("churn/2", approval="Rejected")
    answered = len(receiver.received)
    announced = lifecycle.announce("churn/2")
    # One read of the record, one describe; no update, no response.
    assert announced.calls == {"BatchGetItem": 1, "DescribeModelPackage": 1}
    assert len(receiver.received) == answered and lifecycle.failures == []
    [line] = [json.loads(raw) for raw in logs.text().splitlines() if raw.startswith("{") and '"Drift"' in raw]
    assert (line["ModelPackageArn"], line["item"], line["declared"], line["live"]) == (
        labels["churn/2"], "ModelApprovalStatus", "Approved", "Rejected")
    assert (line["StackName"], line["LogicalResourceId"]) == ("local-demo", "ApproveModel")
    assert lifecycle.describe(labels["churn/2"])["ModelApprovalStatus"] == "Rejected"


def test_an_event_for_a_package_no_stack_governs_reads_the_table_once(
    lifecycle: Lifecycle, labels: dict[str, str]
) -> None:
    announced = lifecycle.announce("churn/3")
    assert announced.calls == {"BatchGetItem": 1}
    assert announced.result["Managed"] is False and announced.drifted == []


@pytest.fixture
def central(registry: LocalRegistry, receiver: ResponseReceiver) -> Lifecycle:
    labels = registry.seed(CENTRAL)
    registry.reset_counts()
    return Lifecycle(registry, receiver, labels, cold=False, timeout_ms=30_000)


@pytest.mark.parametrize(("package", "more", "caller"), [
    ("churn/2", {}, FUNCTION),  # the group's resource policy: the function's own credentials
    ("fraud/1", {"RoleArn": ROLE}, REGISTRY),  # RoleArn: as the role, in the registry account
])
def test_a_registry_accounts_package_is_described_as_its_resource_calls_it(
    package: str, more: dict[str, Any], caller: str, central: Lifecycle, registry: LocalRegistry
) -> None:
    central.create(approve(package, **more))
    central.pipeline(package, approval="Rejected")
    registry.reset_counts()
    # SageMaker's event, sent in the registry account and forwarded to the function's bus
    announced = central.announce(package, expect_drift=1)
    assert announced.event["account"] == REGISTRY
    assert [(c.operation, c.caller, c.account, c.allowed) for c in registry.calls
            if c.operation == "DescribeModelPackage"] == [("DescribeModelPackage", caller, REGISTRY, True)]
    assert central.failures == []


def test_state_change_event_is_the_real_shape_for_any_package() -> None:
    arn = "arn:aws:sagemaker:us-east-2:111122223333:model-package/fraud/12"
    event = state_change_event(arn, {"ModelApprovalStatus": "Approved"})
    assert (event["source"], event["detail-type"]) == ("aws.sagemaker", "SageMaker Model Package State Change")
    assert (event["account"], event["region"], event["resources"]) == ("111122223333", "us-east-2", [arn])
    assert {k: event["detail"][k] for k in ("ModelPackageArn", "ModelPackageGroupName", "ModelPackageVersion",
                                            "ModelApprovalStatus")} == {
        "ModelPackageArn": arn, "ModelPackageGroupName": "fraud", "ModelPackageVersion": 12,
        "ModelApprovalStatus": "Approved"}


def test_devkit_invoke_plays_sagemakers_event_and_answers_no_one() -> None:
    completed = subprocess.run([sys.executable, "-m", "devkit", "invoke", "events/model-package-state-change.json"],
                               cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # The seeded registry: churn/2 is governed by no stack, so one read and nothing else.
    assert "Prior-state table   BatchGetItem 1\n" in completed.stdout
    assert "SageMaker calls     none\n" in completed.stdout and "Drift               none" in completed.stdout
