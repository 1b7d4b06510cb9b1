"""make stackset: the processed template (no Transform) that service-managed
StackSets accept, and the deterministic zip of the built package it points to.
Needs `make build` (sam build) first, like the build tests."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.deploy.test_templates import DEFAULTS, KEY, MRK, URL_SUFFIXES, evaluate, template
from tools.stackset import CODE_PARAMETERS, FUNCTION, deterministic_zip

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


def test_zip_holds_the_built_package_and_nothing_else(stackset: Path) -> None:
    [archive] = stackset.glob("*.zip")
    built = sorted(p.relative_to(BUILD / FUNCTION).as_posix() for p in (BUILD / FUNCTION).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    with zipfile.ZipFile(archive) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == built
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert z.read("app.py") == (BUILD / FUNCTION / "app.py").read_bytes()


def test_zip_is_the_same_bytes_whatever_the_dates_permissions_and_bytecode(tmp_path: Path) -> None:
    source = ROOT / "handler" / "model_package_resource"
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(source, first, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(source, second, ignore=shutil.ignore_patterns("__pycache__"))
    for i, path in enumerate(sorted(p for p in second.rglob("*") if p.is_file())):
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
        path.chmod(0o755 if i % 2 else 0o600)
    (second / "__pycache__").mkdir()
    (second / "__pycache__" / "x.cpython-313.pyc").write_bytes(b"bytecode")
    assert deterministic_zip(first) == deterministic_zip(second)
