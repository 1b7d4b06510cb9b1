"""lambda_handler end to end. Delete: release, a failed Create's id, a missing package, unparseable properties.
SageMaker stubbed with the exact requests, a real HTTPS receiver for the response."""


from __future__ import annotations

import pytest

from devkit.receiver import ResponseReceiver
from tests.functional.conftest import SageMakerStub, described
from tests.functional.invoke import invoke
from tests.helpers import ARN, load_event


def test_delete_releases_managed_keys_still_holding_the_declared_value(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    sagemaker.describe(described(metadata={"ticket": "CAB-1234", "approved-by": "someone-else", "pipeline": "p"}))
    sagemaker.update(CustomerMetadataPropertiesToRemove=["ticket"])
    body = invoke(load_event("delete", receiver.url()), receiver)
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == ARN


def test_delete_after_a_failed_create_makes_no_call(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    body = invoke(load_event("delete-after-failed-create", receiver.url()), receiver)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "failed-create/11111111-0000-4000-8000-000000000008"


def test_delete_of_a_missing_package_succeeds(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    sagemaker.describe_error(ARN, "ValidationException", f"ModelPackage {ARN} does not exist.")
    assert invoke(load_event("delete", receiver.url()), receiver)["Status"] == "SUCCESS"


def test_delete_with_unparseable_properties_releases_what_it_can(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    event = load_event("delete", receiver.url())
    event["ResourceProperties"] = {"ModelAprovalStatus": 5, "CustomerMetadataProperties": {
        "ticket": "CAB-1234", "bad": ["not", "a", "string"]}}
    sagemaker.describe(described(metadata={"ticket": "CAB-1234", "bad": "x"}))
    sagemaker.update(CustomerMetadataPropertiesToRemove=["ticket"])
    assert invoke(event, receiver)["Status"] == "SUCCESS"


def test_delete_does_not_sleep(sagemaker: SageMakerStub, receiver: ResponseReceiver,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    sagemaker.describe(described(metadata={}))
    invoke(load_event("delete", receiver.url()), receiver)
    assert slept == []


