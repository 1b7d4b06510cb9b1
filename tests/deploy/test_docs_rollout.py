"""The documentation's pages "Central registry" and "Organization rollout", as a
reader gets them (their policies are files of examples/, pulled in as snippets):
the policies parse and grant what the text says, and the commands name the
template's real parameters and the flags StackSets need."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

from tests.deploy.pages import blocks, page
from tests.deploy.test_templates import template
from tools.stackset import CODE_PARAMETERS

ROOT = Path(__file__).resolve().parents[2]
TWO_ACTIONS = ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"]
CENTRAL, ROLLOUT = "central-registry.md", "organization-rollout.md"


def policies(name: str) -> list[dict[str, Any]]:
    return [json.loads(block) for block in blocks(page(name), "json")]


def test_central_registry_policies() -> None:
    group_policy, trust, permissions = policies(CENTRAL)
    [grant] = group_policy["Statement"]
    assert grant["Action"] == TWO_ACTIONS and grant["Effect"] == "Allow"
    assert re.fullmatch(r"arn:aws:sagemaker:[a-z0-9-]+:111122223333:model-package/[\w-]+/\*", grant["Resource"])
    assert re.fullmatch(r"arn:aws:iam::222233334444:(root|role/.+)", grant["Principal"]["AWS"])
    [trusted] = trust["Statement"]
    assert trusted["Action"] == "sts:AssumeRole" and trusted["Principal"]["AWS"].startswith(
        "arn:aws:iam::222233334444:role/")
    [allowed] = permissions["Statement"]
    assert allowed["Action"] == TWO_ACTIONS and allowed["Resource"].endswith(":model-package/fraud/*")


def test_central_registry_example_is_the_one_described() -> None:
    example, problems = decode(str(ROOT / "examples" / "central-registry.yaml"))
    assert not problems
    resources = example["Resources"].values()
    assert [r["Properties"].get("RoleArn") for r in resources] == [
        None, "arn:aws:iam::111122223333:role/model-registry-governor"]
    assert "examples/central-registry.yaml" in page(CENTRAL)


def test_rollout_bucket_policy_admits_the_organization_only() -> None:
    [bucket_policy] = policies(ROLLOUT)
    [statement] = bucket_policy["Statement"]
    assert statement["Action"] == "s3:GetObject" and statement["Resource"].endswith("/*")
    assert list(statement["Condition"]["StringEquals"]) == ["aws:PrincipalOrgID"]


def test_rollout_commands_use_service_managed_permissions_and_the_real_parameters() -> None:
    commands = " ".join(blocks(page(ROLLOUT), "sh")).replace("\\\n", " ")
    assert "make stackset" in commands
    create = commands.split("aws cloudformation create-stack-set", 1)[1].split("aws cloudformation", 1)[0]
    assert "--permission-model SERVICE_MANAGED" in create
    assert "--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false" in create
    assert "--template-body file://dist/stackset/template.json" in create
    assert "aws cloudformation create-stack-instances" in commands
    named = set(re.findall(r"ParameterKey=(\w+)", commands))
    assert named and named <= set(template()["Parameters"]) | set(CODE_PARAMETERS)
