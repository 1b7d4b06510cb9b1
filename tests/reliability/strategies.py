"""Hypothesis strategies for whole CloudFormation custom resource events: missing and
extra fields, wrong types at any depth, huge and unicode strings, malformed ARNs,
unknown RequestTypes, and properties that are valid."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/2"
PROPERTY_NAMES = [
    "ModelPackageArn", "ModelApprovalStatus", "ApprovalDescription", "CustomerMetadataProperties",
    "CustomerMetadataPropertiesToRemove", "AdditionalInferenceSpecificationsToAdd", "InferenceSpecification",
    "SourceUri", "ModelCard", "ModelLifeCycle", "ModelPackageRegistrationType", "OverwriteExistingMetadata",
    "ServiceToken", "ServiceTimeout", "ClientToken", "ModelAprovalStatus", "customermetadataproperties", "RoleArn",
]
ROLES = st.one_of(st.sampled_from([
    "arn:aws:iam::111122223333:role/model-registry-governor",
    "arn:aws:iam::111122223333:role/path/to/governor",
    "arn:aws-cn:iam::111122223333:role/governor",  # another partition than the package
    "arn:aws:iam::111122223333:user/governor", "arn:aws:iam::1111:role/r", "arn:aws:iam::111122223333:role/" + "r" * 65,
]), st.text(max_size=80))
ABSENT = object()

texts = st.one_of(st.text(max_size=40), st.text(min_size=300, max_size=5000), st.sampled_from(
    ["", "true", "false", "yes", "5", "-1", "Approved", "approved", "\u0000", "é" * 300, "💥" * 100]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=12,
)
arns = st.one_of(
    st.just(ARN),
    st.just("arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/9"),  # a package that does not exist
    st.sampled_from([
        "arn:aws:sagemaker:cn-north-1:123456789012:model-package/churn/2",
        "arn:aws:s3:::bucket/key", "arn:aws:sagemaker:eu-west-1:123:model-package/churn/2",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/" + "x" * 200, "failed-create/abc", "",
    ]),
    texts,
)
metadata = st.dictionaries(st.text(max_size=130), st.one_of(texts, json_values), max_size=55)
spec = st.fixed_dictionaries(
    {"Name": st.one_of(st.sampled_from(["neo", "gpu", "bad name"]), texts)},
    optional={"Containers": st.one_of(st.lists(st.fixed_dictionaries(
        {"Image": st.one_of(st.just("img"), json_values)}, optional={"IsCheckpoint": st.one_of(texts, json_values)}),
        max_size=3), json_values), "Description": texts},
)
property_values: dict[str, st.SearchStrategy[Any]] = {
    "ModelPackageArn": arns,
    "ModelApprovalStatus": st.one_of(st.sampled_from(["Approved", "Rejected", "PendingManualApproval"]), texts),
    "CustomerMetadataProperties": st.one_of(metadata, json_values),
    "CustomerMetadataPropertiesToRemove": st.one_of(st.lists(st.text(max_size=20), max_size=5), json_values),
    "AdditionalInferenceSpecificationsToAdd": st.one_of(st.lists(spec, max_size=17), json_values),
    "OverwriteExistingMetadata": st.one_of(st.sampled_from(["true", "false", "TRUE"]), json_values),
    "ModelCard": st.one_of(st.fixed_dictionaries({}, optional={
        "ModelCardContent": texts, "ModelCardStatus": st.sampled_from(["Draft", "Approved", "Final"])}), json_values),
    "ModelLifeCycle": st.one_of(st.fixed_dictionaries({"Stage": texts}, optional={"StageStatus": texts}),
                                json_values),
    "RoleArn": st.one_of(ROLES, json_values),
}
properties = st.one_of(
    st.fixed_dictionaries(
        {"ServiceToken": st.just("arn:aws:lambda:eu-west-1:123456789012:function:f"), "ModelPackageArn": arns},
        optional={name: property_values.get(name, json_values) for name in PROPERTY_NAMES
                  if name not in ("ServiceToken", "ModelPackageArn")},
    ),
    json_values,
)


@st.composite
def events(draw: st.DrawFn, response_url: str) -> dict[str, Any]:
    """An event as CloudFormation might send it, or mangled. The ResponseURL is the
    receiver's most of the time; otherwise off AWS or missing."""
    fields: dict[str, st.SearchStrategy[Any]] = {
        "RequestType": st.one_of(st.sampled_from(["Create", "Update", "Delete"]), texts, json_values),
        "ResponseURL": st.one_of(st.just(response_url), st.just(response_url),
                                 st.just(response_url), st.sampled_from([
                                     "https://attacker.example.com/x?X-Amz-Signature=leak", "http://s3.amazonaws.com/x",
                                     "not a url"]), json_values),
        "StackId": st.one_of(st.just("arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1"), texts, json_values),
        "RequestId": st.one_of(st.uuids().map(str), texts, json_values),
        "LogicalResourceId": st.one_of(st.just("ApproveModel"), texts),
        "ResourceProperties": properties,
        "OldResourceProperties": properties,
        "PhysicalResourceId": st.one_of(arns, json_values),
        "ResourceType": st.just("Custom::ModelPackage"),
    }
    event: dict[str, Any] = {}
    for name, strategy in fields.items():
        if draw(st.integers(0, 9)) > 0:  # each field is missing one time in ten
            event[name] = draw(strategy)
    for _ in range(draw(st.integers(0, 2))):
        event[draw(st.text(min_size=1, max_size=20))] = draw(json_values)
    return event


valid_properties = st.fixed_dictionaries(
    {"ServiceToken": st.just("arn:aws:lambda:eu-west-1:123456789012:function:f"), "ModelPackageArn": st.just(ARN)},
    optional={
        "ServiceTimeout": st.sampled_from(["60", "300", "3600"]),
        "ModelApprovalStatus": st.sampled_from(["Approved", "Rejected", "PendingManualApproval"]),
        "ApprovalDescription": st.text(max_size=100),
        "CustomerMetadataProperties": st.dictionaries(st.sampled_from(["ticket", "owner", "run", "é-key"]),
                                                      st.sampled_from(["a", "b", "ds", "exec-2"]), max_size=4),
        "CustomerMetadataPropertiesToRemove": st.lists(st.sampled_from(["stale", "old"]), max_size=2, unique=True),
        "OverwriteExistingMetadata": st.sampled_from(["true", "false"]),
        "AdditionalInferenceSpecificationsToAdd": st.lists(st.builds(
            lambda name, image: {"Name": name, "Containers": [{"Image": image}]},
            st.sampled_from(["neo", "gpu", "cpu"]), st.sampled_from(["img:1", "img:2"])),
            max_size=3, unique_by=lambda spec: spec["Name"]),
        "ModelLifeCycle": st.fixed_dictionaries({"Stage": st.sampled_from(["Staging", "Production"]),
                                                 "StageStatus": st.sampled_from(["Approved", "Pending"])}),
        "RoleArn": st.sampled_from(["arn:aws:iam::111122223333:role/model-registry-governor",
                                    "arn:aws:iam::123456789012:role/own-account-governor"]),
    },
)


@st.composite
def valid_events(draw: st.DrawFn, response_url: str) -> dict[str, Any]:
    """Well-formed events with valid properties: Create, Update (same package, or a
    replacement's new one) and Delete."""
    request_type = draw(st.sampled_from(["Create", "Update", "Delete"]))
    event: dict[str, Any] = {
        "RequestType": request_type, "ResponseURL": response_url, "RequestId": str(draw(st.uuids())),
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1", "LogicalResourceId": "ApproveModel",
        "ResourceType": "Custom::ModelPackage", "ResourceProperties": draw(valid_properties),
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = draw(st.sampled_from([ARN, "failed-create/abc"]))
    if request_type == "Update":
        event["OldResourceProperties"] = draw(valid_properties)
    return event
