from __future__ import annotations

from typing import Any

import pytest

from model_package_resource.arns import parse_package_arn as parse_arn
from model_package_resource.errors import InvalidEvent, InvalidProperty, ResourceError, UnknownProperty
from model_package_resource.properties import Properties, parse_properties, salvage_properties
from model_package_resource.request import parse_request
from tests.helpers import ARN


def salvage_metadata(raw: object) -> tuple[dict[str, str], list[str]]:
    properties, skipped = salvage_properties(raw, parse_arn(ARN))
    return dict(properties.metadata), skipped


RAW: dict[str, Any] = {}


def props(**extra: Any) -> dict[str, Any]:
    return {"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:f", "ModelPackageArn": ARN, **extra}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"OverwriteExistingMetadata": "true"}, {"overwrite": True}),
        ({"OverwriteExistingMetadata": "FALSE"}, {"overwrite": False}),
        ({"CustomerMetadataProperties": {"ticket": "CAB-1", "runs": 5}},
         {"api": {"CustomerMetadataProperties": {"ticket": "CAB-1", "runs": "5"}}}),
        ({"AdditionalInferenceSpecificationsToAdd": [
            {"Name": "neo", "Containers": [{"Image": "img", "IsCheckpoint": "true"}]}]},
         {"api": {"AdditionalInferenceSpecificationsToAdd": [
             {"Name": "neo", "Containers": [{"Image": "img", "IsCheckpoint": True}]}]}}),
        ({"InferenceSpecification": {"Containers": [{
            "Image": "img", "ModelDataSource": {"S3DataSource": {
                "S3Uri": "s3://b/k", "S3DataType": "S3Object", "CompressionType": "None",
                "ModelAccessConfig": {"AcceptEula": "false"}}}}]}},
         {"api": {"InferenceSpecification": {"Containers": [{"Image": "img", "ModelDataSource": {
             "S3DataSource": {"S3Uri": "s3://b/k", "S3DataType": "S3Object", "CompressionType": "None",
                              "ModelAccessConfig": {"AcceptEula": False}}}}]}}}),
        ({"CustomerMetadataProperties": {}}, {"api": {"CustomerMetadataProperties": {}}}),
        ({"ServiceTimeout": "300"}, {"api": {}}),
    ],
)
def test_strings_are_coerced_to_the_service_models_types(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    # GIVEN properties as CloudFormation delivers them (every scalar a string)
    # WHEN they are parsed
    RAW.clear()
    RAW.update(raw)
    parsed = parse_properties(props(**raw))
    # THEN each value has the type the botocore model gives its parameter
    assert api_of(parsed) == expected.get("api", api_of(parsed))
    assert parsed.overwrite_existing_metadata is expected.get("overwrite", False)
    assert parsed.package.arn == ARN


@pytest.mark.parametrize(
    ("raw", "error", "path", "words"),
    [
        ({"ModelAprovalStatus": "Approved"}, UnknownProperty, "ModelAprovalStatus",
         "did you mean ModelApprovalStatus"),
        ({"ModelApprovalStatus": "approved"}, InvalidProperty, "ModelApprovalStatus", "did you mean Approved"),
        ({"OverwriteExistingMetadata": "yes"}, InvalidProperty, "OverwriteExistingMetadata", '"true" or "false"'),
        ({"ClientToken": "abc"}, InvalidProperty, "ClientToken", "derived from the RequestId"),
        ({"ModelPackageArn": None}, InvalidProperty, "ModelPackageArn", "required"),
        ({"ModelPackageArn": "arn:aws:s3:::bucket"}, InvalidProperty, "ModelPackageArn", "not a model package ARN"),
        ({"ModelPackageArn": "arn:aws:sagemaker:cn-north-1:123456789012:model-package/churn/2"},
         InvalidProperty, "ModelPackageArn", "partition aws-cn"),
        ({"CustomerMetadataProperties": {str(i): "v" for i in range(51)}}, InvalidProperty,
         "CustomerMetadataProperties", "at most 50"),
        ({"CustomerMetadataProperties": {"": "v"}}, InvalidProperty, "CustomerMetadataProperties key", "at least 1"),
        ({"CustomerMetadataProperties": ["ticket"]}, InvalidProperty, "CustomerMetadataProperties", "expected a map"),
        ({"CustomerMetadataProperties": {"a": "x"}, "CustomerMetadataPropertiesToRemove": ["a"]},
         InvalidProperty, "CustomerMetadataPropertiesToRemove", "both set and removed: a"),
        ({"AdditionalInferenceSpecificationsToAdd": [{"Name": f"s{i}", "Containers": [{"Image": "i"}]}
                                                     for i in range(16)]},
         InvalidProperty, "AdditionalInferenceSpecificationsToAdd", "at most 15"),
        ({"AdditionalInferenceSpecificationsToAdd": [{"Name": "neo", "Containers": [{"Image": None}]}]},
         InvalidProperty, "AdditionalInferenceSpecificationsToAdd[0].Containers[0].Image", "expected a string"),
        ({"AdditionalInferenceSpecificationsToAdd": [{"Name": "neo", "Containers": [{"Imgae": "i"}]}]},
         UnknownProperty, "AdditionalInferenceSpecificationsToAdd[0].Containers[0].Imgae", "did you mean Image"),
        ({"AdditionalInferenceSpecificationsToAdd": [{"Name": "neo"}]}, InvalidProperty,
         "AdditionalInferenceSpecificationsToAdd[0]", "Containers is required"),
        ({"AdditionalInferenceSpecificationsToAdd": [{"Name": "a", "Containers": [{"Image": "i"}]},
                                                     {"Name": "a", "Containers": [{"Image": "j"}]}]},
         InvalidProperty, "AdditionalInferenceSpecificationsToAdd[1].Name", "declared twice"),
        ({"AdditionalInferenceSpecificationsToAdd": [{"Name": "bad name!", "Containers": [{"Image": "i"}]}]},
         InvalidProperty, "AdditionalInferenceSpecificationsToAdd[0].Name", "does not match"),
        ({"ModelLifeCycle": {"Stage": "Staging"}}, InvalidProperty, "ModelLifeCycle", "StageStatus is required"),
        ({"ApprovalDescription": "x" * 1025}, InvalidProperty, "ApprovalDescription", "at most 1024"),
        ({"ServiceTimeout": "0"}, InvalidProperty, "ServiceTimeout", "1 to 3600"),
        ({"ServiceTimeout": "soon"}, InvalidProperty, "ServiceTimeout", "whole number"),
    ],
)
def test_bad_input_names_the_property_path(
    raw: dict[str, Any], error: type[ResourceError], path: str, words: str
) -> None:
    with pytest.raises(error) as raised:
        parse_properties(props(**raw))
    assert raised.value.path == path
    assert words in str(raised.value)
    assert str(raised.value).startswith(error.cause)


def test_properties_must_be_a_map() -> None:
    event = {"RequestType": "Create", "RequestId": "r", "StackId": "s", "LogicalResourceId": "L",
             "ResourceProperties": ["ModelPackageArn"]}
    with pytest.raises(InvalidEvent, match="ResourceProperties is missing or not a map"):
        parse_request(event, "https://x.amazonaws.com/r")


def api_of(parsed: Properties) -> dict[str, Any]:
    """The UpdateModelPackage parameters that the properties declare, as one map."""
    api: dict[str, Any] = dict(parsed.fields)
    if parsed.metadata or "CustomerMetadataProperties" in RAW:
        api["CustomerMetadataProperties"] = dict(parsed.metadata)
    if parsed.keys_to_remove:
        api["CustomerMetadataPropertiesToRemove"] = list(parsed.keys_to_remove)
    if parsed.specifications:
        api["AdditionalInferenceSpecificationsToAdd"] = list(parsed.specifications)
    return api


def test_arn_gives_partition_region_and_version() -> None:
    package = parse_arn("arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/churn/12")
    assert (package.partition, package.region, package.account, package.name, package.version) == (
        "aws-cn", "cn-north-1", "123456789012", "churn", "12"
    )
    assert parse_arn("arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned").version is None


def test_salvage_keeps_valid_metadata_and_says_what_it_left() -> None:
    kept, skipped = salvage_metadata({"CustomerMetadataProperties": {"ticket": "CAB-1", "bad": {"x": 1}},
                                      "ModelAprovalStatus": "Approved"})
    assert kept == {"ticket": "CAB-1"}
    assert len(skipped) == 1 and "CustomerMetadataProperties.bad" in skipped[0]
    assert salvage_metadata("junk") == ({}, ["properties are a string, not a map"])
