"""make stackset: the processed template (no Transform) that service-managed
StackSets accept, and the deterministic zip of the built package it points to,
with the package's hash-based python3.13 bytecode: the same bytes from two builds,
and a whole Create answered by it as Lambda runs it (unzipped read-only, python3.13
-I -B). Needs `make build` (sam build) first, like the build tests."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from devkit.artifact import HOW_TO_GET_PYTHON313, LAMBDA_FLAGS, python313, remove, unpack_read_only
from devkit.receiver import ResponseReceiver
from devkit.registry import LocalRegistry
from devkit.runner import Lifecycle
from tests.deploy.test_artifact import BYTECODE_CHECK
from tests.deploy.test_templates import DEFAULTS, KEY, MRK, URL_SUFFIXES, evaluate, template
from tools.stackset import BYTECODE_TAG, CODE_PARAMETERS, FUNCTION, bytecode_of, bytecode_problems, deterministic_zip

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def stackset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert (BUILD / FUNCTION).is_dir(), "run `make build` (sam build) first"
    out = tmp_path_factory.mktemp("stackset")
    completed = subprocess.run([str(SAM_PYTHON), str(ROOT / "tools" / "stackset.py"), "--out", str(out)],
                               capture_output=True, text=True, check=False, env={**os.environ, "AWS_DEFAULT_REGION": "ap-south-1"})
    assert completed.returncode == 0, completed.stderr
    return out


@pytest.fixture(scope="module")
def processed(stackset: Path) -> dict[str, Any]:
    return dict(json.loads((stackset / "template.json").read_text()))


def test_processed_template_has_no_transform_and_no_serverless_resource(processed: dict[str, Any]) -> None:
    assert "Transform" not in processed
    assert not [r for r in processed["Resources"].values() if r["Type"].startswith("AWS::Serverless::")]
    text = json.dumps(processed)
    assert "ap-south-1" not in text and "us-east-1" not in text  # no region baked in


def test_processed_template_passes_cfn_lint(stackset: Path) -> None:
    findings = lint_file(stackset / "template.json", config=ManualArgs(regions=["eu-west-1", "us-east-1"]))
    assert [str(f) for f in findings] == []


def test_processed_template_passes_checkov(stackset: Path) -> None:
    completed = subprocess.run([str(CHECKOV), "--file", str(stackset / "template.json"), "--framework",
                                "cloudformation", "--quiet", "--compact", "--skip-download", "--output", "json"],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    summary = json.loads(completed.stdout)["summary"]
    assert summary["failed"] == 0 and summary["passed"] > 0, summary


def statements(policies: list[dict[str, Any]]) -> list[Any]:
    return [s for p in policies for s in p.get("PolicyDocument", p)["Statement"]]


def test_processed_template_keeps_parameters_outputs_conditions_and_iam_statements(
        processed: dict[str, Any]) -> None:
    sam = template()
    parameters = dict(processed["Parameters"])
    assert {name: parameters.pop(name)["Type"] for name in CODE_PARAMETERS} == {
        "CodeBucketPrefix": "String", "CodeKey": "String"}
    assert parameters == sam["Parameters"]
    assert processed["Outputs"] == sam["Outputs"]
    assert processed["Conditions"] == sam["Conditions"]
    [role] = [r for r in processed["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    function = sam["Resources"][FUNCTION]["Properties"]
    assert statements(role["Properties"]["Policies"]) == statements(function["Policies"])
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}]
    for name, resource in sam["Resources"].items():
        if not resource["Type"].startswith("AWS::Serverless::"):
            assert processed["Resources"][name] == resource, name


@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
def test_processed_role_decrypts_with_the_kms_keys_only_when_given(processed: dict[str, Any], partition: str) -> None:
    # KmsKeyArns flows through the transform: a parameter of the StackSet template, and
    # the role's KMS statement appears exactly when it is set.
    assert processed["Parameters"]["KmsKeyArns"] == template()["Parameters"]["KmsKeyArns"]
    [role] = [r for r in processed["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    raw = statements(role["Properties"]["Policies"])
    pseudo = {"AWS::Partition": partition, "AWS::URLSuffix": URL_SUFFIXES[partition]}

    def kms(keys: list[str]) -> list[Any]:
        evaluated = evaluate(raw, {**DEFAULTS, "KmsKeyArns": keys}, pseudo, processed["Conditions"])
        return [s for s in evaluated if s["Sid"] == "DecryptModelPackagesThroughSageMaker"]

    assert kms([""]) == []
    assert kms([KEY, MRK]) == [{"Sid": "DecryptModelPackagesThroughSageMaker", "Effect": "Allow",
                                "Action": "kms:Decrypt", "Resource": [KEY, MRK],
                                "Condition": {"StringLike": {
                                    "kms:ViaService": f"sagemaker.*.{URL_SUFFIXES[partition]}"}}}]


def test_function_reads_the_zip_from_the_regions_bucket(processed: dict[str, Any], stackset: Path) -> None:
    function = processed["Resources"][FUNCTION]["Properties"]
    assert function["Code"] == {"S3Bucket": {"Fn::Sub": "${CodeBucketPrefix}-${AWS::Region}"},
                                "S3Key": {"Ref": "CodeKey"}}
    [archive] = stackset.glob("*.zip")
    data = archive.read_bytes()
    assert processed["Parameters"]["CodeKey"]["Default"] == archive.name
    assert archive.name == f"model-package-resource-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    sam = template()["Resources"][FUNCTION]["Properties"]
    for key in ("Handler", "Runtime", "Architectures", "Timeout", "MemorySize", "Environment"):
        assert function[key] == sam[key], key


def built_files() -> list[str]:
    """What the zip must hold: the built package's files outside __pycache__, and the
    python3.13 bytecode of every module."""
    code = BUILD / FUNCTION
    sources = [p for p in code.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted([p.relative_to(code).as_posix() for p in sources]
                  + [bytecode_of(p).relative_to(code).as_posix() for p in sources if p.suffix == ".py"])


def test_zip_holds_the_built_package_and_its_bytecode_and_nothing_else(stackset: Path) -> None:
    [archive] = stackset.glob("*.zip")
    with zipfile.ZipFile(archive) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == built_files()
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert z.read("app.py") == (BUILD / FUNCTION / "app.py").read_bytes()
        assert z.read(f"__pycache__/app.{BYTECODE_TAG}.pyc") == bytecode_of(BUILD / FUNCTION / "app.py").read_bytes()


@pytest.fixture(scope="module")
def interpreter() -> str:
    found = python313()
    if not found:
        pytest.fail(f"python3.13 is needed: {HOW_TO_GET_PYTHON313}")
    return found


@pytest.fixture(scope="module")
def task(stackset: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The StackSet's zip as Lambda gets it: unpacked read-only (its 1980 dates kept)."""
    where = tmp_path_factory.mktemp("stackset-lambda")
    [archive] = stackset.glob("*.zip")
    yield unpack_read_only(archive, where / "task")
    remove(where)


def test_zip_ships_the_hash_based_python313_bytecode_of_every_module(task: Path, interpreter: str) -> None:
    completed = subprocess.run([interpreter, *LAMBDA_FLAGS, "-c", BYTECODE_CHECK, str(task)],
                               capture_output=True, text=True, check=True)
    result = json.loads(completed.stdout)
    assert result["modules"] > 100
    assert result["problems"] == []


def test_the_stackset_artifact_answers_a_whole_create_on_python313_read_only(
    task: Path, interpreter: str, registry: LocalRegistry, receiver: ResponseReceiver, labels: dict[str, str]
) -> None:
    arn = labels["churn/2"]
    before = {str(p.relative_to(task)): p.read_bytes() for p in sorted(task.rglob("*")) if p.is_file()}
    lifecycle = Lifecycle(registry, receiver, labels, cold=True, timeout_ms=30_000,
                          python=(interpreter, *LAMBDA_FLAGS), code_dir=task)
    created = lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                                "CustomerMetadataProperties": {"ticket": "CAB-1"}})
    assert (created.status, created.response["PhysicalResourceId"]) == ("SUCCESS", arn)  # type: ignore[index]
    assert lifecycle.metadata(arn)["ticket"] == "CAB-1"
    assert lifecycle.describe(arn)["ModelApprovalStatus"] == "Approved"
    deleted = lifecycle.delete()
    assert deleted.status == "SUCCESS" and "ticket" not in lifecycle.metadata(arn)
    assert lifecycle.failures == [] and lifecycle.lost_keys() == []
    after = {str(p.relative_to(task)): p.read_bytes() for p in sorted(task.rglob("*")) if p.is_file()}
    assert after == before, "the handler wrote into its code directory"


def compile_as_the_build_does(interpreter: str, folder: Path) -> None:
    """handler/Makefile's own compileall line, run on another directory."""
    line = re.search(r'-m compileall (.*?) "\$\(ARTIFACTS_DIR\)" -p /var/task "\$\(ARTIFACTS_DIR\)"',
                     (ROOT / "handler" / "Makefile").read_text().replace("\\\n\t\t", ""))
    assert line, "handler/Makefile's compileall line changed: adapt this test"
    subprocess.run([interpreter, "-m", "compileall", *line.group(1).split(), str(folder), "-p", "/var/task",
                    str(folder)], check=True, capture_output=True)


def test_two_builds_give_the_same_zip(stackset: Path, interpreter: str, tmp_path: Path) -> None:
    """The package's sources compiled again in another directory, by another
    process, as handler/Makefile compiles them: the same zip, byte for byte."""
    [archive] = stackset.glob("*.zip")
    again = tmp_path / "build"
    shutil.copytree(BUILD / FUNCTION, again, ignore=shutil.ignore_patterns("__pycache__"))
    assert bytecode_problems(again)
    compile_as_the_build_does(interpreter, again)
    assert bytecode_problems(again) == []
    assert deterministic_zip(again) == archive.read_bytes()


def test_make_stackset_twice_gives_the_same_bytes(stackset: Path, tmp_path: Path) -> None:
    completed = subprocess.run([str(SAM_PYTHON), str(ROOT / "tools" / "stackset.py"), "--out", str(tmp_path)],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    [first], [second] = stackset.glob("*.zip"), tmp_path.glob("*.zip")
    assert (first.name, first.read_bytes()) == (second.name, second.read_bytes())
    assert (stackset / "template.json").read_text() == (tmp_path / "template.json").read_text()


def test_zip_is_the_same_bytes_whatever_the_dates_permissions_and_other_bytecode(
        interpreter: str, tmp_path: Path) -> None:
    source = ROOT / "handler" / "model_package_resource"
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(source, first, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(source, second, ignore=shutil.ignore_patterns("__pycache__"))
    compile_as_the_build_does(interpreter, first)
    compile_as_the_build_does(interpreter, second)
    for i, path in enumerate(sorted(p for p in second.rglob("*") if p.is_file())):
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
        path.chmod(0o755 if i % 2 else 0o600)
    (second / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"another interpreter's bytecode")
    (second / "__pycache__" / "gone.cpython-313.pyc").write_bytes(b"the bytecode of a module no longer there")
    assert deterministic_zip(first) == deterministic_zip(second)
    with zipfile.ZipFile(io.BytesIO(deterministic_zip(first))) as z:
        assert f"__pycache__/request.{BYTECODE_TAG}.pyc" in z.namelist()


def test_a_build_without_hash_based_bytecode_is_refused(interpreter: str, tmp_path: Path) -> None:
    code = tmp_path / "build" / FUNCTION
    shutil.copytree(ROOT / "handler" / "model_package_resource", code, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([interpreter, "-m", "compileall", "-q", str(code)], check=True)  # timestamp-based
    problems = bytecode_problems(code)
    assert problems and all("not unchecked-hash" in p for p in problems)
    completed = subprocess.run([str(SAM_PYTHON), str(ROOT / "tools" / "stackset.py"), "--build", str(tmp_path / "build"),
                                "--out", str(tmp_path / "out")], capture_output=True, text=True, check=False)
    assert completed.returncode == 2 and "run make build" in completed.stderr
    assert not (tmp_path / "out").exists()
