"""lambda_handler end to end. Update: the diff, replacement and rollback.
SageMaker stubbed with the exact requests, a real HTTPS receiver for the response."""


from __future__ import annotations

from devkit.receiver import ResponseReceiver
from tests.functional.conftest import SageMakerStub, described
from tests.functional.invoke import APPROVED, invoke
from tests.helpers import ARN, OTHER_ARN, load_event


def test_update_sends_only_the_metadata_diff(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    event = load_event("update-metadata", receiver.url())
    sagemaker.record(event["OldResourceProperties"], priors={"ticket": None, "approved-by": None})
    sagemaker.describe(described(metadata={**APPROVED, "pipeline": "exec-2"}, ModelApprovalStatus="Approved",
                                 ApprovalDescription="CAB-1234 approved by ml-platform"))
    sagemaker.update(CustomerMetadataProperties={"ticket": "CAB-1299", "evaluation": "s3://reports/churn/2/eval.json"},
                     CustomerMetadataPropertiesToRemove=["approved-by"])
    body = invoke(event, receiver)
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == ARN


def test_update_of_the_approval(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    sagemaker.describe(described(metadata=APPROVED, ModelApprovalStatus="Approved",
                                 ApprovalDescription="CAB-1234 approved by ml-platform"))
    sagemaker.update(ModelApprovalStatus="Rejected", ApprovalDescription="CAB-1234 withdrawn: drift found")
    body = invoke(load_event("update-approval", receiver.url()), receiver)
    assert body["Data"]["ModelApprovalStatus"] == "Rejected"


def test_update_that_changes_nothing_live_makes_no_call(sagemaker: SageMakerStub,
                                                        receiver: ResponseReceiver) -> None:
    event = load_event("update-metadata", receiver.url())
    event["OldResourceProperties"] = dict(event["ResourceProperties"], ServiceTimeout="600")
    sagemaker.describe(described(metadata={"ticket": "CAB-1299", "evaluation": "s3://reports/churn/2/eval.json"},
                                 ModelApprovalStatus="Approved",
                                 ApprovalDescription="CAB-1234 approved by ml-platform"))
    assert invoke(event, receiver)["Status"] == "SUCCESS"


def test_replacement_acts_on_the_new_package_and_returns_its_arn(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    sagemaker.describe(described(OTHER_ARN, metadata={"pipeline": "exec-1"}))
    sagemaker.update(OTHER_ARN, ModelApprovalStatus="Approved",
                     ApprovalDescription="CAB-1234 approved by ml-platform", CustomerMetadataProperties=APPROVED)
    body = invoke(load_event("update-replacement", receiver.url()), receiver)
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == OTHER_ARN


def test_rollback_restores_the_old_declaration(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    event = load_event("update-rollback", receiver.url())
    # The failed update's state: the resource manages what it declared, evaluation added by it.
    sagemaker.record(event["OldResourceProperties"], priors={"ticket": None, "evaluation": None})
    sagemaker.describe(described(metadata={"ticket": "CAB-1299", "evaluation": "s3://reports/churn/2/eval.json",
                                           "pipeline": "exec-2"}, ModelApprovalStatus="Approved"))
    sagemaker.update(CustomerMetadataProperties=APPROVED, CustomerMetadataPropertiesToRemove=["evaluation"],
                     ApprovalDescription="CAB-1234 approved by ml-platform")
    assert invoke(event, receiver)["Status"] == "SUCCESS"


def test_rollback_from_invalid_properties_succeeds(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    event = load_event("update-rollback", receiver.url())
    event["OldResourceProperties"] = {**event["OldResourceProperties"], "ModelAprovalStatus": "Approved"}
    sagemaker.describe(described(metadata={**APPROVED}, ModelApprovalStatus="Approved",
                                 ApprovalDescription="CAB-1234 approved by ml-platform"))
    assert invoke(event, receiver)["Status"] == "SUCCESS"


def test_changed_specification_fails_before_any_change(sagemaker: SageMakerStub,
                                                       receiver: ResponseReceiver) -> None:
    event = load_event("create-inference-spec", receiver.url())
    sagemaker.describe(described(AdditionalInferenceSpecifications=[
        {"Name": "neo-graviton", "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/old:1"}]}]))
    body = invoke(event, receiver)
    assert body["Reason"].startswith(
        "Inference specification conflict at AdditionalInferenceSpecificationsToAdd[0]: neo-graviton")


def test_sagemaker_refusal_is_reported(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    sagemaker.describe(described())
    sagemaker.update_error(ARN, "ValidationException", "Approval not allowed")
    body = invoke(load_event("create", receiver.url()), receiver)
    assert body["Reason"] == ("SageMaker error at CustomerMetadataProperties, ModelApprovalStatus, "
                              "ApprovalDescription: UpdateModelPackage refused: ValidationException: "
                              "Approval not allowed")


