"""SageMaker's "Model Package State Change" event (EventBridge) through `app.handle`:
drift is logged and counted, nothing is changed back, nothing is answered, and no
event, however shaped, makes the handler raise. SageMaker stubbed with the exact
requests (an UpdateModelPackage would be a call not queued), the record table in
memory, a real HTTPS receiver to show that no response goes anywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import handle
from devkit.receiver import ResponseReceiver
from model_package_resource.ownership import ResourceInfo
from tests.functional.conftest import STACK_ID, SageMakerStub, described
from tests.functional.invoke import APPROVED, invoke
from tests.helpers import ARN, Context, LogCapture, load_event

DECLARED = {"ModelPackageArn": ARN, "ModelApprovalStatus": "Approved", "CustomerMetadataProperties": APPROVED}
ROLE = "arn:aws:iam::123456789012:role/model-registry-governor"


def state_change(**overrides: Any) -> dict[str, Any]:
    """events/model-package-state-change.json: SageMaker's event for churn/2."""
    return load_event("model-package-state-change", **overrides)


def lines(logs: LogCapture) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logs.text().splitlines() if line.startswith("{")]


def drift_lines(logs: LogCapture) -> list[dict[str, Any]]:
    return [line for line in lines(logs) if line["message"] == "Drift"]


def metric_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in out.splitlines() if raw.startswith('{"_aws"')]


def test_an_out_of_band_change_is_logged_naming_the_resource_with_no_call_and_no_response(
    sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a resource created through the handler: churn/2 approved, two keys recorded
    sagemaker.describe(described())
    sagemaker.update(ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform",
                     CustomerMetadataProperties=APPROVED)
    assert invoke(load_event("create", receiver.url()), receiver)["Status"] == "SUCCESS"
    capsys.readouterr()
    # AND someone rejects it in Studio and edits a managed key (the pipeline adds one of its own)
    sagemaker.describe(described(ModelApprovalStatus="Rejected", ApprovalDescription="CAB-1234 approved by ml-platform",
                                 metadata={**APPROVED, "ticket": "INC-9", "pipeline": "p-1"}))
    # WHEN SageMaker's event reaches the function (carrying a ResponseURL, which is never used)
    result = handle(state_change(ResponseURL=receiver.url("/not-cloudformation")), Context(), sagemaker.services())
    # THEN each drifted item is logged once, naming the package, the item, both values and the resource
    drifted = drift_lines(logs)
    assert [(d["item"], d["declared"], d["live"]) for d in drifted] == [
        ("ModelApprovalStatus", "Approved", "Rejected"), ("metadata ticket", "CAB-1234", "INC-9")]
    for line in drifted:
        assert line["ModelPackageArn"] == ARN and line["level"] == "WARNING"
        assert (line["StackName"], line["LogicalResourceId"]) == ("model-approval", "ApproveModel")
        assert line["resources"] == [{"StackName": "model-approval", "LogicalResourceId": "ApproveModel",
                                      "StackId": STACK_ID}]
        assert "RequestType" not in line and "RequestId" not in line  # the Create's keys are not carried over
    assert [d["item"] for d in result["Drift"]] == ["ModelApprovalStatus", "metadata ticket"]
    # AND the metric counts them, in the namespace and dimension the alarm watches
    [metric] = metric_lines(capsys.readouterr().out)
    assert metric["DriftedItems"] == [2.0] and metric["service"] == "model-package-resource"
    (directive,) = metric["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "ModelPackageResource" and directive["Dimensions"] == [["service"]]
    # AND nothing was changed back (no UpdateModelPackage was queued: the stub would refuse
    # it) and nothing answered: the receiver holds the Create's response only
    assert len(receiver.bodies()) == 1 and receiver.attempts == 1


def test_a_package_no_resource_manages_costs_one_read_and_nothing_else(
    sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture, capsys: pytest.CaptureFixture[str]
) -> None:
    reads: list[str] = []
    table, read = sagemaker.table, sagemaker.table.read

    def counted(package: str, resource: str | None = None) -> Any:
        reads.append(package)
        return read(package, resource)

    table.read = counted  # type: ignore[method-assign]
    result = handle(state_change(), Context(), sagemaker.services())
    assert reads == [ARN]
    assert sagemaker.gateways == []  # no client, no describe
    assert result["Managed"] is False and result["Drift"] == []
    assert drift_lines(logs) == [] and metric_lines(capsys.readouterr().out) == []
    assert receiver.attempts == 0


def test_a_managed_package_as_declared_has_no_drift_and_counts_zero(
    sagemaker: SageMakerStub, logs: LogCapture, capsys: pytest.CaptureFixture[str]
) -> None:
    sagemaker.record(DECLARED)
    sagemaker.describe(described(ModelApprovalStatus="Approved", metadata={**APPROVED, "pipeline": "p-1"}))
    result = handle(state_change(), Context(), sagemaker.services())
    assert result["Managed"] is True and result["Drift"] == []
    assert drift_lines(logs) == []
    [metric] = metric_lines(capsys.readouterr().out)
    assert metric["DriftedItems"] == [0.0]


def test_a_model_cards_content_is_never_logged(sagemaker: SageMakerStub, logs: LogCapture) -> None:
    declared, edited = '{"model_overview": {"model_creator": "ml-platform"}}', '{"secret-edit": "tell no one"}'
    sagemaker.record({"ModelPackageArn": ARN, "ModelCard": {"ModelCardContent": declared,
                                                            "ModelCardStatus": "Approved"}})
    sagemaker.describe(described(ModelCard={"ModelCardContent": edited, "ModelCardStatus": "Approved"}))
    handle(state_change(), Context(), sagemaker.services())
    [line] = drift_lines(logs)
    assert line["declared"]["ModelCardContent"] == f"<redacted: {len(declared)} characters>"
    assert line["live"]["ModelCardContent"] == f"<redacted: {len(edited)} characters>"
    assert "secret-edit" not in logs.text() and "ml-platform" not in logs.text()


def test_a_package_deleted_out_of_band_drifts_every_item(sagemaker: SageMakerStub, logs: LogCapture) -> None:
    sagemaker.record(DECLARED)
    sagemaker.describe_error(ARN, "ValidationException", f"Model package {ARN} does not exist.")
    result = handle(state_change(), Context(), sagemaker.services())
    assert {d["item"]: d["live"] for d in result["Drift"]} == {
        "ModelApprovalStatus": None, "metadata approved-by": None, "metadata ticket": None}
    assert any(line["message"].startswith("A managed package no longer exists") for line in lines(logs))


def test_the_package_is_described_as_the_role_its_resources_used(sagemaker: SageMakerStub) -> None:
    # GIVEN a package whose only resource calls through RoleArn
    sagemaker.record(DECLARED)
    record = sagemaker.table.records[ARN]
    [resource] = record.ownership.resources
    sagemaker.table.records[ARN] = record.__class__(
        ARN, record.version, record.ownership.with_resource(resource, ResourceInfo(created="c", role=ROLE)))
    sagemaker.describe(described(ModelApprovalStatus="Approved", metadata=APPROVED))
    handle(state_change(), Context(), sagemaker.services())
    # THEN it is described as that role, for that resource
    [gateway] = sagemaker.gateways
    assert gateway.role is not None and gateway.role.arn == ROLE
    # AND with the function's own role when any resource on it used that
    sagemaker.table.records[ARN] = record
    sagemaker.describe(described(ModelApprovalStatus="Approved", metadata=APPROVED))
    handle(state_change(), Context(), sagemaker.services())
    assert sagemaker.gateways[-1].role is None


BAD_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("another SageMaker event", {"detail-type": "SageMaker Endpoint State Change"}),
    ("another source", {"source": "aws.s3"}),
    ("a scheduled event", {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}),
    ("no detail", {"detail": None}),
    ("detail not a map", {"detail": ["x"]}),
    ("no ARN", {"detail": {"ModelPackageGroupName": "churn"}}),
    ("a malformed ARN", {"detail": {"ModelPackageArn": "arn:aws:sagemaker:eu-west-1:123456789012:model/churn"}}),
    ("an ARN of a number", {"detail": {"ModelPackageArn": 7}}),
    ("a region in no partition",
     {"detail": {"ModelPackageArn": "arn:aws:sagemaker:xx-nowhere-9:123456789012:model-package/churn/2"}}),
    ("a package in another account", {"account": "999999999999"}),
    ("no account", {"account": None}),
]


@pytest.mark.parametrize(("name", "overrides"), BAD_EVENTS, ids=[b[0] for b in BAD_EVENTS])
def test_an_event_of_another_shape_is_logged_and_ignored(
    name: str, overrides: dict[str, Any], sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sagemaker.record(DECLARED)  # even for a managed package
    event = state_change(ResponseURL=receiver.url())
    event.update(overrides)
    result = handle(event, Context(), sagemaker.services())
    assert result["DriftCheck"] is False and result["Ignored"], f"Test {name!r} got {result!r}"
    [line] = [line for line in lines(logs) if line["message"] == "Event ignored"]
    assert line["level"] == "WARNING" and line["reason"].startswith("Invalid event")
    assert sagemaker.gateways == [] and receiver.attempts == 0
    assert metric_lines(capsys.readouterr().out) == []


@pytest.mark.parametrize("failure", ["table", "describe", "crash"])
def test_a_failure_is_logged_and_never_raised(
    failure: str, sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture
) -> None:
    sagemaker.record(DECLARED)
    services = sagemaker.services()
    if failure == "table":
        sagemaker.table.down.add("read")
    elif failure == "describe":
        sagemaker.describe_error(ARN, "AccessDeniedException", "not authorized")
    else:
        def broken(*args: Any) -> Any:
            raise RuntimeError("boom")

        services = services.__class__(sagemaker=broken, records=services.records)
    result = handle(state_change(ResponseURL=receiver.url()), Context(), services)
    assert result["DriftCheck"] is False and result["Ignored"].startswith("not checked")
    [line] = [line for line in lines(logs) if line["message"] == "Drift not checked"]
    assert line["level"] == "ERROR" and line["ModelPackageArn"] == ARN
    assert receiver.attempts == 0


def test_an_event_is_told_from_cloudformations_by_its_shape(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # A CloudFormation event that also carries a "source" key is still CloudFormation's.
    sagemaker.describe(described())
    sagemaker.update(ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform",
                     CustomerMetadataProperties=APPROVED)
    body = invoke(load_event("create", receiver.url(), source="aws.sagemaker"), receiver)
    assert body["Status"] == "SUCCESS"
