"""Each rule on its own, loaded from the rules directory as cfn-lint loads it:
the default resource type, a configured list of types, and what each reports."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint

RULES = Path(__file__).resolve().parents[2] / "lint" / "rules"
ARN = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn/7"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"rule_{name}", RULES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def findings(rule: str, resources: dict[str, Any], types: list[str] | None = None) -> list[tuple[str, str]]:
    config = ManualArgs(append_rules=[str(RULES)], regions=["eu-west-1"],
                        configure_rules={rule: {"resource_types": types}} if types else {})
    template = yaml.safe_dump({"Resources": resources})
    return [(m.path[1], m.message) for m in lint(template, config=config) if m.rule.id == rule]


def resource(kind: str = "Custom::ModelPackage", **properties: Any) -> dict[str, Any]:
    return {"Type": kind, "Properties": {"ServiceToken": "arn:aws:lambda:eu-west-1:111122223333:function:f",
                                         "ModelPackageArn": ARN, **properties}}


@pytest.mark.parametrize("name", ["ModelPackageProperties", "ServiceTimeoutMissing", "PendingApprovalDeclared"])
def test_rule_defaults_to_custom_model_package_and_takes_a_list_of_types(name: str) -> None:
    [rule_class] = [c for c in vars(load(name)).values() if isinstance(c, type) and c.__name__ == name]
    rule = rule_class()
    assert rule.config == {"resource_types": ["Custom::ModelPackage"]}
    rule.configure({"resource_types": ["Custom::ApproveModel", "Custom::Stage"]})
    assert rule.config == {"resource_types": ["Custom::ApproveModel", "Custom::Stage"]}
    rule.configure(None)
    assert rule.config == {"resource_types": ["Custom::ModelPackage"]}


# E9000: ModelPackageProperties


def test_e9000_reports_invalid_properties_of_the_default_type_only() -> None:
    resources = {"A": resource(ServiceTimeout=300, ModelApprovalStatus="approved"),
                 "B": resource("Custom::ApproveModel", ServiceTimeout=300, ModelApprovalStatus="approved")}
    [(where, message)] = findings("E9000", resources)
    assert where == "A" and "'approved' is not one of" in message


def test_e9000_reports_a_role_in_another_partition_than_the_package() -> None:
    resources = {"A": resource(ServiceTimeout=300, RoleArn="arn:aws-cn:iam::111122223333:role/governor"),
                 "B": resource(ServiceTimeout=300, RoleArn="arn:aws:iam::111122223333:role/governor"),
                 "C": resource(ServiceTimeout=300, RoleArn="arn:aws:iam::111122223333:user/governor")}
    found = findings("E9000", resources)
    assert [where for where, _ in found] == ["A", "C"]
    assert "RoleArn is in partition aws-cn, the package in aws" in found[0][1]
    assert "does not match" in found[1][1]


def test_e9000_checks_the_configured_types_instead() -> None:
    resources = {"A": resource(ServiceTimeout=300, Unknown="x"),
                 "B": resource("Custom::ApproveModel", ServiceTimeout=300, Unknown="x"),
                 "C": resource("Custom::Stage", ServiceTimeout=300, ModelApprovalStatus="Approved")}
    found = findings("E9000", resources, ["Custom::ApproveModel", "Custom::Stage"])
    assert [where for where, _ in found] == ["B"]
    assert "Unknown" in found[0][1]


# W9001: ServiceTimeoutMissing


def test_w9001_warns_when_service_timeout_is_missing() -> None:
    resources = {"A": resource(), "B": resource(ServiceTimeout=300), "C": resource("Custom::ApproveModel"),
                 "D": resource("AWS::SNS::Topic")}
    assert findings("W9001", resources) == [("A", "A: " + load("ServiceTimeoutMissing").ServiceTimeoutMissing.description)]


def test_w9001_checks_the_configured_types_instead() -> None:
    resources = {"A": resource(), "B": resource("Custom::ApproveModel"), "C": resource("Custom::ApproveModel",
                                                                                        ServiceTimeout=60)}
    assert [where for where, _ in findings("W9001", resources, ["Custom::ApproveModel"])] == ["B"]


# W9002: PendingApprovalDeclared


def test_w9002_warns_where_pending_manual_approval_is_declared() -> None:
    resources = {"A": resource(ServiceTimeout=300, ModelApprovalStatus="PendingManualApproval"),
                 "B": resource(ServiceTimeout=300, ModelApprovalStatus="Approved"),
                 "C": resource(ServiceTimeout=300),
                 "D": resource("Custom::ApproveModel", ServiceTimeout=300, ModelApprovalStatus="PendingManualApproval")}
    description = load("PendingApprovalDeclared").PendingApprovalDeclared.description
    assert findings("W9002", resources) == [("A", "A: " + description)]
    assert [where for where, _ in findings("W9002", resources, ["Custom::ApproveModel"])] == ["D"]

