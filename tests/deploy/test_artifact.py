"""The package that `sam build` made, as Lambda runs it: zipped as SAM zips it,
unpacked read-only, on python3.13 -I -B. A whole lifecycle runs through it against
the local registry and the HTTPS receiver, and every shipped module carries its
hash-based python3.13 bytecode. Only the public entry point (app.lambda_handler)
is used.

`make test` runs `make build` first; without a build these tests skip, except in
CI (where a missing build is a failure)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.artifact import BUILD, HOW_TO_GET_PYTHON313, LAMBDA_FLAGS, lambda_copy, python313, remove
from devkit.receiver import ResponseReceiver
from devkit.registry import LocalRegistry
from devkit.runner import Lifecycle

PIPELINE = {"pipeline-execution": "exec-0002", "accuracy": "0.91", "owner": "data-science"}


def _need_build() -> None:
    if not BUILD.is_dir():
        if os.environ.get("CI"):
            pytest.fail("no build in CI: `make test` runs `make build` (sam build) first")
        pytest.skip("no build: run `make build` (sam build)")


@pytest.fixture(scope="module")
def interpreter() -> str:
    _need_build()
    found = python313()
    if not found:
        pytest.fail(f"python3.13 is needed: {HOW_TO_GET_PYTHON313}")
    return found


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory, interpreter: str) -> Iterator[Path]:
    """The artifact as Lambda's /var/task: via SAM's zip, read-only, 1980 dates."""
    where = tmp_path_factory.mktemp("lambda")
    directory, _ = lambda_copy(BUILD, where)
    yield directory
    remove(where)


def files(tree: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}


def test_a_whole_lifecycle_runs_through_the_built_artifact_on_python313(
    task: Path, interpreter: str, registry: LocalRegistry, receiver: ResponseReceiver, labels: dict[str, str]
) -> None:
    arn = labels["churn/2"]
    before = files(task)
    lifecycle = Lifecycle(registry, receiver, labels, cold=True, timeout_ms=30_000,
                          python=(interpreter, *LAMBDA_FLAGS), code_dir=task)
    assert lifecycle.metadata(arn) == PIPELINE

    created = lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                                "CustomerMetadataProperties": {"ticket": "CAB-1"}})
    assert (created.status, created.response["PhysicalResourceId"]) == ("SUCCESS", arn)  # type: ignore[index]
    assert created.response["Data"]["ModelApprovalStatus"] == "Approved"  # type: ignore[index]
    assert lifecycle.metadata(arn) == {**PIPELINE, "ticket": "CAB-1"}
    assert lifecycle.describe(arn)["ModelApprovalStatus"] == "Approved"

    updated = lifecycle.update({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                                "CustomerMetadataProperties": {"ticket": "CAB-2", "evaluation": "s3://e"}})
    assert (updated.status, updated.response["PhysicalResourceId"]) == ("SUCCESS", arn)  # type: ignore[index]
    assert lifecycle.metadata(arn) == {**PIPELINE, "ticket": "CAB-2", "evaluation": "s3://e"}

    # An invalid Update fails before any change; CloudFormation then sends the
    # rollback (old and new swapped), which the runner plays and checks.
    failed = lifecycle.update({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Maybe",
                               "CustomerMetadataProperties": {"ticket": "CAB-3"}}, expect="FAILED")
    rollback = lifecycle.played[-1]
    assert failed.status == "FAILED" and "ModelApprovalStatus" in failed.response["Reason"]  # type: ignore[index]
    assert rollback.label == "update (rollback)" and rollback.event["ResourceProperties"]["CustomerMetadataProperties"] \
        == {"ticket": "CAB-2", "evaluation": "s3://e"}
    assert (rollback.status, rollback.response["PhysicalResourceId"]) == ("SUCCESS", arn)  # type: ignore[index]
    assert lifecycle.metadata(arn) == {**PIPELINE, "ticket": "CAB-2", "evaluation": "s3://e"}
    assert lifecycle.describe(arn)["ModelApprovalStatus"] == "Approved"

    deleted = lifecycle.delete()
    assert (deleted.status, deleted.response["PhysicalResourceId"]) == ("SUCCESS", arn)  # type: ignore[index]
    assert lifecycle.metadata(arn) == PIPELINE

    assert [p.status for p in lifecycle.played] == ["SUCCESS", "SUCCESS", "FAILED", "SUCCESS", "SUCCESS"]
    assert len(receiver.received) == len(lifecycle.played)
    assert lifecycle.failures == [] and lifecycle.lost_keys() == []
    assert files(task) == before, "the handler wrote into its code directory"


# The check runs on python3.13 itself: its magic number, and its source hash
# (importlib.util.source_hash is keyed by the interpreter's version).
BYTECODE_CHECK = r"""
import importlib.util, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
problems, count = [], 0
for source in sorted(root.rglob("*.py")):
    count += 1
    name = str(source.relative_to(root))
    cached = pathlib.Path(importlib.util.cache_from_source(str(source)))
    if not cached.is_file():
        problems.append(f"{name}: no {cached.name}")
        continue
    header = cached.read_bytes()[:16]
    flags = int.from_bytes(header[4:8], "little")
    if header[:4] != importlib.util.MAGIC_NUMBER:
        problems.append(f"{name}: magic {header[:4].hex()}, not python {sys.version.split()[0]}'s")
    elif not flags & 1:
        problems.append(f"{name}: timestamp-based (stale on Lambda: SAM's zip dates every file 1980)")
    elif header[8:16] != importlib.util.source_hash(source.read_bytes()):
        problems.append(f"{name}: its bytecode is not of this source")
print(json.dumps({"modules": count, "problems": problems}))
"""


def test_every_shipped_module_has_hash_based_python313_bytecode(task: Path, interpreter: str) -> None:
    completed = subprocess.run([interpreter, *LAMBDA_FLAGS, "-c", BYTECODE_CHECK, str(task)],
                               capture_output=True, text=True, check=True)
    result = json.loads(completed.stdout)
    assert result["modules"] > 100
    assert result["problems"] == []


DETERMINISM_CHECK = r"""
import pathlib, py_compile, sys, tempfile
root, out = pathlib.Path(sys.argv[1]), pathlib.Path(tempfile.mkdtemp())
for name in sys.argv[2:]:
    source = root / name
    cfile = out / (name.replace("/", "_") + ".pyc")
    py_compile.compile(str(source), cfile=str(cfile), dfile="/var/task/" + name, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    import importlib.util
    shipped = pathlib.Path(importlib.util.cache_from_source(str(source))).read_bytes()
    print(name, cfile.read_bytes() == shipped)
"""


def test_bytecode_is_deterministic_whatever_the_build_directory(task: Path, interpreter: str) -> None:
    """Compiled again here, in another directory and process, the handler's own
    modules and a few of botocore's give the very bytes that were shipped."""
    names = sorted(str(p.relative_to(task)) for p in [task / "app.py", *task.glob("model_package_resource/*.py")])
    names += ["botocore/session.py", "botocore/client.py", "boto3/__init__.py"]
    completed = subprocess.run([interpreter, *LAMBDA_FLAGS, "-c", DETERMINISM_CHECK, str(task), *names],
                               capture_output=True, text=True, check=True)
    different = [line.split()[0] for line in completed.stdout.splitlines() if line.split()[1] != "True"]
    assert len(completed.stdout.splitlines()) == len(names)
    assert different == []


def test_botocore_data_is_pruned_to_the_three_services_and_their_clients_work(task: Path, interpreter: str) -> None:
    """SageMaker, DynamoDB and STS clients, in three partitions, from the artifact:
    botocore's bundled data keeps each service's endpoint rule set; a service whose
    trimmed model the function ships (model_package_resource/botocore_data, read
    first through data_path) has no bundled model left."""
    data = task / "botocore" / "data"
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == ["dynamodb", "sagemaker", "sts"]
    trimmed = task / "model_package_resource" / "botocore_data"
    for service in ("dynamodb", "sagemaker", "sts"):
        assert list(data.glob(f"{service}/*/endpoint-rule-set-1.json.gz")), service
        assert not (trimmed / service).is_dir() or not list(data.glob(f"{service}/*/service-2.json.gz")), service
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(task)!r})\n"
        "import botocore.session\n"
        "session = botocore.session.get_session()\n"
        f"session.set_config_variable('data_path', {str(trimmed)!r})\n"
        "for service in ('sagemaker', 'dynamodb', 'sts'):\n"
        "    for region in ('eu-west-1', 'cn-north-1', 'us-gov-west-1'):\n"
        "        client = session.create_client(service, region_name=region)\n"
        "        assert client.meta.endpoint_url.startswith('https://'), client.meta.endpoint_url\n"
        "        print(service, region, client.meta.endpoint_url)\n"
    )
    completed = subprocess.run([interpreter, *LAMBDA_FLAGS, "-c", script], capture_output=True, text=True,
                               check=False, env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert completed.returncode == 0, completed.stderr
    assert "https://api.sagemaker.cn-north-1.amazonaws.com.cn" in completed.stdout
    assert "https://sts.us-gov-west-1.amazonaws.com" in completed.stdout
    assert len(completed.stdout.splitlines()) == 9


ENDPOINTS_CHECK = r"""
import json, sys
task, trimmed, full = sys.argv[1:4]
sys.path.insert(0, task)
import botocore.session

def described(data_path):
    session = botocore.session.get_session()
    session.set_config_variable("data_path", data_path)
    regions = sorted({r for p in json.load(open(full + "/endpoints.json"))["partitions"] for r in p["regions"]})
    resolver = session.get_component("endpoint_resolver")
    seen = {"partitions": session.get_available_partitions()}
    for partition in seen["partitions"]:
        seen[partition] = [resolver.get_partition_dns_suffix(partition)] + [
            session.get_available_regions(s, partition) for s in ("sagemaker", "dynamodb", "sts", "s3")]
    for region in regions:
        seen[region] = session.get_partition_for_region(region)
        for service in ("sagemaker", "dynamodb", "sts"):
            client = session.create_client(service, region_name=region)
            signer = client._request_signer
            seen[service + " " + region] = [client.meta.endpoint_url, client.meta.region_name,
                                            signer.signing_name, signer.region_name, signer.signature_version]
    return seen

pruned, whole = described(trimmed), described(trimmed + ":" + full)
print(json.dumps({"clients": sum(" " in k for k in pruned),
                  "differ": [k for k in whole if pruned.get(k) != whole[k]]}))
"""


def test_pruned_endpoints_resolve_every_region_as_botocores_whole_file(
    task: Path, interpreter: str, tmp_path: Path
) -> None:
    """endpoints.json keeps only the function's services: their clients, in every
    region of every partition, and the partition data resolve as with the whole file
    of the same botocore."""
    import botocore

    full = Path(botocore.__file__).parent / "data"
    assert (task / "botocore" / "__init__.py").read_text().count(f"__version__ = '{botocore.__version__}'") == 1
    (tmp_path / "endpoints.json").write_bytes((full / "endpoints.json").read_bytes())
    assert len((task / "botocore" / "data" / "endpoints.json").read_bytes()) < len((full / "endpoints.json").read_bytes()) / 10
    trimmed = task / "model_package_resource" / "botocore_data"
    completed = subprocess.run([interpreter, *LAMBDA_FLAGS, "-c", ENDPOINTS_CHECK, str(task), str(trimmed),
                                str(tmp_path)], capture_output=True, text=True, check=False,
                               env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout)
    assert result["clients"] > 3 * 30
    assert result["differ"] == []
