"""moto's raw UpdateModelPackage and group policies (canaries: they fail when a moto upgrade
changes them, so that devkit/sagemaker_fidelity.py can be revisited) and the corrected
registry's SageMaker semantics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from devkit import sagemaker_fidelity
from devkit.registry import LocalRegistry
from devkit.sagemaker_fidelity import apply_update
from model_package_resource.rules import Refusal

INFERENCE = {"Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/m:1"}],
             "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}
SPEC = {"Name": "neo", "Containers": [{"Image": "img"}]}


@pytest.fixture
def raw_moto() -> Iterator[Any]:
    """moto as released, in-process, without the corrections."""
    import boto3

    sagemaker_fidelity.uninstall()
    try:
        with mock_aws():
            client = boto3.client("sagemaker", region_name="eu-west-1")
            client.create_model_package_group(ModelPackageGroupName="g")
            yield client
    finally:
        sagemaker_fidelity.install()


def new_package(client: Any) -> str:
    return str(client.create_model_package(
        ModelPackageGroupName="g", InferenceSpecification=INFERENCE, ModelApprovalStatus="Approved",
        CustomerMetadataProperties={"pipeline": "p"})["ModelPackageArn"])


def test_canary_raw_moto_replaces_the_metadata_map(raw_moto: Any) -> None:
    arn = new_package(raw_moto)
    raw_moto.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"ticket": "t"})
    assert raw_moto.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {"ticket": "t"}


def test_canary_raw_moto_erases_omitted_fields(raw_moto: Any) -> None:
    arn = new_package(raw_moto)
    raw_moto.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[SPEC])
    raw_moto.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"a": "b"})
    live = raw_moto.describe_model_package(ModelPackageName=arn)
    assert "ModelApprovalStatus" not in live and "AdditionalInferenceSpecifications" not in live


def test_canary_raw_moto_ignores_newer_parameters(raw_moto: Any) -> None:
    arn = new_package(raw_moto)
    raw_moto.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", SourceUri="s3://src",
                                  ModelLifeCycle={"Stage": "Staging", "StageStatus": "Approved"},
                                  ModelCard={"ModelCardStatus": "Draft"}, ModelPackageRegistrationType="Registered")
    live = raw_moto.describe_model_package(ModelPackageName=arn)
    assert not {"SourceUri", "ModelLifeCycle", "ModelCard", "ModelPackageRegistrationType"} & set(live)


def test_canary_raw_moto_crashes_on_a_remove_only_call(raw_moto: Any) -> None:
    arn = new_package(raw_moto)
    with pytest.raises(Exception):  # noqa: B017 - the crash itself is what this watches for
        raw_moto.update_model_package(ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=["pipeline"])


def test_canary_raw_moto_has_no_group_resource_policies(raw_moto: Any) -> None:
    # The fidelity layer keeps them (and the registry evaluates them): revisit when moto does.
    with pytest.raises(NotImplementedError):
        raw_moto.put_model_package_group_policy(ModelPackageGroupName="g", ResourcePolicy="{}")


# --- the corrected registry ------------------------------------------------------------

@pytest.fixture
def package(registry: LocalRegistry) -> tuple[Any, str]:
    client = registry.client()
    client.create_model_package_group(ModelPackageGroupName="g")
    return client, new_package(client)


def test_registry_merges_metadata_and_keeps_omitted_fields(package: tuple[Any, str]) -> None:
    client, arn = package
    client.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[SPEC])
    client.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"ticket": "t"})
    client.update_model_package(ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=["pipeline"])
    live = client.describe_model_package(ModelPackageName=arn)
    assert live["CustomerMetadataProperties"] == {"ticket": "t"}
    assert live["ModelApprovalStatus"] == "Approved"
    assert [s["Name"] for s in live["AdditionalInferenceSpecifications"]] == ["neo"]


def test_registry_honours_every_update_parameter(package: tuple[Any, str]) -> None:
    client, arn = package
    client.update_model_package(ModelPackageArn=arn, ModelLifeCycle={"Stage": "Prod", "StageStatus": "Approved"},
                                ModelPackageRegistrationType="Registered", ModelCard={"ModelCardContent": "{}"})
    client.update_model_package(ModelPackageArn=arn, SourceUri="s3://src", ModelCard={"ModelCardStatus": "Approved"})
    live = client.describe_model_package(ModelPackageName=arn)
    assert live["ModelLifeCycle"] == {"Stage": "Prod", "StageStatus": "Approved"}
    assert live["ModelCard"] == {"ModelCardContent": "{}", "ModelCardStatus": "Approved"}
    assert (live["SourceUri"], live["ModelPackageRegistrationType"]) == ("s3://src", "Registered")


def test_registry_refuses_what_sagemaker_refuses(package: tuple[Any, str]) -> None:
    client, arn = package
    for request in ({"SourceUri": "s3://x", "InferenceSpecification": INFERENCE},
                    {"ModelCard": {"ModelCardContent": "{}", "ModelCardStatus": "Draft"}}):
        with pytest.raises(client.exceptions.ClientError, match="ValidationException"):
            client.update_model_package(ModelPackageArn=arn, **request)


def test_registry_replays_a_client_token_idempotently(package: tuple[Any, str]) -> None:
    client, arn = package
    client.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[SPEC], ClientToken="t1")
    client.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[SPEC], ClientToken="t1")
    assert len(client.describe_model_package(ModelPackageName=arn)["AdditionalInferenceSpecifications"]) == 1


@pytest.mark.parametrize(
    ("live", "request_", "message"),
    [
        ({}, {"CustomerMetadataProperties": {"a": "1"}, "CustomerMetadataPropertiesToRemove": ["a"]}, "both"),
        ({"AdditionalInferenceSpecifications": [SPEC]}, {"AdditionalInferenceSpecificationsToAdd": [SPEC]},
         "exists"),
        ({"ModelCard": {"ModelCardStatus": "Archived"}}, {"ModelCard": {"ModelCardContent": "{}"}}, "Archived"),
        ({"CustomerMetadataProperties": {str(i): "v" for i in range(50)}},
         {"CustomerMetadataProperties": {"one-more": "v"}}, "at most 50"),
    ],
)
def test_apply_update_refusals(live: dict[str, Any], request_: dict[str, Any], message: str) -> None:
    with pytest.raises(Refusal, match=message):
        apply_update(live, request_)
