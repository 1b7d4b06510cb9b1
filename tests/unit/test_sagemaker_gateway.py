"""The SageMaker gateway on its own: a fake client, no network. Service and transport
errors become domain errors; a package in progress is waited for within the deadline;
each plan's calls carry their own ClientToken."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from model_package_resource.arns import parse_package_arn, parse_role_arn
from model_package_resource.errors import (
    AccessDenied,
    ConcurrentUpdate,
    PackageUnavailable,
    Refused,
    SageMakerError,
    TimedOut,
)
from model_package_resource.sagemaker import SageMakerGateway
from model_package_resource.timing import Deadline
from tests.helpers import ARN

PACKAGE = parse_package_arn(ARN)


class FakeClient:
    class exceptions:  # noqa: N801 - botocore's attribute name
        ClientError = ClientError

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, operation: str, params: dict[str, Any]) -> Any:
        params.pop("__deadline", None)
        self.calls.append((operation, params))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def describe_model_package(self, **params: Any) -> Any:
        return self._answer("describe", params)

    def update_model_package(self, **params: Any) -> Any:
        return self._answer("update", params)


def refused(code: str, message: str = "no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "UpdateModelPackage")


def gateway(client: FakeClient, role: Any = None, slept: list[float] | None = None) -> SageMakerGateway:
    return SageMakerGateway(client, Deadline.within(60), "r-1", PACKAGE, role,
                            sleep=(slept.append if slept is not None else lambda s: None))


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (refused("ConflictException"), ConcurrentUpdate, "UpdateModelPackage failed: ConflictException"),
        (refused("ValidationException", "bad"), Refused, "SageMaker error at ModelApprovalStatus: UpdateModelPackage refused"),
        # Missing means missing: only DescribeModelPackage says so; an update's "does not exist" is a refusal.
        (refused("ValidationException", "Model package does not exist"), Refused, "does not exist"),
        # throttling is retried until no time is left to retry: then it timed out
        (refused("ThrottlingException", "Rate exceeded"), TimedOut, "throttled (ThrottlingException) until no time"),
        (refused("AccessDeniedException"), AccessDenied, "RegistryAccountIds"),
        # Throttling reaches the gateway only once the retries found no more time (retry.py)
        (refused("ThrottlingException", "Rate exceeded"), TimedOut,
         "Timed out at ModelApprovalStatus: UpdateModelPackage throttled (ThrottlingException) until no time was left"),
        (ReadTimeoutError(endpoint_url="https://x"), TimedOut, "did not answer in time"),
        (ConnectionClosedError(endpoint_url="https://x"), SageMakerError, "could not be reached"),
    ],
)
def test_each_failure_becomes_a_domain_error(error: Exception, kind: type, text: str) -> None:
    with pytest.raises(kind) as raised:
        gateway(FakeClient(error)).update({"ModelPackageArn": ARN, "ModelApprovalStatus": "Approved"})
    assert text in str(raised.value)


def test_access_denied_through_a_role_names_the_role() -> None:
    role = parse_role_arn("arn:aws:iam::111122223333:role/governor", PACKAGE)
    with pytest.raises(AccessDenied, match="as role governor of 111122223333"):
        gateway(FakeClient(refused("AccessDeniedException")), role).describe()


@pytest.mark.parametrize("message", [
    f"ModelPackage {ARN} does not exist.",  # SageMaker's wording, as its Kubernetes controller expects it
    f"Could not find model package {ARN}",  # as the SageMaker Python SDK expects it
    "Model package churn/2 not found",  # the local registry (moto)
    f"The model package '{ARN}' was not found.",
    "ModelPackage does not exist",
])
def test_a_package_is_missing_only_when_describe_says_that_package_does_not_exist(message: str) -> None:
    assert gateway(FakeClient(refused("ValidationException", message))).describe() is None


@pytest.mark.parametrize("message", [
    "Image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/model:1 not found",
    "Model data s3://bucket/model.tar.gz does not exist",
    # The package named, but as where the missing image, artifact or key belongs
    f"Image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1.4 referenced by model package {ARN} not found",
    f"Could not find the ECR image for ModelPackage {ARN}",
    "Model artifact s3://bucket/model.tar.gz of the model package could not be found",
    "The KMS key for this model package was not found",
    # Another package missing (a source this one refers to) is not this one
    f"ModelPackage {ARN.replace('/2', '/1')} does not exist.",
])
def test_any_other_not_found_is_a_refusal_not_a_missing_package(message: str) -> None:
    with pytest.raises(Refused, match="DescribeModelPackage refused"):
        gateway(FakeClient(refused("ValidationException", message))).describe()


def test_a_missing_package_describes_as_none_and_waiting_stops_on_unusable_states() -> None:
    assert gateway(FakeClient(refused("ValidationException", "ModelPackage does not exist"))).describe() is None
    with pytest.raises(PackageUnavailable, match="Failed"):
        gateway(FakeClient({"ModelPackageStatus": "Failed"})).describe_ready()


def test_a_package_in_progress_is_waited_for_with_growing_pauses() -> None:
    slept: list[float] = []
    client = FakeClient({"ModelPackageStatus": "Pending"}, {"ModelPackageStatus": "InProgress"},
                        {"ModelPackageStatus": "Completed", "ModelPackageArn": ARN})
    assert gateway(client, slept=slept).describe_ready()["ModelPackageStatus"] == "Completed"
    assert slept == [1.0, 2.0]


def test_waiting_stops_when_the_budget_has_no_room_for_another_describe() -> None:
    short = SageMakerGateway(FakeClient({"ModelPackageStatus": "InProgress"}), Deadline.within(1.2), "r", PACKAGE)
    with pytest.raises(TimedOut, match="still InProgress"):
        short.describe_ready()


def test_calls_of_one_plan_share_the_plans_part_of_the_token_and_a_new_plan_gets_another() -> None:
    call = {"ModelPackageArn": ARN, "ModelApprovalStatus": "Approved"}
    client = FakeClient({"ModelPackageStatus": "Completed"}, {}, {}, {"ModelPackageStatus": "Completed"}, {})
    made = gateway(client)
    made.describe()
    made.update(call)
    made.update(call)  # botocore's retry of one call would carry the same token
    made.describe()  # a new plan
    made.update(call)
    tokens = [params["ClientToken"] for operation, params in client.calls if operation == "update"]
    assert tokens[0] == tokens[1] != tokens[2]
