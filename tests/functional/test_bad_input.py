"""lambda_handler end to end. Bad input: refused properties and malformed events, one FAILED response and no call.
SageMaker stubbed with the exact requests, a real HTTPS receiver for the response."""


from __future__ import annotations

from typing import Any

import pytest

from app import lambda_handler
from devkit.receiver import ResponseReceiver
from tests.functional.conftest import SageMakerStub
from tests.functional.invoke import invoke
from tests.helpers import Context, load_event


@pytest.mark.parametrize(
    ("change", "reason_start"),
    [
        ({"ModelAprovalStatus": "Approved"}, "Unknown property at ModelAprovalStatus"),
        ({"OverwriteExistingMetadata": "yes"}, "Invalid property at OverwriteExistingMetadata"),
        ({"ModelPackageArn": None}, "Invalid property at ModelPackageArn"),
        ({"ModelPackageArn": "arn:aws:sagemaker:eu-west-1:123456789012:model/churn"},
         "Invalid property at ModelPackageArn"),
        ({"CustomerMetadataProperties": {f"k{i}": "v" for i in range(51)}},
         "Invalid property at CustomerMetadataProperties"),
        ({"CustomerMetadataProperties": {"": "v"}}, "Invalid property at CustomerMetadataProperties key"),
        ({"AdditionalInferenceSpecificationsToAdd": [{"Name": f"s{i}", "Containers": [{"Image": "i"}]}
                                                     for i in range(16)]},
         "Invalid property at AdditionalInferenceSpecificationsToAdd"),
        ({"AdditionalInferenceSpecificationsToAdd": [{"Name": "n", "Containers": [{"Image": {"x": 1}}]}]},
         "Invalid property at AdditionalInferenceSpecificationsToAdd[0].Containers[0].Image"),
    ],
)
def test_bad_properties_fail_with_the_path_and_no_call(
    change: dict[str, Any], reason_start: str, sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    event = load_event("create", receiver.url())
    event["ResourceProperties"].update(change)
    body = invoke(event, receiver)
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(reason_start), body["Reason"]
    assert len(body["Reason"]) <= 256


def test_bad_input_event_from_events_dir(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    body = invoke(load_event("create-bad-input", receiver.url()), receiver)
    assert body["Reason"] == ("Unknown property at ModelAprovalStatus: 'ModelAprovalStatus' is not a property; "
                              "did you mean ModelApprovalStatus?")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"RequestType": "Upsert"}, "Invalid event at RequestType: RequestType 'Upsert' is none of Create, Update, Delete"),
        ({"RequestId": None}, "Invalid event at RequestId: RequestId is missing or not a string"),
        ({"ResourceProperties": "junk"}, "Invalid event at ResourceProperties: ResourceProperties is missing or not a map"),
    ],
)
def test_malformed_events_fail_cleanly(change: dict[str, Any], reason: str, sagemaker: SageMakerStub,
                                       receiver: ResponseReceiver) -> None:
    event = load_event("create", receiver.url())
    event.update(change)
    lambda_handler(event, Context())
    [body] = receiver.bodies()
    assert body["Status"] == "FAILED" and body["Reason"] == reason


def test_update_without_old_properties_fails(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    event = load_event("update-metadata", receiver.url())
    del event["OldResourceProperties"]
    assert invoke(event, receiver)["Reason"].startswith("Invalid event at OldResourceProperties")


