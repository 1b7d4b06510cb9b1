"""Faults injected at the HTTP level, in the local registry and in the ResponseURL
receiver. For each: the outcome, the attempts, exactly one terminal response where
one could be sent, and that it was sent before the Lambda's deadline."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app import lambda_handler
from devkit.receiver import ResponseReceiver
from devkit.registry import Fault, LocalRegistry
from devkit.runner import Lifecycle, Played
from tests.helpers import Context
from tests.reliability import stats
from tests.reliability.controlled import ControlledLifecycle, OnCalls, OnRequests, differences, image, managed, records

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
    # Operations whose count in `attempts` is a minimum: retried until the deadline,
    # their number depends on the jitter's draws.
    at_least: tuple[str, ...] = ()


ROWS = [
    # More than botocore's standard 3 attempts: throttling is retried within the event's time.
    Row("ThrottlingException x5 on update", [Fault("throttle", "UpdateModelPackage", 5)], "SUCCESS",
        {"DescribeModelPackage": 1, "UpdateModelPackage": 6}),
    # A 10 s Lambda: a 7.8 s window, each attempt budgeted 1 s and one kept for a revert,
    # waits of at most 1, 2, 2 s: more than 3 attempts, then Timed out before the response is due.
    Row("ThrottlingException, persistent (10 s Lambda)", [Fault("throttle", "UpdateModelPackage", 999)],
        "Timed out at CustomerMetadataProperties, ModelApprovalStatus: UpdateModelPackage throttled "
        "(ThrottlingException) until no time was left", {"UpdateModelPackage": 4}, timeout_ms=10_000,
        at_least=("UpdateModelPackage",)),
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
    # A 4 s Lambda: a 2.8 s window, so each attempt reads within 0.2 s; read timeouts are
    # retried (a transient error) until one attempt is left for a revert.
    Row("slow until past the deadline (4 s Lambda)", [Fault("slow", "DescribeModelPackage", 999, 30.0)],
        "Timed out", {"DescribeModelPackage": 4}, timeout_ms=4_000, at_least=("DescribeModelPackage",)),
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
    assert made == {op: max(n, made[op]) if op in row.at_least else n for op, n in row.attempts.items()}
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


# --- Atomic events: refusals at any call, reverts, the prior-state table, time -----------
# Each plays through the runner (a failed Create is followed by CloudFormation's Delete
# of its id) against the reliability seed, and checks the package after every event.

RELIABILITY_SEED = Path(__file__).resolve().parent / "registry.yaml"
CENTRAL_SEED = Path(__file__).resolve().parents[2] / "devkit" / "demo" / "central-registry.yaml"
ROLE = "arn:aws:iam::111122223333:role/model-registry-governor"
OLD_SPEC = {"Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/model:old"}]}
NEW_SPEC = {"Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/model:new"}]}
# SageMaker takes SourceUri and InferenceSpecification only in separate calls: two calls.
TWO_CALLS = {"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved", "ApprovalDescription": "CAB-1",
             "CustomerMetadataProperties": {"ticket": "CAB-1"}, "InferenceSpecification": NEW_SPEC,
             "SourceUri": "s3://models/churn/2"}


@pytest.fixture
def controlled(registry: LocalRegistry, receiver: ResponseReceiver) -> ControlledLifecycle:
    labels = registry.seed(RELIABILITY_SEED)
    arn = labels["churn/2"]
    # The pipeline registered it with an inference specification (the seed's lacks one
    # that describe returns): a changed specification can then be given back.
    registry.client_of(arn).update_model_package(ModelPackageArn=arn, InferenceSpecification=OLD_SPEC)
    stack = ControlledLifecycle(registry, receiver, labels, cold=False, timeout_ms=20_000,
                                packages=list(labels.values()))
    registry.reset_counts()
    return stack


ORDER = ("AssumeRole", "DescribeModelPackage", "GetItem", "PutItem", "UpdateModelPackage", "DeleteItem")


def _record(name: str, played: Played, outcome: str, elapsed: float, deadline: float = 20.0) -> None:
    """A row of the report: the calls of the faulted event only (not of the Delete the
    runner plays after a failed Create)."""
    ops = sorted(played.calls, key=lambda op: ORDER.index(op) if op in ORDER else len(ORDER))
    calls = ", ".join(f"{op.replace('ModelPackage', '')} {played.calls[op]}" for op in ops)
    stats.FAULTS.append({"fault": name, "outcome": outcome[:60], "attempts": calls or "none", "PUTs": 1,
                         "responses": 1, "seconds": round(elapsed, 2), "deadline": deadline})


def _reason(played: Played) -> str:
    return str((played.response or {}).get("Reason", ""))


def _timed_create(stack: ControlledLifecycle, properties: dict[str, Any]) -> tuple[Played, float]:
    """The Create (and the runner's Delete after a failed one); the seconds until the
    Create's own response arrived."""
    started = time.monotonic()
    played = stack.create(properties, expect=None)
    answered = [r.at for r in stack.receiver.received if r.json()["RequestId"] == played.event["RequestId"]]
    assert len(answered) == 1
    return played, answered[0] - started


def test_refusal_on_the_last_call_reverts_the_first(controlled: ControlledLifecycle) -> None:
    arn = controlled.labels["churn/2"]
    before = image(controlled.describe(arn))
    controlled.arm(OnCalls("UpdateModelPackage", {2: "denied"}))
    played, elapsed = _timed_create(controlled, TWO_CALLS)
    assert played.status == "FAILED"
    assert _reason(played).startswith("Access denied at ModelPackageArn"), _reason(played)
    assert played.response["PhysicalResourceId"].startswith("failed-create/")  # type: ignore[index]
    # The first call applied, the second (with the approval) refused, one call reverted the first.
    assert played.calls.get("UpdateModelPackage") == 3
    # One read, the lease with its intent, and the lease given back.
    assert (played.calls.get("BatchGetItem"), played.calls.get("PutItem")) == (1, 2)
    assert differences(before, image(controlled.describe(arn))) == []
    assert controlled.violations == [] and controlled.failures == []
    assert managed(controlled.registry, controlled.logical_id) == []
    _record("refused on the last call (2-call Create)", played, _reason(played), elapsed)


def test_refusal_of_the_revert_says_so_and_the_delete_releases_the_package(
        controlled: ControlledLifecycle) -> None:
    arn = controlled.labels["churn/2"]
    before = image(controlled.describe(arn))
    # The second call (the declared SourceUri) fails with HTTP 500 on every attempt until no
    # time is left (a 6 s Lambda), then the reverts are refused.
    controlled.timeout_ms = 6_000
    controlled.arm(OnRequests("UpdateModelPackage", lambda n, params: None if n == 1 else (
        "http500" if params.get("SourceUri") == TWO_CALLS["SourceUri"] else "denied")))
    played, elapsed = _timed_create(controlled, TWO_CALLS)
    controlled.timeout_ms = 20_000
    reason = _reason(played)
    assert played.status == "FAILED"
    # The second call's outcome was unknown: the package described again shows it did not land
    # (the approval was never set); the first call's revert was refused.
    assert reason.startswith("Failed and not fully reverted at ModelApprovalStatus, SourceUri: left changed: "
                             "metadata ticket, ApprovalDescription, InferenceSpecification"), reason
    assert "SageMaker error: UpdateModelPackage failed: InternalFailure" in reason and len(reason) <= 256
    assert played.response["PhysicalResourceId"] == arn  # type: ignore[index]
    # applied, more than 3 attempts, a revert; the package described again after the unknown outcome
    assert played.calls.get("UpdateModelPackage", 0) >= 6 and played.calls.get("DescribeModelPackage") == 2
    # The record keeps what is left changed as the resource's: the Delete that follows reads
    # it and gives it back.
    delete = controlled.played[-1]
    assert delete.label == "delete (after the failed create)" and delete.status == "SUCCESS"
    assert delete.event["PhysicalResourceId"] == arn and delete.calls.get("UpdateModelPackage", 0) >= 1
    assert differences(before, image(controlled.describe(arn)), released=True) == []
    assert managed(controlled.registry, controlled.logical_id) == []
    assert controlled.failures == []
    _record("HTTP 500 on the last call until the deadline, then the revert refused (6 s Lambda)", played, reason,
            elapsed, 6.0)


def test_a_revert_refused_after_an_access_denied_still_says_what_is_left_changed(
        controlled: ControlledLifecycle) -> None:
    controlled.arm(OnCalls("UpdateModelPackage", {2: "denied", 3: "denied"}))
    played, _ = _timed_create(controlled, TWO_CALLS)
    reason = _reason(played)
    assert played.status == "FAILED", reason
    assert reason.startswith("Failed and not fully reverted at ModelPackageArn: left changed: "), reason
    assert played.response["PhysicalResourceId"] == controlled.labels["churn/2"]  # type: ignore[index]
    # The approval rides in the last call, the one refused: it was never sent, so never left.
    assert "metadata ticket" in reason and "ModelApprovalStatus" not in reason, reason


def test_throttling_during_the_revert_is_retried(controlled: ControlledLifecycle) -> None:
    arn = controlled.labels["churn/2"]
    before = image(controlled.describe(arn))
    controlled.arm(OnCalls("UpdateModelPackage", {2: "denied", 3: "throttle", 4: "throttle"}))
    played, elapsed = _timed_create(controlled, TWO_CALLS)
    assert played.status == "FAILED"
    assert _reason(played).startswith("Access denied at ModelPackageArn"), _reason(played)
    assert played.calls.get("UpdateModelPackage") == 5  # applied, refused, revert throttled twice, revert
    assert controlled.last_faults_fired == 3
    assert differences(before, image(controlled.describe(arn))) == []
    assert controlled.violations == [] and managed(controlled.registry, controlled.logical_id) == []
    _record("refused on the last call, revert throttled x2", played, _reason(played), elapsed)


def test_a_conflict_after_an_applied_call_is_replanned_and_applied(controlled: ControlledLifecycle) -> None:
    arn = controlled.labels["churn/2"]
    controlled.arm(OnCalls("UpdateModelPackage", {2: "conflict"}))
    played, _ = _timed_create(controlled, TWO_CALLS)
    live = controlled.describe(arn)
    if played.status == "SUCCESS":
        assert live["ModelApprovalStatus"] == "Approved"
        assert live["InferenceSpecification"] == NEW_SPEC
        assert (live.get("CustomerMetadataProperties") or {}).get("ticket") == "CAB-1"
    assert controlled.violations == []


@pytest.mark.parametrize("kind", ["denied", "down"])
@pytest.mark.parametrize("operation", ["BatchGetItem", "PutItem"])
def test_table_refused_or_down_before_the_change_fails_with_no_update(controlled: ControlledLifecycle,
                                                                      operation: str, kind: str) -> None:
    arn = controlled.labels["churn/2"]
    before = image(controlled.describe(arn))
    controlled.arm(Fault(kind, operation, 99))
    played, elapsed = _timed_create(controlled, PROPS)
    assert played.status == "FAILED"
    assert "UpdateModelPackage" not in played.calls
    assert differences(before, image(controlled.describe(arn))) == []
    assert managed(controlled.registry) == []
    _record(f"DynamoDB {operation} {'AccessDenied' if kind == 'denied' else 'down'} (before the change)",
            played, _reason(played), elapsed)
    if kind == "denied":
        assert _reason(played).startswith(f"Prior-state table error at PRIOR_STATE_TABLE: "
                                          f"{controlled.registry.table_name}: {operation} failed"), _reason(played)


@pytest.mark.parametrize("operation", ["BatchGetItem", "PutItem"])
def test_table_down_is_named_in_the_reason(controlled: ControlledLifecycle, operation: str) -> None:
    controlled.arm(Fault("down", operation, 99))
    played, _ = _timed_create(controlled, PROPS)
    assert _reason(played).startswith("Prior-state table error at PRIOR_STATE_TABLE"), _reason(played)


def test_table_down_for_the_confirmation_leaves_an_intent_the_next_event_settles(
        controlled: ControlledLifecycle) -> None:
    """The Delete leases the record with its intent, releases the package, then cannot
    confirm (PutItem unreachable): it answers SUCCESS, since the release landed and the
    record's intent says so; the next event on the package, once the lease has expired,
    settles it from the live package: the resource manages nothing any more."""
    arn = controlled.labels["churn/2"]
    before = image(controlled.describe(arn))
    controlled.create(PROPS)
    controlled.arm(Fault("down", "PutItem", 99, after=1))  # the lease goes through, the confirmation not
    controlled.timeout_ms = 4_000  # its lease expires with its deadline
    started = time.monotonic()
    played = controlled.delete(expect="SUCCESS")
    elapsed = time.monotonic() - started
    controlled.timeout_ms = 20_000
    assert played.calls.get("UpdateModelPackage") == 1  # the release, not reverted
    assert differences(before, image(controlled.describe(arn)), released=True) == []
    [record] = records(controlled.registry).values()
    assert record.lease is not None and managed(controlled.registry, controlled.logical_id) != []
    _record("DynamoDB PutItem down (Delete, the confirmation)", played, "SUCCESS", elapsed, deadline=4.0)
    # The next event on the package (another resource's Create) settles the intent.
    other = ControlledLifecycle(controlled.registry, controlled.receiver, controlled.labels, cold=False,
                                timeout_ms=20_000, logical_id="Other", packages=[arn])
    other.create({"ModelPackageArn": "churn/2", "CustomerMetadataProperties": {"other": "o"}})
    assert managed(controlled.registry, controlled.logical_id) == []
    assert records(controlled.registry)[arn].lease is None


@pytest.fixture
def central(registry: LocalRegistry, receiver: ResponseReceiver) -> ControlledLifecycle:
    labels = registry.seed(CENTRAL_SEED)
    registry.reset_counts()
    return ControlledLifecycle(registry, receiver, labels, cold=False, timeout_ms=20_000,
                               packages=[labels["fraud/1"], labels["churn/2"]])


@pytest.mark.parametrize("kind", ["denied", "throttle"])
def test_sts_refusing_the_role_fails_naming_role_arn_with_no_sagemaker_call(central: ControlledLifecycle,
                                                                          kind: str) -> None:
    # AssumeRole comes before any change: a throttle is retried until the deadline (a 10 s Lambda here).
    central.timeout_ms = 10_000 if kind == "throttle" else 20_000
    central.arm(Fault(kind, "AssumeRole", 999))
    played, elapsed = _timed_create(central, {"ModelPackageArn": "fraud/1", "ModelApprovalStatus": "Approved",
                                              "RoleArn": ROLE})
    reason = _reason(played)
    assert played.status == "FAILED" and reason.startswith("Cannot assume role at RoleArn"), reason
    assert not any(op.endswith("ModelPackage") for op in played.calls)
    if kind == "denied":
        assert played.calls.get("AssumeRole") == 1  # a refusal is not retried
    else:
        assert played.calls.get("AssumeRole", 0) >= 4  # a throttle is, more than botocore's 3 attempts
    assert central.violations == []
    _record(f"STS AssumeRole {'AccessDenied' if kind == 'denied' else 'Throttling, persistent (10 s Lambda)'} "
            "(RoleArn)", played, reason, elapsed, central.timeout_ms / 1000)


def test_sagemaker_access_denied_names_the_three_fixes(central: ControlledLifecycle) -> None:
    # fraud/1's group grants the function's account nothing.
    played, elapsed = _timed_create(central, {"ModelPackageArn": "fraud/1", "ModelApprovalStatus": "Approved"})
    reason = _reason(played)
    assert played.status == "FAILED" and reason.startswith("Access denied at ModelPackageArn"), reason
    assert "resource policy" in reason and "RegistryAccountIds" in reason and "RoleArn" in reason
    assert "UpdateModelPackage" not in played.calls and central.violations == []
    _record("SageMaker AccessDenied (no grant, no RoleArn)", played, reason, elapsed)
