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
    event = load_event("delete", receiver.url())
    # GIVEN the record: the resource added both keys (absent before); the approval was Approved already
    sagemaker.record(event["ResourceProperties"], priors={"ticket": None, "approved-by": None})
    sagemaker.describe(described(metadata={"ticket": "CAB-1234", "approved-by": "someone-else", "pipeline": "p"},
                                 ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform"))
    # THEN only the key still holding its declared value is removed; approved-by was changed since
    sagemaker.update(CustomerMetadataPropertiesToRemove=["ticket"])
    body = invoke(event, receiver)
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == ARN


def test_delete_of_a_failed_create_releases_what_the_record_shows(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # GIVEN a Create whose answer never reached CloudFormation, though its change landed
    event = load_event("delete-after-failed-create", receiver.url())
    event["ResourceProperties"] = {"ModelPackageArn": ARN, "CustomerMetadataProperties": {"ticket": "CAB-1"}}
    sagemaker.record(event["ResourceProperties"], priors={"ticket": None},
                     created=event["PhysicalResourceId"].removeprefix("failed-create/"))
    sagemaker.describe(described(metadata={"ticket": "CAB-1"}))
    # WHEN its Delete comes with an id that names no package, THEN the record's package is released
    sagemaker.update(CustomerMetadataPropertiesToRemove=["ticket"])
    body = invoke(event, receiver)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "failed-create/11111111-0000-4000-8000-000000000008"


def test_delete_of_a_failed_create_forgets_an_earlier_resource_of_its_id(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # GIVEN a resource kept by DeletionPolicy: Retain, declared again; its new Create failed
    # before it could write anything: the record still holds the earlier resource's entries
    event = load_event("delete-after-failed-create", receiver.url())
    event["ResourceProperties"] = {"ModelPackageArn": ARN, "ModelApprovalStatus": "Approved"}
    sagemaker.record(event["ResourceProperties"], priors={"ModelApprovalStatus": "PendingManualApproval"},
                     created="the-earlier-resource's-create")
    # WHEN the failed Create's Delete comes, THEN the retained approval is forgotten, never withdrawn:
    # no describe, no call (the stub fails the test on any)
    body = invoke(event, receiver)
    assert body["Status"] == "SUCCESS"
    assert sagemaker.table.records[ARN].ownership.entries == {}


def test_delete_after_a_failed_create_makes_no_call(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    body = invoke(load_event("delete-after-failed-create", receiver.url()), receiver)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "failed-create/11111111-0000-4000-8000-000000000008"


def test_delete_of_a_missing_package_succeeds(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    event = load_event("delete", receiver.url())
    sagemaker.record(event["ResourceProperties"], priors={"ticket": None})
    sagemaker.describe_error(ARN, "ValidationException", f"ModelPackage {ARN} does not exist.")
    assert invoke(event, receiver)["Status"] == "SUCCESS"
    assert sagemaker.table.records[ARN].ownership.entries == {}  # its entries forgotten


def test_delete_with_unparseable_properties_releases_what_it_can(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    event = load_event("delete", receiver.url())
    sagemaker.record({"CustomerMetadataProperties": {"ticket": "CAB-1234"}}, priors={"ticket": None})
    event["ResourceProperties"] = {"ModelAprovalStatus": 5, "CustomerMetadataProperties": {
        "ticket": "CAB-1234", "bad": ["not", "a", "string"]}}
    sagemaker.describe(described(metadata={"ticket": "CAB-1234", "bad": "x"}))
    sagemaker.update(CustomerMetadataPropertiesToRemove=["ticket"])
    assert invoke(event, receiver)["Status"] == "SUCCESS"


def test_delete_does_not_sleep(sagemaker: SageMakerStub, receiver: ResponseReceiver,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    event = load_event("delete", receiver.url())
    sagemaker.record(event["ResourceProperties"], priors={"ticket": None})
    sagemaker.describe(described(metadata={"ticket": "CAB-1234"}))
    sagemaker.update(CustomerMetadataPropertiesToRemove=["ticket"])
    assert invoke(event, receiver)["Status"] == "SUCCESS"
    assert slept == []


