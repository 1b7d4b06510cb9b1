from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from model_package_resource.sagemaker import client_for
from tests.helpers import ARN


def described(arn: str = ARN, metadata: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    """A DescribeModelPackage response, as SageMaker gives it."""
    group, _, version = arn.rpartition(":model-package/")[2].partition("/")
    response: dict[str, Any] = {
        "ModelPackageName": group,
        "ModelPackageGroupName": group,
        "ModelPackageVersion": int(version or 1),
        "ModelPackageArn": arn,
        "CreationTime": datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "ModelApprovalStatus": "PendingManualApproval",
        **fields,
    }
    if metadata is not None:
        response["CustomerMetadataProperties"] = metadata
    return response


class SageMakerStub:
    """botocore's Stubber on the handler's own (cached) client for a region."""

    def __init__(self, stubbers: dict[str, Stubber]) -> None:
        self._stubbers = stubbers

    def _for(self, arn: str) -> Stubber:
        region = arn.split(":")[3]
        if region not in self._stubbers:
            stubber = Stubber(client_for(region))
            stubber.activate()
            self._stubbers[region] = stubber
        return self._stubbers[region]

    def describe(self, response: dict[str, Any]) -> None:
        arn = response["ModelPackageArn"]
        self._for(arn).add_response("describe_model_package", response, {"ModelPackageName": arn})

    def describe_error(self, arn: str, code: str, message: str) -> None:
        self._for(arn).add_client_error("describe_model_package", code, message,
                                        expected_params={"ModelPackageName": arn})

    def update(self, arn: str = ARN, **params: Any) -> None:
        self._for(arn).add_response("update_model_package", {"ModelPackageArn": arn},
                                    {"ModelPackageArn": arn, **params, "ClientToken": ANY})

    def update_error(self, arn: str, code: str, message: str) -> None:
        self._for(arn).add_client_error("update_model_package", code, message)


@pytest.fixture
def sagemaker() -> Iterator[SageMakerStub]:
    """GIVEN a SageMaker that answers exactly the queued calls; the test fails if
    the handler makes a call not queued or leaves one unmade."""
    stubbers: dict[str, Stubber] = {}
    yield SageMakerStub(stubbers)
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


@pytest.fixture
def describe_response() -> Callable[..., dict[str, Any]]:
    return described
