"""Faults injected at the HTTP level, in the local registry and in the ResponseURL
receiver. For each: the outcome, the attempts, exactly one terminal response where
one could be sent, and that it was sent before the Lambda's deadline."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from app import lambda_handler
from devkit.receiver import ResponseReceiver
from devkit.registry import Fault, LocalRegistry
from devkit.runner import Lifecycle
from tests.helpers import Context
from tests.reliability import stats

PROPS = {"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
         "CustomerMetadataProperties": {"ticket": "CAB-1234"}}


@dataclass
class Row:
    name: str
    faults: list[Fault]
    outcome: str  # SUCCESS, or the start of the FAILED Reason
    attempts: dict[str, int]  # requests that reached the registry, per operation
    timeout_ms: int = 20_000
    response_failures: int = 0  # the receiver answers this many PUTs with HTTP 500 first
    read_timeout: int = 10  # the SageMaker client's read timeout, seconds


ROWS = [
    Row("ThrottlingException x2 on update", [Fault("throttle", "UpdateModelPackage", 2)], "SUCCESS",
        {"DescribeModelPackage": 1, "UpdateModelPackage": 3}),
    Row("ThrottlingException, persistent", [Fault("throttle", "UpdateModelPackage", 99)],
        "SageMaker error at CustomerMetadataProperties, ModelApprovalStatus: UpdateModelPackage failed: ThrottlingException", {"UpdateModelPackage": 3}),
    Row("ConflictException x1 on update", [Fault("conflict", "UpdateModelPackage", 1)], "SUCCESS",
        {"DescribeModelPackage": 2, "UpdateModelPackage": 2}),
    Row("ConflictException, persistent", [Fault("conflict", "UpdateModelPackage", 99)],
        "SageMaker error at CustomerMetadataProperties, ModelApprovalStatus: UpdateModelPackage failed: ConflictException",
        {"DescribeModelPackage": 3, "UpdateModelPackage": 3}),
    Row("HTTP 500 x2 on describe", [Fault("http500", "DescribeModelPackage", 2)], "SUCCESS",
        {"DescribeModelPackage": 3, "UpdateModelPackage": 1}),
    Row("HTTP 503 x2 on update", [Fault("http503", "UpdateModelPackage", 2)], "SUCCESS",
        {"DescribeModelPackage": 1, "UpdateModelPackage": 3}),
    Row("connection reset x1", [Fault("reset", "DescribeModelPackage", 1)], "SUCCESS",
        {"DescribeModelPackage": 2, "UpdateModelPackage": 1}),
    Row("read timeout x1 (slow 2 s, 1 s read timeout)", [Fault("slow", "DescribeModelPackage", 1, 2.0)],
        "SUCCESS", {"DescribeModelPackage": 2, "UpdateModelPackage": 1}, read_timeout=1),
    # A 4 s Lambda: a 3 s window, so each attempt reads within 0.3 s, and 3 attempts fit.
    Row("slow until past the deadline (4 s Lambda)", [Fault("slow", "DescribeModelPackage", 99, 30.0)],
        "Timed out", {"DescribeModelPackage": 3}, timeout_ms=4_000),
    Row("ResponseURL fails x2, then succeeds", [], "SUCCESS", {"DescribeModelPackage": 1, "UpdateModelPackage": 1},
        response_failures=2),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_fault(row: Row, registry: LocalRegistry, receiver: ResponseReceiver, labels: dict[str, str],
               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("model_package_resource.timing.READ_TIMEOUT", row.read_timeout)
    lifecycle = Lifecycle(registry, receiver, labels, cold=False, timeout_ms=row.timeout_ms)
    registry.reset_counts()
    registry.inject(*row.faults)
    receiver.fail_next = row.response_failures
    started = time.monotonic()
    played = lifecycle.create(PROPS, expect=None)
    elapsed = time.monotonic() - started
    # The Create's own responses (a failed Create is followed by the runner's Delete)
    answers = [r for r in receiver.received if r.json()["RequestId"] == played.event["RequestId"]]
    responses = len(answers)

    assert responses == 1
    assert answers[0].at - started < row.timeout_ms / 1000
    reason = (played.response or {}).get("Reason", "")
    assert (played.status == "SUCCESS") if row.outcome == "SUCCESS" else reason.startswith(row.outcome), reason
    made = {op: registry.requests.get(op, 0) for op in row.attempts}
    assert made == row.attempts
    assert receiver.attempts == row.response_failures + len(receiver.received)
    stats.FAULTS.append({"fault": row.name, "outcome": played.status if row.outcome == "SUCCESS" else reason[:60],
                         "attempts": ", ".join(f"{op.replace('ModelPackage', '')} {n}" for op, n in made.items()),
                         "PUTs": receiver.attempts - (len(receiver.received) - responses), "responses": responses,
                         "seconds": round(elapsed, 2), "deadline": row.timeout_ms / 1000})


def test_response_url_down(registry: LocalRegistry, labels: dict[str, str], receiver: ResponseReceiver,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on the port: every PUT is refused; retries are bounded in count and time.
    for name, value in registry.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALLOWED_RESPONSE_HOSTS", "127.0.0.1")
    closed_port = _closed_port()
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "RequestType": "Create", "RequestId": request_id, "StackId": "arn:aws:cloudformation:eu-west-1:1:stack/s/1",
        "LogicalResourceId": "Approve", "ResponseURL": f"https://127.0.0.1:{closed_port}/r?X-Amz-Signature=s",
        "ResourceProperties": {"ModelPackageArn": labels["churn/2"], "ModelApprovalStatus": "Approved"},
    }
    from model_package_resource import clients

    clients.clear()
    started = time.monotonic()
    result = lambda_handler(event, Context(6_000))
    elapsed = time.monotonic() - started
    clients.clear()
    assert result["Sent"] is False and result["Status"] == "SUCCESS"
    assert 1 < result["Attempts"] <= 5
    assert elapsed < 6.0
    stats.FAULTS.append({"fault": "ResponseURL down (connection refused)", "outcome": "not delivered",
                         "attempts": "Describe 1, Update 1", "PUTs": result["Attempts"], "responses": 0,
                         "seconds": round(elapsed, 2), "deadline": 6.0})
    os.environ.pop("AWS_ENDPOINT_URL_SAGEMAKER", None)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
