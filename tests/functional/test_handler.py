"""lambda_handler end to end: events from events/, SageMaker stubbed with the exact
requests each SPEC.md row calls for, and a real HTTPS receiver for the response."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import handle, lambda_handler
from devkit.receiver import ResponseReceiver
from model_package_resource.sagemaker import client_token
from tests.functional.conftest import SageMakerStub, described
from tests.helpers import ARN, OTHER_ARN, Context, LogCapture, load_event


def invoke(event: dict[str, Any], receiver: ResponseReceiver, remaining_ms: int = 30_000) -> dict[str, Any]:
    stub = SageMakerStub.current or SageMakerStub()
    handle(event, Context(remaining_ms), stub.services())
    bodies = receiver.bodies()
    assert len(bodies) == 1, f"expected exactly one response, got {len(bodies)}"
    body = bodies[0]
    assert len(receiver.received[0].body) <= 4096
    assert body["RequestId"] == event.get("RequestId", "")
    return body


APPROVED = {"ticket": "CAB-1234", "approved-by": "ml-platform"}


# --- Create ------------------------------------------------------------------------

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
    sagemaker.update(ModelLifeCycle=props["ModelLifeCycle"],
                     ModelCard={"ModelCardContent": props["ModelCard"]["ModelCardContent"]})
    # Specifications cannot be undone: always in the last call, so no call can fail after them.
    sagemaker.update(ModelCard={"ModelCardStatus": "Draft"},
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


# --- Update -------------------------------------------------------------------------

def test_update_sends_only_the_metadata_diff(sagemaker: SageMakerStub, receiver: ResponseReceiver) -> None:
    sagemaker.describe(described(metadata={**APPROVED, "pipeline": "exec-2"}, ModelApprovalStatus="Approved",
                                 ApprovalDescription="CAB-1234 approved by ml-platform"))
    sagemaker.update(CustomerMetadataProperties={"ticket": "CAB-1299", "evaluation": "s3://reports/churn/2/eval.json"},
                     CustomerMetadataPropertiesToRemove=["approved-by"])
    body = invoke(load_event("update-metadata", receiver.url()), receiver)
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
    sagemaker.describe(described(metadata={"ticket": "CAB-1299", "evaluation": "s3://reports/churn/2/eval.json",
                                           "pipeline": "exec-2"}, ModelApprovalStatus="Approved"))
    sagemaker.update(CustomerMetadataProperties=APPROVED, CustomerMetadataPropertiesToRemove=["evaluation"],
                     ApprovalDescription="CAB-1234 approved by ml-platform")
    assert invoke(load_event("update-rollback", receiver.url()), receiver)["Status"] == "SUCCESS"


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
                              "ApprovalDescription: UpdateModelPackage failed: ValidationException: "
                              "Approval not allowed")


# --- Delete -------------------------------------------------------------------------

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


# --- Bad input ----------------------------------------------------------------------

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


# --- The ResponseURL, logs ----------------------------------------------------------

@pytest.mark.parametrize("url", ["https://attacker.example.com/cfn?X-Amz-Signature=abc",
                                 "http://bucket.s3.amazonaws.com/x", None])
def test_response_url_off_aws_gets_no_response_and_no_change(
    url: str | None, sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture
) -> None:
    event = load_event("create")
    event["ResponseURL"] = url
    result = lambda_handler(event, Context())
    assert result["Sent"] is False and receiver.attempts == 0
    logged = logs.text()
    assert "refusal" in logged and "X-Amz-Signature" not in logged and "abc" not in logged


def test_logs_carry_the_request_and_never_the_url_or_the_event(
    sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture
) -> None:
    sagemaker.describe(described())
    sagemaker.update(ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform",
                     CustomerMetadataProperties=APPROVED)
    event = load_event("create", receiver.url())
    invoke(event, receiver)
    lines = [json.loads(line) for line in logs.text().splitlines() if line.startswith("{")]
    assert lines and all(line["RequestId"] == event["RequestId"] for line in lines)
    assert all(line["LogicalResourceId"] == "ApproveModel" and line["RequestType"] == "Create" for line in lines)
    audit = [line for line in lines if line["message"] == "UpdateModelPackage"]
    assert audit[0]["request"]["CustomerMetadataProperties"] == APPROVED
    text = json.dumps(lines)
    assert "presigned-signature" not in text and "ResponseURL" not in text and "/cfn-response" not in text


def test_model_card_content_is_redacted_in_the_audit_log(
    sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture
) -> None:
    event = load_event("create", receiver.url())
    event["ResourceProperties"] = {"ModelPackageArn": ARN, "ModelCard": {"ModelCardContent": '{"secret": 1}'}}
    sagemaker.describe(described())
    sagemaker.update(ModelCard={"ModelCardContent": '{"secret": 1}'})
    invoke(event, receiver)
    assert '"secret' not in logs.text()


def test_client_token_is_derived_from_request_id_and_content() -> None:
    request = {"ModelPackageArn": ARN, "ModelApprovalStatus": "Approved"}
    token = client_token("req-1", request)
    assert token == client_token("req-1", dict(reversed(list(request.items()))))
    assert token != client_token("req-2", request)
    assert token != client_token("req-1", {**request, "ModelApprovalStatus": "Rejected"})
    assert len(token) <= 36 and token.isalnum()


def test_response_is_sent_before_the_deadline_when_sagemaker_hangs(
    receiver: ResponseReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    release = threading.Event()

    class Hanging:
        def __getattr__(self, name: str) -> Any:
            def call(**_: Any) -> Any:
                release.wait(30)
                raise RuntimeError("released")
            return call

    from model_package_resource.invocation import Services
    from model_package_resource.sagemaker import SageMakerGateway
    from tests.functional.conftest import MemoryPriorState

    services = Services(
        sagemaker=lambda package, role, budget, request: SageMakerGateway(Hanging(), budget, "r", package),
        prior_state=lambda budget: MemoryPriorState(),
    )
    started = time.monotonic()
    handle(load_event("create", receiver.url()), Context(3_000), services)
    body = receiver.bodies()[0]
    elapsed = time.monotonic() - started
    release.set()
    assert body["Status"] == "FAILED" and body["Reason"].startswith("Timed out")
    assert elapsed < 3.0


def test_rollback_from_invalid_properties_restores_a_managed_key_changed_meanwhile(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # Found by the lifecycle state machine: the failed (invalid) update changed nothing,
    # so the rollback diffs against the restored properties, not against the invalid ones.
    event = load_event("update-rollback", receiver.url())
    event["OldResourceProperties"] = {"ModelPackageArn": ARN, "ModelAprovalStatus": "Approved"}
    sagemaker.describe(described(metadata={"ticket": "edited-by-pipeline", "approved-by": "ml-platform"},
                                 ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform"))
    sagemaker.update(CustomerMetadataProperties={"ticket": "CAB-1234"})
    assert invoke(event, receiver)["Status"] == "SUCCESS"


def test_no_request_leaves_after_the_deadline_not_even_a_botocore_retry() -> None:
    from model_package_resource import clients
    from model_package_resource.errors import TimedOut
    from model_package_resource.timing import Budget

    budget = Budget.within(30)
    budget.cancelled.set()  # the response was sent on the work's behalf
    client = clients.client("sagemaker", "eu-west-1", budget)
    with pytest.raises(TimedOut, match="no time left for DescribeModelPackage"):
        client.describe_model_package(ModelPackageName=ARN, **{clients.BUDGET: budget})  # would go to AWS


def test_each_call_is_checked_against_its_own_invocations_budget() -> None:
    from model_package_resource import clients
    from model_package_resource.errors import TimedOut
    from model_package_resource.timing import Budget

    answered, current = Budget.within(30), Budget.within(30)
    answered.cancelled.set()
    client = clients.client("sagemaker", "eu-west-1", current)
    assert clients.client("sagemaker", "eu-west-1", answered) is client  # one cached client for both
    with pytest.raises(TimedOut):
        client.describe_model_package(ModelPackageName=ARN, **{clients.BUDGET: answered})


def test_a_changed_endpoint_setting_gets_a_fresh_client(monkeypatch: pytest.MonkeyPatch) -> None:
    from model_package_resource import clients
    from model_package_resource.timing import Budget

    budget = Budget.within(60)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:1111")
    first = clients.client("sagemaker", "eu-west-1", budget)
    assert clients.client("sagemaker", "eu-west-1", budget) is first
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:2222")
    second = clients.client("sagemaker", "eu-west-1", budget)
    assert second is not first and second.meta.endpoint_url == "http://127.0.0.1:2222"
