"""lambda_handler end to end. Create: approve, record metadata, wait, conflicts, specifications, the card and the stage.
SageMaker stubbed with the exact requests, a real HTTPS receiver for the response."""


from __future__ import annotations

import pytest

from devkit.receiver import ResponseReceiver
from tests.functional.conftest import SageMakerStub, described
from tests.functional.invoke import APPROVED, invoke
from tests.helpers import ARN, load_event


def test_create_approves_and_records_metadata(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    sagemaker.describe(described(metadata={"pipeline": "exec-2"}))
    sagemaker.update(ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform",
                     CustomerMetadataProperties=APPROVED)
    body = invoke(load_event("create", receiver.url()), receiver)
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == ARN
    assert body["Data"] == {"ModelPackageArn": ARN, "ModelPackageGroupName": "churn", "ModelPackageVersion": "2",
                            "ModelApprovalStatus": "Approved", "ModelPackageStatus": "Completed"}
    assert receiver.received[0].headers.get("content-type") == ""


def test_redelivered_create_makes_no_update(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    sagemaker.describe(described(metadata=APPROVED, ModelApprovalStatus="Approved",
                                 ApprovalDescription="CAB-1234 approved by ml-platform"))
    assert invoke(load_event("create", receiver.url()), receiver)["Status"] == "SUCCESS"


def test_create_conflicting_with_others_metadata_fails_before_any_change(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    sagemaker.describe(described(metadata={"ticket": "CAB-0001"}))
    body = invoke(load_event("create", receiver.url()), receiver)
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("Metadata conflict at CustomerMetadataProperties")
    assert "ticket" in body["Reason"]
    assert body["PhysicalResourceId"].startswith("failed-create/")


def test_overwrite_existing_metadata_takes_over(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    event = load_event("create", receiver.url())
    event["ResourceProperties"]["OverwriteExistingMetadata"] = "true"
    sagemaker.describe(described(metadata={"ticket": "CAB-0001"}))
    sagemaker.update(ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform",
                     CustomerMetadataProperties=APPROVED)
    assert invoke(event, receiver)["Status"] == "SUCCESS"


def test_create_waits_for_a_package_in_progress(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    sagemaker.describe(described(ModelPackageStatus="InProgress"))
    sagemaker.describe(described())
    sagemaker.update(ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform",
                     CustomerMetadataProperties=APPROVED)
    assert invoke(load_event("create", receiver.url()), receiver)["Status"] == "SUCCESS"


@pytest.mark.parametrize("status", ["Failed", "Deleting"])
def test_failed_or_deleting_package_is_a_clear_error(
    status: str, sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    sagemaker.describe(described(ModelPackageStatus=status))
    body = invoke(load_event("create", receiver.url()), receiver)
    assert body["Reason"] == f"Model package unavailable at ModelPackageArn: the package's status is {status}"


def test_missing_package_on_create_fails(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    sagemaker.describe_error(ARN, "ValidationException", f"ModelPackage {ARN} does not exist.")
    body = invoke(load_event("create", receiver.url()), receiver)
    assert body["Status"] == "FAILED" and body["Reason"].startswith("Model package not found at ModelPackageArn")


def test_specs_card_and_lifecycle_on_create(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    event = load_event("create-inference-spec", receiver.url())
    props = event["ResourceProperties"]
    sagemaker.describe(described())
    sagemaker.update(ModelCard={"ModelCardContent": props["ModelCard"]["ModelCardContent"]})
    # What cannot be undone goes in the last call, so that no call can fail after it:
    # the specifications, and a stage the package had none of (SageMaker cannot unset one).
    sagemaker.update(ModelCard={"ModelCardStatus": "Draft"}, ModelLifeCycle=props["ModelLifeCycle"],
                     AdditionalInferenceSpecificationsToAdd=props["AdditionalInferenceSpecificationsToAdd"])
    assert invoke(event, receiver)["Status"] == "SUCCESS"


def test_region_comes_from_the_arn(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3"
    event = load_event("create", receiver.url())
    event["ResourceProperties"]["ModelPackageArn"] = arn
    sagemaker.describe(described(arn, metadata=APPROVED, ModelApprovalStatus="Approved",
                                 ApprovalDescription="CAB-1234 approved by ml-platform"))
    body = invoke(event, receiver)
    assert body["Status"] == "SUCCESS" and body["Data"]["ModelPackageGroupName"] == "fraud"


