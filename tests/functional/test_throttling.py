"""Throttling absorbed within the event's time (SPEC, At scale). SageMaker answers at
botocore's HTTP layer (its `before-send` event), so that the clients' real retry path
runs: the needs-retry policy, the budget checked before every attempt, the same
request re-sent. The prior-state table is the in-memory one."""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from app import handle
from devkit.receiver import ResponseReceiver
from model_package_resource import clients
from model_package_resource.invocation import Services, default_services
from tests.fakes import MemoryRecords
from tests.helpers import ARN, Context, load_event

THROTTLED = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
LIVE = {
    "ModelPackageName": "churn", "ModelPackageGroupName": "churn", "ModelPackageVersion": 2, "ModelPackageArn": ARN,
    "CreationTime": 1.79e9, "ModelPackageStatus": "Completed", "ModelPackageStatusDetails": {"ValidationStatuses": []},
    "ModelApprovalStatus": "PendingManualApproval", "CustomerMetadataProperties": {"pipeline": "p"},
    "InferenceSpecification": {"Containers": [{"Image": "img:old"}], "SupportedContentTypes": ["text/csv"],
                               "SupportedResponseMIMETypes": ["text/csv"]},
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@dataclasses.dataclass
class ScriptedSageMaker:
    """SageMaker on the wire: `answer(operation, params, nth)` gives each request's
    (HTTP status, JSON body); every request is kept, in order."""

    answer: Callable[[str, dict[str, Any], int], tuple[int, dict[str, Any]]]
    requests: list[tuple[str, dict[str, Any]]] = dataclasses.field(default_factory=list)

    def attach(self, made: Any) -> Any:
        made.meta.events.register("before-send.sagemaker", self._send, unique_id="scripted-sagemaker")
        return made

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().rpartition(".")[2]
        params = json.loads(request.body or b"{}")
        nth = 1 + sum(1 for op, _ in self.requests if op == operation)
        self.requests.append((operation, params))
        status, body = self.answer(operation, params, nth)
        headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": f"r-{len(self.requests)}"}
        return AWSResponse(request.url, status, headers, _Raw(json.dumps(body).encode()))

    def count(self) -> Counter[str]:
        return Counter(op for op, _ in self.requests)

    def updates(self) -> list[dict[str, Any]]:
        return [params for op, params in self.requests if op == "UpdateModelPackage"]


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Waits of at most 50 ms, so that a throttled test takes tenths of a second."""
    monkeypatch.setattr("model_package_resource.timing.RETRY_CAP", 0.05)
    clients.clear()
    yield
    clients.clear()


def _services(sagemaker: ScriptedSageMaker, table: MemoryRecords) -> Services:
    def make_client(service: str, region: str, deadline: Any, credentials: Any = None) -> Any:
        return sagemaker.attach(clients.client(service, region, deadline, credentials))

    return dataclasses.replace(default_services(make_client), records=lambda deadline: table)


def _play(event: dict[str, Any], receiver: ResponseReceiver, services: Services, remaining_ms: int) -> dict[str, Any]:
    started = time.monotonic()
    handle(event, Context(remaining_ms), services)
    bodies = receiver.bodies()
    assert len(bodies) == 1
    assert receiver.received[0].at - started < remaining_ms / 1000
    return bodies[0]


def test_throttling_on_every_call_for_a_while_then_success(short_waits: None, receiver: ResponseReceiver) -> None:
    # GIVEN a SageMaker that throttles the first 8 requests of each operation
    def answer(operation: str, params: dict[str, Any], nth: int) -> tuple[int, dict[str, Any]]:
        if nth <= 8:
            return THROTTLED
        return 200, (LIVE if operation == "DescribeModelPackage" else {"ModelPackageArn": ARN})

    sagemaker, table = ScriptedSageMaker(answer), MemoryRecords()
    # WHEN a Create is played (botocore's standard mode would give up after 3 attempts)
    body = _play(load_event("create", receiver.url()), receiver, _services(sagemaker, table), 30_000)
    # THEN it succeeds, each call retried past its throttling
    assert body["Status"] == "SUCCESS", body.get("Reason")
    assert sagemaker.count() == {"DescribeModelPackage": 9, "UpdateModelPackage": 9}
    # AND every retry re-sent the same request, ClientToken included: SageMaker applies the call once
    updates = sagemaker.updates()
    assert all(update == updates[0] for update in updates) and "ClientToken" in updates[0]


def test_throttling_until_the_deadline_fails_timed_out_with_the_package_as_found(
        short_waits: None, receiver: ResponseReceiver) -> None:
    # GIVEN a Create of two calls (SourceUri cannot go with InferenceSpecification), whose
    # second SageMaker throttles for ever; the first applies, and so would its revert
    def answer(operation: str, params: dict[str, Any], nth: int) -> tuple[int, dict[str, Any]]:
        if operation == "DescribeModelPackage":
            return 200, LIVE
        return THROTTLED if "SourceUri" in params else (200, {"ModelPackageArn": ARN})

    event = load_event("create", receiver.url())
    event["ResourceProperties"]["InferenceSpecification"] = {"Containers": [{"Image": "img:new"}]}
    event["ResourceProperties"]["SourceUri"] = "s3://models/churn/2"
    sagemaker, table = ScriptedSageMaker(answer), MemoryRecords()
    # WHEN it is played in a 5 s Lambda (a 3.8 s window; each attempt budgeted 0.4 s)
    body = _play(event, receiver, _services(sagemaker, table), 5_000)
    # THEN it answers FAILED, timed out while throttled, naming the throttled call's properties
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(
        "Timed out at ModelApprovalStatus, SourceUri: UpdateModelPackage throttled (ThrottlingException) "
        "until no time was left"), body
    # AND the throttled call was retried many times, not 3
    throttled = [u for u in sagemaker.updates() if "SourceUri" in u]
    assert len(throttled) > 10
    # AND the time kept for a revert was enough: the applied first call was reverted last; the
    # approval, in the throttled last call, was never set
    first, revert = sagemaker.updates()[0], sagemaker.updates()[-1]
    assert "ModelApprovalStatus" not in first and first["InferenceSpecification"]["Containers"][0]["Image"] == "img:new"
    assert "ModelApprovalStatus" not in revert
    assert revert["InferenceSpecification"]["Containers"][0]["Image"] == "img:old"
    assert sorted(revert["CustomerMetadataPropertiesToRemove"]) == ["approved-by", "ticket"]
    # AND the record's lease is given back, naming nothing new, and no Create's ARN is kept
    assert table.records[ARN].lease is None and table.records[ARN].ownership.entries == {}
    assert body["PhysicalResourceId"].startswith("failed-create/")


def test_a_refusal_is_answered_at_once(short_waits: None, receiver: ResponseReceiver) -> None:
    def answer(operation: str, params: dict[str, Any], nth: int) -> tuple[int, dict[str, Any]]:
        if operation == "DescribeModelPackage":
            return 200, LIVE
        return 400, {"__type": "ValidationException", "message": "refused"}

    sagemaker = ScriptedSageMaker(answer)
    body = _play(load_event("create", receiver.url()), receiver, _services(sagemaker, MemoryRecords()), 30_000)
    assert body["Reason"].startswith("SageMaker error at "), body
    assert sagemaker.count() == {"DescribeModelPackage": 1, "UpdateModelPackage": 1}
