"""Every change can be undone: atomic events (a refusal at any call, a revert that
fails), ServiceTimeout, the record table (leased before the change, down,
unconfigured) and releases that give back priors. SageMaker stubbed exactly."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app import handle
from devkit.receiver import ResponseReceiver
from model_package_resource.invocation import Services
from model_package_resource.ownership import Answer, Ownership, ResourceInfo, resource_key
from model_package_resource.record import Record
from model_package_resource.table import RecordTable
from tests.functional.conftest import SageMakerStub, described
from tests.helpers import ARN, OTHER_ARN, Context, load_event
from tests.unit.planning import entry

ME = resource_key("arn:aws:cloudformation:eu-west-1:123456789012:stack/model-approval/"
                  "5b6ef1c0-8d5a-11ef-9c3a-0a1b2c3d4e5f", "ApproveModel")


def recorded(sagemaker: SageMakerStub, **items: Any) -> None:
    """GIVEN the package's record: this resource manages each item (name -> (value, prior))."""
    entries = {("field", k) if k[0].isupper() else ("metadata", k): entry((ME, v), prior=p)
               for k, (v, p) in items.items()}
    sagemaker.table.records[ARN] = Record(ARN, 1, Ownership(entries, {ME: ResourceInfo(created="c")}))


def invoke(event: dict[str, Any], receiver: ResponseReceiver, services: Services) -> dict[str, Any]:
    handle(event, Context(30_000), services)
    bodies = receiver.bodies()
    assert len(bodies) == 1
    return bodies[0]


def two_call_create(receiver: ResponseReceiver) -> dict[str, Any]:
    event = load_event("create", receiver.url())
    event["ResourceProperties"]["InferenceSpecification"] = {"Containers": [{"Image": "img:new"}]}
    event["ResourceProperties"]["SourceUri"] = "s3://models/churn/2"
    return event


def test_a_refused_second_call_is_reverted_and_the_package_left_as_found(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # GIVEN a Create that needs two calls (SourceUri cannot go with InferenceSpecification);
    # the approval rides in the last, so that a refused earlier call never needs it undone
    sagemaker.describe(described(metadata={"pipeline": "p"}, InferenceSpecification={"Containers": [{"Image": "img:old"}]}))
    sagemaker.update(ApprovalDescription="CAB-1234 approved by ml-platform",
                     CustomerMetadataProperties={"ticket": "CAB-1234", "approved-by": "ml-platform"},
                     InferenceSpecification={"Containers": [{"Image": "img:new"}]})
    # WHEN SageMaker refuses the second
    sagemaker.update_error(ARN, "ValidationException", "SourceUri refused")
    # THEN the first is reverted from the pre-image: description, keys and image given back; the
    # approval was never sent
    sagemaker.update(ApprovalDescription="", CustomerMetadataPropertiesToRemove=["approved-by", "ticket"],
                     InferenceSpecification={"Containers": [{"Image": "img:old"}]})
    body = invoke(two_call_create(receiver), receiver, sagemaker.services())
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(
        "SageMaker error at ModelApprovalStatus, SourceUri: UpdateModelPackage refused: ValidationException")
    assert body["PhysicalResourceId"].startswith("failed-create/")
    # The record's lease is given back, and it names the resource as manager of nothing.
    record = sagemaker.table.records[ARN]
    assert record.lease is None and record.ownership.entries == {}


def test_a_revert_that_fails_says_what_is_left_and_a_create_answers_with_the_arn(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    sagemaker.describe(described(InferenceSpecification={"Containers": [{"Image": "img:old"}]}))
    sagemaker.update(ApprovalDescription="CAB-1234 approved by ml-platform",
                     CustomerMetadataProperties={"ticket": "CAB-1234", "approved-by": "ml-platform"},
                     InferenceSpecification={"Containers": [{"Image": "img:new"}]})
    sagemaker.update_error(ARN, "ValidationException", "SourceUri refused")
    sagemaker.update_error(ARN, "AccessDeniedException", "no")  # the revert
    body = invoke(two_call_create(receiver), receiver, sagemaker.services())
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(
        "Failed and not fully reverted at ModelApprovalStatus, SourceUri: left changed: "
        "metadata approved-by, metadata ticket, ApprovalDescription, InferenceSpecification; "
        "SageMaker error: UpdateModelPackage refused: ValidationException"), body["Reason"]
    assert len(body["Reason"]) <= 256
    # CloudFormation's Delete then releases the package: the record keeps what is left
    # changed as this resource's, with its prior.
    assert body["PhysicalResourceId"] == ARN
    entries = sagemaker.table.records[ARN].ownership.entries
    assert entries[("metadata", "ticket")] == entry((ME, "CAB-1234", True), prior=None)
    assert ("field", "ModelApprovalStatus") not in entries  # never sent


def test_an_event_past_its_service_timeout_makes_no_call(sagemaker: SageMakerStub,
                                                         receiver: ResponseReceiver) -> None:
    event = load_event("create", receiver.url(signed_at=time.time() - 400))
    event["ResourceProperties"]["ServiceTimeout"] = "300"
    body = invoke(event, receiver, sagemaker.services())
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "Timed out at ServiceTimeout: the event arrived after its ServiceTimeout (300 s)"


def test_service_timeout_shortens_the_wait_for_a_package_in_progress(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # Signed 292 s ago with ServiceTimeout 300: about 7 s left, less than the Lambda's 25.
    event = load_event("create", receiver.url(signed_at=time.time() - 292))
    event["ResourceProperties"]["ServiceTimeout"] = "300"
    for _ in range(8):
        sagemaker.describe(described(ModelPackageStatus="InProgress"))
    started = time.monotonic()
    handle(event, Context(30_000), sagemaker.services())
    body = receiver.bodies()[0]
    sagemaker.verify = lambda: None  # type: ignore[method-assign]  # how many polls fit depends on the clock
    assert body["Status"] == "FAILED" and body["Reason"].startswith("Timed out at ModelPackageArn")
    assert time.monotonic() - started < 8


@pytest.mark.parametrize("down", ["read", "lease"])
def test_a_table_that_cannot_be_read_or_written_fails_the_event_before_any_change(
    down: str, sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    if down == "lease":  # the record is read before the package is described
        sagemaker.describe(described())
    sagemaker.table.down.add(down)
    body = invoke(load_event("create", receiver.url()), receiver, sagemaker.services())
    assert body["Status"] == "FAILED" and body["Reason"].startswith("Prior-state table error")


def test_an_unconfigured_table_is_named(sagemaker: SageMakerStub, receiver: ResponseReceiver,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRIOR_STATE_TABLE", raising=False)
    services = Services(sagemaker=sagemaker.services().sagemaker, records=RecordTable)
    body = invoke(load_event("create", receiver.url()), receiver, services)
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("Prior-state table error at PRIOR_STATE_TABLE: no table is configured")


def test_the_rollback_of_an_update_that_approved_gives_the_prior_status_back(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # GIVEN an Update that approved the package (its prior recorded), then rolled back
    recorded(sagemaker, ModelApprovalStatus=("Approved", "PendingManualApproval"))
    event = load_event("update-rollback", receiver.url())
    event["OldResourceProperties"] = {"ModelPackageArn": ARN, "ModelApprovalStatus": "Approved"}
    event["ResourceProperties"] = {"ModelPackageArn": ARN}
    sagemaker.describe(described(ModelApprovalStatus="Approved"))
    # THEN the approval is given back as close as SageMaker allows: no way back to Pending
    sagemaker.update(ModelApprovalStatus="Rejected")
    body = invoke(event, receiver, sagemaker.services())
    assert body["Status"] == "SUCCESS"
    assert sagemaker.table.records[ARN].ownership.entries == {}


def test_delete_gives_a_taken_over_key_its_previous_value_and_removes_the_record(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    event = load_event("delete", receiver.url())
    declared = event["ResourceProperties"]["CustomerMetadataProperties"]
    recorded(sagemaker, **{k: (v, "OLD-1" if k == "ticket" else None) for k, v in declared.items()})
    sagemaker.describe(described(metadata={**declared, "pipeline": "p"}))
    sagemaker.update(CustomerMetadataProperties={"ticket": "OLD-1"},
                     CustomerMetadataPropertiesToRemove=sorted(k for k in declared if k != "ticket"))
    body = invoke(event, receiver, sagemaker.services())
    assert body["Status"] == "SUCCESS"
    ownership = sagemaker.table.records[ARN].ownership
    assert ownership.entries == {} and ownership.resources[ME].gone_at is not None
    assert ownership.idle  # the record then expires (DynamoDB's TTL)


def test_a_redelivered_delete_finds_the_record_released_and_makes_no_call(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # GIVEN the first Delete gave everything back and answered SUCCESS
    event = load_event("delete", receiver.url())
    sagemaker.table.records[ARN] = Record(ARN, 3, Ownership(resources={ME: ResourceInfo(
        created="c", gone_at=1.0, last=Answer(event["RequestId"], "SUCCESS", ARN))}))
    # WHEN CloudFormation sends the Delete again THEN it answers alike: no describe, no call
    body = invoke(event, receiver, sagemaker.services())
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == ARN


def test_the_rollback_of_a_refused_replacement_keeps_the_resources_own_keys(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # The replacement to OTHER_ARN was refused before any change; the pipeline had edited
    # a key that the restored properties declare, which the resource had changed before.
    recorded(sagemaker, ticket=("CAB-1", None))
    event = load_event("update-rollback", receiver.url())
    event["ResourceProperties"] = {"ModelPackageArn": ARN, "CustomerMetadataProperties": {"ticket": "CAB-1"}}
    event["OldResourceProperties"] = {"ModelPackageArn": OTHER_ARN, "CustomerMetadataProperties": {"ticket": "CAB-2"}}
    event["PhysicalResourceId"] = ARN
    sagemaker.describe(described(metadata={"ticket": "edited"}))
    sagemaker.update(CustomerMetadataProperties={"ticket": "CAB-1"})
    body = invoke(event, receiver, sagemaker.services())
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == ARN


def test_access_denied_on_another_accounts_package_says_the_three_ways_to_fix_it(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    arn = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn/7"
    sagemaker.describe_error(arn, "AccessDeniedException", "User is not authorized")
    event = load_event("create", receiver.url())
    event["ResourceProperties"]["ModelPackageArn"] = arn
    body = invoke(event, receiver, sagemaker.services())
    reason = body["Reason"]
    assert reason.startswith("Access denied at ModelPackageArn: DescribeModelPackage on 111122223333's package")
    for fix in ("resource policy", "RegistryAccountIds", "RoleArn"):
        assert fix in reason
    assert len(reason) <= 256


@pytest.mark.parametrize(("value", "outcome"), [(5, "SUCCESS"), (True, "FAILED")])
def test_numbers_for_string_fields_are_their_text_and_booleans_are_refused(
    value: Any, outcome: str, sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    event = load_event("create", receiver.url())
    event["ResourceProperties"]["CustomerMetadataProperties"] = {"build": value}
    event["ResourceProperties"].pop("ApprovalDescription", None)
    event["ResourceProperties"].pop("ModelApprovalStatus", None)
    if outcome == "SUCCESS":
        sagemaker.describe(described())
        sagemaker.update(CustomerMetadataProperties={"build": "5"})
    body = invoke(event, receiver, sagemaker.services())
    assert body["Status"] == outcome, body["Reason"]
    if outcome == "FAILED":
        assert body["Reason"] == "Invalid property at CustomerMetadataProperties.build: expected a string, got a boolean"


def test_a_non_ascii_response_url_gets_no_response_and_nothing_escapes(receiver: ResponseReceiver) -> None:
    event = load_event("create", receiver.url().replace("/cfn-response", "/cfn-réponse"))
    result = handle(event, Context(30_000), SageMakerStub().services())
    assert result == {"Sent": False, "Refusal": "the ResponseURL has characters no presigned URL has"}
    assert receiver.bodies() == []


def test_with_role_arn_every_sagemaker_call_is_signed_with_the_assumed_credentials(
    receiver: ResponseReceiver,
) -> None:
    import datetime

    from botocore.stub import ANY, Stubber

    from model_package_resource.clients import session, watch_deadline
    from model_package_resource.credentials import RoleCredentials
    from model_package_resource.invocation import default_services

    role = "arn:aws:iam::111122223333:role/model-registry-governor"
    arn = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn/7"
    stubbers: list[Stubber] = []
    made: list[tuple[str, str | None]] = []

    def make_client(service: str, region: str, deadline: Any, credentials: Any = None) -> Any:
        keys = dict(credentials or {"aws_access_key_id": "function", "aws_secret_access_key": "s"})
        client = watch_deadline(session().create_client(service, region_name=region, **keys))
        made.append((service, keys.get("aws_access_key_id")))
        stubber = Stubber(client)
        if service == "sts":
            stubber.add_response("assume_role", {"Credentials": {
                "AccessKeyId": "ASIAROLEEXAMPLE0000", "SecretAccessKey": "secret", "SessionToken": "token",
                "Expiration": datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=15)}},
                {"RoleArn": role, "RoleSessionName": "model-approval.ApproveModel", "DurationSeconds": 900})
        else:
            stubber.add_response("describe_model_package", described(arn))
            stubber.add_response("update_model_package", {"ModelPackageArn": arn},
                                 {"ModelPackageArn": arn, "ModelApprovalStatus": "Approved", "ClientToken": ANY,
                                  "ApprovalDescription": "CAB-1234 approved by ml-platform",
                                  "CustomerMetadataProperties": {"ticket": "CAB-1234", "approved-by": "ml-platform"}})
        stubber.activate()
        stubbers.append(stubber)
        return client

    from tests.fakes import MemoryRecords

    real = default_services(make_client=make_client, roles=RoleCredentials())
    services = Services(sagemaker=real.sagemaker, records=lambda deadline: MemoryRecords())
    event = load_event("create", receiver.url())
    event["ResourceProperties"].update(ModelPackageArn=arn, RoleArn=role)
    body = invoke(event, receiver, services)
    assert body["Status"] == "SUCCESS", body["Reason"]
    # STS with the function's own credentials, then SageMaker (describe and update) as the role only.
    assert made == [("sts", "function"), ("sagemaker", "ASIAROLEEXAMPLE0000")]
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


def test_a_call_whose_outcome_is_unknown_is_reverted_too(sagemaker: SageMakerStub,
                                                         receiver: ResponseReceiver) -> None:
    # A server error may follow an applied call: its revert (from the pre-image) is sent,
    # and changes nothing if the call did not land.
    # The package is described again to learn what landed: here, the keys and the
    # description did (not the approval, which SageMaker could not set back).
    sagemaker.describe(described(metadata={"pipeline": "p"}))
    sagemaker._for(ARN).add_client_error("update_model_package", "InternalFailure", "try later",
                                         http_status_code=500)
    sagemaker.describe(described(metadata={"pipeline": "p", "ticket": "CAB-1234", "approved-by": "ml-platform"},
                                 ApprovalDescription="CAB-1234 approved by ml-platform"))
    sagemaker.update(ApprovalDescription="", CustomerMetadataPropertiesToRemove=["approved-by", "ticket"])
    body = invoke(load_event("create", receiver.url()), receiver, sagemaker.services())
    assert body["Status"] == "FAILED" and body["Reason"].startswith("SageMaker error"), body["Reason"]
    assert body["PhysicalResourceId"].startswith("failed-create/")
    assert sagemaker.table.records[ARN].ownership.entries == {}


def test_after_a_conflict_is_reverted_the_new_plan_keeps_time_for_its_own_revert(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    image = {"Containers": [{"Image": "img:old"}]}
    first = {"ApprovalDescription": "CAB-1234 approved by ml-platform",
             "CustomerMetadataProperties": {"ticket": "CAB-1234", "approved-by": "ml-platform"},
             "InferenceSpecification": {"Containers": [{"Image": "img:new"}]}}
    sagemaker.describe(described(InferenceSpecification=image))
    sagemaker.update(**first)
    sagemaker.update_error(ARN, "ConflictException", "someone else")  # the 2nd call
    sagemaker.update(ApprovalDescription="", CustomerMetadataPropertiesToRemove=["approved-by", "ticket"],
                     InferenceSpecification=image)
    sagemaker.describe(described(InferenceSpecification=image))  # planned again
    sagemaker.update(**first)
    sagemaker.update(ModelApprovalStatus="Approved", SourceUri="s3://models/churn/2")
    body = invoke(two_call_create(receiver), receiver, sagemaker.services())
    assert body["Status"] == "SUCCESS", body["Reason"]
    # The new plan's calls carry new ClientTokens, and its deadline keeps time for a revert again.
    assert len({gateway.attempt for gateway in sagemaker.gateways}) == 2
    assert all(gateway.deadline.keep is None for gateway in sagemaker.gateways)
