"""SageMaker's rules (model_package_resource/rules.py), one test per rule, each played
against the local registry over HTTP: the registry enforces every rule the product
relies on, at its strictest where SageMaker's answer is unknown. A rule without a
case here fails the suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devkit.registry import LocalRegistry
from model_package_resource import rules

INFERENCE = {"Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/m:1"}]}
SPEC = {"Name": "neo", "Containers": [{"Image": "img"}]}
PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"


class Package:
    """A fresh package version in the local registry, and SageMaker's client for it."""

    def __init__(self, registry: LocalRegistry, approval: str = PENDING) -> None:
        self.client = registry.client()
        self.client.create_model_package_group(ModelPackageGroupName="rules")
        self.arn = str(self.client.create_model_package(
            ModelPackageGroupName="rules", InferenceSpecification=INFERENCE, ModelApprovalStatus=approval,
            CustomerMetadataProperties={"pipeline": "p"})["ModelPackageArn"])

    def update(self, **request: Any) -> None:
        self.client.update_model_package(ModelPackageArn=self.arn, **request)

    def refused(self, match: str = "ValidationException", **request: Any) -> None:
        with pytest.raises(self.client.exceptions.ClientError, match=match):
            self.update(**request)

    def live(self) -> dict[str, Any]:
        return dict(self.client.describe_model_package(ModelPackageName=self.arn))


def approval_transitions(registry: LocalRegistry) -> None:
    for before in (PENDING, APPROVED, REJECTED):
        for after in (PENDING, APPROVED, REJECTED):
            package = Package(registry)
            if before != PENDING:
                package.update(ModelApprovalStatus=before)
            allowed = before == after or (before, after) in {
                (PENDING, APPROVED), (PENDING, REJECTED), (REJECTED, APPROVED), (APPROVED, REJECTED)}
            assert rules.approval_allowed(before, after) is allowed
            if allowed:
                package.update(ModelApprovalStatus=after)
                assert package.live()["ModelApprovalStatus"] == after
            else:
                package.refused(f"cannot be changed from {before} to {after}", ModelApprovalStatus=after)
                assert package.live()["ModelApprovalStatus"] == before


def approval_same_value(registry: LocalRegistry) -> None:
    package = Package(registry)
    package.update(ModelApprovalStatus=APPROVED)
    package.update(ModelApprovalStatus=APPROVED)  # no transition: accepted
    assert package.live()["ModelApprovalStatus"] == APPROVED


def source_uri_alone(registry: LocalRegistry) -> None:
    Package(registry).refused("SourceUri cannot be updated with InferenceSpecification",
                              SourceUri="s3://x", InferenceSpecification=INFERENCE)


def card_status_alone(registry: LocalRegistry) -> None:
    Package(registry).refused("ModelCardStatus cannot be updated with ModelCardContent",
                              ModelCard={"ModelCardContent": "{}", "ModelCardStatus": "Draft"})


def archived_card(registry: LocalRegistry) -> None:
    package = Package(registry)
    package.update(ModelCard={"ModelCardStatus": "Archived"})
    package.refused("Archived", ModelCard={"ModelCardContent": "{}"})


def card_status_keeps_content(registry: LocalRegistry) -> None:
    package = Package(registry)
    content = '{\n  "model_overview": {"model_creator": "ml-platform"}\n}'  # a YAML | block: multi-line
    package.update(ModelCard={"ModelCardContent": content})
    package.update(ModelCard={"ModelCardStatus": "Approved"})
    assert package.live()["ModelCard"] == {"ModelCardContent": content, "ModelCardStatus": "Approved"}


def metadata_not_empty(registry: LocalRegistry) -> None:
    from model_package_resource.plan import merged  # the planner never sends one: a request of no keys

    assert "CustomerMetadataProperties" not in merged("arn", [])
    with pytest.raises(rules.Refusal, match="at least 1 entry"):
        rules.apply({}, {"CustomerMetadataProperties": {}}, strict=True)


def metadata_set_and_removed(registry: LocalRegistry) -> None:
    Package(registry).refused("both added and removed", CustomerMetadataProperties={"a": "1"},
                              CustomerMetadataPropertiesToRemove=["a"])


def metadata_limit(registry: LocalRegistry) -> None:
    package = Package(registry)
    package.update(CustomerMetadataProperties={str(i): "v" for i in range(49)})  # with "pipeline": 50
    package.refused("at most 50", CustomerMetadataProperties={"one-more": "v"})


def specifications_append_only(registry: LocalRegistry) -> None:
    package = Package(registry)
    package.update(AdditionalInferenceSpecificationsToAdd=[SPEC])
    package.refused("exists", AdditionalInferenceSpecificationsToAdd=[SPEC])


def specifications_limit(registry: LocalRegistry) -> None:
    package = Package(registry)
    package.update(AdditionalInferenceSpecificationsToAdd=[{**SPEC, "Name": f"s{i}"} for i in range(15)])
    package.refused("at most 15", AdditionalInferenceSpecificationsToAdd=[{**SPEC, "Name": "s15"}])


def cannot_unset(registry: LocalRegistry) -> None:
    package = Package(registry)
    stage = {"Stage": "Staging", "StageStatus": "Approved"}
    package.update(ModelLifeCycle=stage)
    package.update(CustomerMetadataProperties={"a": "1"})  # a request that omits it leaves it
    assert package.live()["ModelLifeCycle"] == stage
    with pytest.raises(Exception, match="ModelLifeCycle"):  # botocore: no value unsets it
        package.update(ModelLifeCycle=None)


def source_uri_blank(registry: LocalRegistry) -> None:
    package = Package(registry)
    package.update(SourceUri="s3://models/m.tar.gz")
    package.refused("SourceUri cannot be updated to an empty value", SourceUri="")


def registration_not_back_to_logged(registry: LocalRegistry) -> None:
    package = Package(registry)
    package.update(ModelPackageRegistrationType="Registered")
    package.refused("cannot be changed to Logged", ModelPackageRegistrationType="Logged")


def client_token_reuse(registry: LocalRegistry) -> None:
    package = Package(registry)
    package.update(AdditionalInferenceSpecificationsToAdd=[SPEC], ClientToken="t-1")
    package.update(AdditionalInferenceSpecificationsToAdd=[SPEC], ClientToken="t-1")  # a replay
    assert len(package.live()["AdditionalInferenceSpecifications"]) == 1
    package.refused("already used with different parameters", CustomerMetadataProperties={"a": "1"},
                    ClientToken="t-1")


def package_missing(registry: LocalRegistry) -> None:
    package = Package(registry)
    missing = package.arn.rsplit("/", 1)[0] + "/99"
    with pytest.raises(package.client.exceptions.ClientError, match="not found"):
        package.client.describe_model_package(ModelPackageName=missing)


def text_is_text(registry: LocalRegistry) -> None:
    package = Package(registry)
    description = "CAB-1234 approved by ml-platform\nafter the drift review"
    package.update(ApprovalDescription=description)  # SageMaker decides; the registry takes it
    assert package.live()["ApprovalDescription"] == description


CASES: dict[str, Callable[[LocalRegistry], None]] = {
    "approval-transitions": approval_transitions,
    "approval-same-value": approval_same_value,
    "source-uri-alone": source_uri_alone,
    "card-status-alone": card_status_alone,
    "archived-card": archived_card,
    "card-status-keeps-content": card_status_keeps_content,
    "metadata-not-empty": metadata_not_empty,
    "metadata-set-and-removed": metadata_set_and_removed,
    "metadata-limit": metadata_limit,
    "specifications-append-only": specifications_append_only,
    "specifications-limit": specifications_limit,
    "cannot-unset": cannot_unset,
    "source-uri-blank": source_uri_blank,
    "registration-not-back-to-logged": registration_not_back_to_logged,
    "client-token-reuse": client_token_reuse,
    "package-missing": package_missing,
    "text-is-text": text_is_text,
}


def test_every_rule_has_its_case() -> None:
    assert sorted(CASES) == sorted(rule.name for rule in rules.RULES)


@pytest.mark.parametrize("rule", rules.RULES, ids=lambda rule: rule.name)
def test_the_local_registry_enforces_the_rule(rule: rules.Rule, registry: LocalRegistry) -> None:
    CASES[rule.name](registry)
