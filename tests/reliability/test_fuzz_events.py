"""Fuzzing whole events through lambda_handler. For every invocation: exactly one
response PUT (none for a ResponseURL off AWS), valid JSON, at most 4096 bytes, a
FAILED Reason of at most 256 characters that starts with its cause, no
UpdateModelPackage call on invalid input, no exception escapes, and the
ResponseURL never logged."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import handle
from devkit.receiver import ResponseReceiver
from model_package_resource.invocation import Services
from model_package_resource.sagemaker import SageMakerGateway
from tests.fakes import MemoryRecords
from tests.helpers import Context, LogCapture
from tests.reliability import stats
from tests.reliability.strategies import ARN, events, valid_events

CAUSES = ("Invalid property", "Unknown property", "Invalid event", "Metadata conflict",
          "Inference specification conflict", "Model package not found", "Model package unavailable",
          "SageMaker error", "Timed out", "Internal error", "Access denied", "Cannot assume role",
          "Prior-state table error", "Failed and not fully reverted")
INPUT_ERRORS = ("Invalid property", "Unknown property", "Invalid event")


class FakeSageMaker:
    """A SageMaker that holds one package (ARN) and records every call."""

    class exceptions:  # noqa: N801 - botocore's attribute name
        from botocore.exceptions import ClientError

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.describes = 0

    def describe_model_package(self, ModelPackageName: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        self.describes += 1
        if ModelPackageName != ARN:
            raise self.exceptions.ClientError(
                {"Error": {"Code": "ValidationException", "Message": f"{ModelPackageName} does not exist."}},
                "DescribeModelPackage")
        return {"ModelPackageArn": ARN, "ModelPackageName": "churn", "ModelPackageGroupName": "churn",
                "ModelPackageVersion": 2, "ModelPackageStatus": "Completed",
                "CreationTime": datetime.datetime(2026, 1, 1),
                "CustomerMetadataProperties": {"pipeline": "exec-2", "owner": "ds"}}

    def update_model_package(self, **request: Any) -> dict[str, Any]:
        request.pop("__deadline", None)
        self.updates.append(request)
        return {"ModelPackageArn": ARN}


@pytest.fixture
def fake() -> FakeSageMaker:
    return FakeSageMaker()


def services(fake: FakeSageMaker) -> Services:
    table = MemoryRecords()
    return Services(
        sagemaker=lambda package, role, deadline, request: SageMakerGateway(fake, deadline, "r", package, role),
        records=lambda deadline: table,
    )


URL = "https://127.0.0.1:1/placeholder"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=st.one_of(events(URL), valid_events(URL)))
def test_every_fuzzed_event_gets_one_clean_response(data: dict[str, Any], receiver: ResponseReceiver,
                                                    fake: FakeSageMaker, logs: LogCapture) -> None:
    receiver.clear()
    fake.updates.clear()
    fake.describes = 0
    url = receiver.url()  # once: it carries the second it was signed in
    event = {k: (url if v == URL else v) for k, v in data.items()}
    valid_url = event.get("ResponseURL") == url
    logs.stream.seek(0)
    logs.stream.truncate()

    handle(event, Context(10_000), services(fake))  # no exception escapes
    stats.COUNTS["events fuzzed"] += 1

    bodies = receiver.received
    if not valid_url:
        assert bodies == [] and receiver.attempts == 0
        assert fake.describes == 0 and fake.updates == []
        stats.COUNTS["events refused for their ResponseURL"] += 1
    else:
        assert len(bodies) == 1
        assert len(bodies[0].body) <= 4096
        body = json.loads(bodies[0].body)
        assert body["Status"] in ("SUCCESS", "FAILED")
        assert isinstance(body["PhysicalResourceId"], str) and body["PhysicalResourceId"]
        assert all(isinstance(v, str) for v in body["Data"].values())
        if body["Status"] == "FAILED":
            assert len(body["Reason"]) <= 256
            assert body["Reason"].startswith(CAUSES), body["Reason"]
            if body["Reason"].startswith(INPUT_ERRORS):
                assert fake.updates == []
        stats.COUNTS[f"events answered {body['Status']}"] += 1
    text = logs.text()
    assert "X-Amz-Signature" not in text and "/cfn-response" not in text
