"""template.yaml and examples/: cfn-lint finds nothing, the IAM policy is least
privilege, and the package that `sam build` made imports on python3.13 with the
pinned dependencies."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [ROOT / "template.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]
BUILD = ROOT / ".aws-sam" / "build" / "ModelPackageResourceFunction"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_finds_no_error_and_no_warning(path: Path) -> None:
    findings = lint_file(path)
    assert [str(f) for f in findings] == []


def template() -> dict[str, Any]:
    decoded, problems = decode(str(ROOT / "template.yaml"))
    assert not problems
    return dict(decoded)


def evaluate(node: Any, parameters: dict[str, Any]) -> Any:
    """Just enough of CloudFormation's intrinsics to resolve the policy's Resource."""
    pseudo = {"AWS::Partition": "aws", "AWS::AccountId": "111122223333", "AWS::Region": "eu-west-1"}
    if isinstance(node, dict) and len(node) == 1:
        (name, value), = node.items()
        if name == "Ref":
            return parameters.get(value, pseudo.get(value))
        if name == "Fn::Join":
            return value[0].join(evaluate(value[1], parameters))
        if name == "Fn::Split":
            return evaluate(value[1], parameters).split(value[0])
        if name == "Fn::Sub":
            text, variables = value if isinstance(value, list) else (value, {})
            values = {**pseudo, **{k: evaluate(v, parameters) for k, v in variables.items()}}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(values[m.group(1)]), text)
    return node


def policy_statements() -> list[dict[str, Any]]:
    function = template()["Resources"]["ModelPackageResourceFunction"]["Properties"]
    return [s for policy in function["Policies"] for s in policy["Statement"]]


def test_policy_grants_only_describe_and_update_never_on_star() -> None:
    statements = policy_statements()
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {"sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"}
    for groups in (["*"], ["churn", "fraud"]):
        resources = [evaluate(s["Resource"], {"AllowedModelPackageGroups": groups}) for s in statements]
        for resource in [r for rs in resources for r in rs]:
            assert resource != "*" and ":model-package/" in resource
        assert all(s["Condition"] == {"StringEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}}
                   for s in statements)


def test_policy_is_narrowed_to_the_listed_groups() -> None:
    [statement] = policy_statements()
    assert evaluate(statement["Resource"], {"AllowedModelPackageGroups": ["churn", "fraud"]}) == [
        "arn:aws:sagemaker:*:111122223333:model-package/churn/*",
        "arn:*:sagemaker:*:*:model-package/fraud/*",
    ]
    assert evaluate(statement["Resource"], {"AllowedModelPackageGroups": ["*"]}) == [
        "arn:aws:sagemaker:*:111122223333:model-package/*/*"]


def test_function_is_what_the_contract_names() -> None:
    function = template()["Resources"]["ModelPackageResourceFunction"]["Properties"]
    assert (function["CodeUri"], function["Handler"], function["Runtime"], function["Architectures"]) == (
        "handler/", "app.lambda_handler", "python3.13", ["arm64"])
    outputs = template()["Outputs"]["ServiceToken"]
    assert outputs["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-ServiceToken"}


def test_consumer_example_uses_every_kind_of_property() -> None:
    decoded, _ = decode(str(ROOT / "examples" / "consumer.yaml"))
    properties: dict[str, Any] = {}
    for resource in decoded["Resources"].values():
        assert resource["Type"] == "Custom::ModelPackage"
        assert resource["Properties"]["ServiceTimeout"] == 300
        properties.update(resource["Properties"])
    assert {"ModelApprovalStatus", "CustomerMetadataProperties", "AdditionalInferenceSpecificationsToAdd",
            "ModelCard", "ModelLifeCycle"} <= set(properties)


def python313() -> str | None:
    found = subprocess.run(["pyenv", "which", "python3.13"], capture_output=True, text=True, check=False,
                           env={**os.environ, "PYENV_VERSION": "3.13.0"}) if shutil.which("pyenv") else None
    if found is not None and found.returncode == 0:
        return found.stdout.strip()
    return shutil.which("python3.13")


def test_built_package_imports_on_python313_with_the_pinned_dependencies() -> None:
    # `make test` runs `make build` (sam build) first; the build folder must be there.
    assert BUILD.is_dir(), "run `make build` (sam build) first"
    interpreter = python313()
    assert interpreter, "python3.13 is needed (pyenv install 3.13.0)"
    pins = dict(line.split("==") for line in (ROOT / "handler" / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    script = (
        "import json, sys, importlib.metadata as md\n"
        f"sys.path.insert(0, {str(BUILD)!r})\n"
        "import app, botocore, botocore.session\n"
        "assert app.lambda_handler and botocore.__file__.startswith(sys.path[0]), botocore.__file__\n"
        "session = botocore.session.get_session()\n"
        f"session.set_config_variable('data_path', {str(BUILD / 'model_package_resource' / 'botocore_data')!r})\n"
        "for region in ('eu-west-1', 'cn-north-1', 'us-gov-west-1'):\n"
        "    client = session.create_client('sagemaker', region_name=region)\n"
        "    shape = client.meta.service_model.operation_model('UpdateModelPackage').input_shape\n"
        "    assert 'ModelLifeCycle' in shape.members, region\n"
        "dists = {d.metadata['Name'].lower().replace('_', '-'): d.version\n"
        f"         for d in md.distributions(path=[{str(BUILD)!r}])}}\n"
        "print(json.dumps({'python': sys.version.split()[0], 'dists': dists}))\n"
    )
    completed = subprocess.run([interpreter, "-I", "-B", "-c", script], capture_output=True, text=True, check=False,
                               env={"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "eu-west-1",
                                    "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["python"].startswith("3.13")
    for name, version in pins.items():
        assert result["dists"].get(name.lower().replace("_", "-")) == version, name


def test_built_package_carries_botocore_data_for_its_three_services_only() -> None:
    assert BUILD.is_dir(), "run `make build` (sam build) first"
    services = sorted(p.name for p in (BUILD / "botocore" / "data").iterdir() if p.is_dir())
    assert services == ["dynamodb", "sagemaker", "sts"]
    assert (BUILD / "model_package_resource" / "botocore_data" / "sagemaker").is_dir()
    assert not (BUILD / "Makefile").exists()
