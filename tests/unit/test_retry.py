"""The retry policy on its own: an injected clock, random source and sleep, no
network. Attempts end before the deadline less the time kept for a revert; the
jitter stays within its bounds; a refusal is never retried."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError
from hypothesis import given
from hypothesis import strategies as st

from model_package_resource.retry import RETRYING_SINCE, SLEEP_SLACK, RetryHook, RetryPolicy, is_throttling
from model_package_resource.shapes import session


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


@dataclass
class Deadline:
    """timing.Deadline's arithmetic on an injected clock."""

    clock: Clock
    ends: float
    attempt_seconds: float
    reverting: bool = False

    def work_remaining(self) -> float:
        kept = 0.0 if self.reverting else self.attempt_seconds
        return self.ends - self.clock() - kept


def play(policy: RetryPolicy, clock: Clock, deadline: Deadline, durations: list[float]) -> list[tuple[float, float]]:
    """A call throttled on every attempt: each attempt's (start, end), the attempt
    taking the next of `durations` (cycled), until the policy stops retrying."""
    attempts: list[tuple[float, float]] = []
    since = None
    while True:
        start = clock()
        clock.now += durations[len(attempts) % len(durations)]
        attempts.append((start, clock()))
        since = clock() if since is None else since
        wait = policy.delay(len(attempts), True, deadline, since)
        if wait is None:
            return attempts
        clock.sleep(wait)


@given(
    window=st.floats(1.0, 300.0),
    attempt_seconds=st.floats(0.2, 13.0),
    durations=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20),
    seed=st.integers(0, 2**32 - 1),
    cap=st.sampled_from([1.0, 2.0, 5.0, 20.0]),
    reverting=st.booleans(),
)
def test_every_attempt_ends_before_the_deadline_less_the_time_kept_for_a_revert(
    window: float, attempt_seconds: float, durations: list[float], seed: int, cap: float, reverting: bool
) -> None:
    # GIVEN a call throttled on every attempt, each attempt taking up to its connect + read timeouts
    clock = Clock()
    deadline = Deadline(clock, window, attempt_seconds, reverting)
    policy = RetryPolicy(cap=cap, random=random.Random(seed).random, clock=clock, sleep=clock.sleep)
    # WHEN it is retried as long as the policy allows
    attempts = play(policy, clock, deadline, [d * attempt_seconds for d in durations])
    # THEN no retry ends after the deadline less the revert's reserve (none kept during a revert)
    kept = 0.0 if reverting else attempt_seconds
    for start, _ in attempts[1:]:
        assert start + attempt_seconds <= window - kept + 1e-9
    # AND the policy gave up only when its wait and another attempt could not fit
    last_end = attempts[-1][1]
    assert window - kept - last_end < attempt_seconds + SLEEP_SLACK + min(cap, 2.0 ** (len(attempts) - 1)) + 1e-9


def test_a_call_is_retried_for_minutes_not_three_attempts() -> None:
    # GIVEN 235 s left (a 240 s Lambda), 13 s attempts, throttled answers in 50 ms
    clock = Clock()
    policy = RetryPolicy(cap=1.0, random=random.Random(7).random, clock=clock, sleep=clock.sleep)
    attempts = play(policy, clock, Deadline(clock, 235.0, 13.0), [0.05])
    # THEN it keeps trying until 13 s (the revert's reserve) + 13 s (one attempt) before the end
    assert len(attempts) > 300
    assert 235.0 - 26.0 - 1.1 <= attempts[-1][0] <= 235.0 - 26.0


@pytest.mark.parametrize(
    ("attempt", "throttled", "bound"),
    [(1, True, 1.0), (2, True, 2.0), (3, True, 4.0), (4, True, 5.0), (60, True, 5.0), (10_000, True, 5.0),
     (1, False, 0.05), (2, False, 0.1), (7, False, 3.2), (8, False, 5.0)],
)
def test_the_jitter_is_full_and_bounded_by_the_cap(attempt: int, throttled: bool, bound: float) -> None:
    # The largest draw reaches the bound min(cap, base * 2**(attempt-1)), the smallest is 0.
    highest = RetryPolicy(cap=5.0, random=lambda: 1.0)
    lowest = RetryPolicy(cap=5.0, random=lambda: 0.0)
    assert highest.backoff(attempt, throttled) == pytest.approx(bound)
    assert lowest.backoff(attempt, throttled) == 0.0
    draws = RetryPolicy(cap=5.0, random=random.Random(attempt).random)
    assert all(0.0 <= draws.backoff(attempt, throttled) <= bound for _ in range(200))


def test_a_wait_that_leaves_no_time_for_the_attempt_is_no_retry() -> None:
    clock = Clock()
    deadline = Deadline(clock, 10.0, 3.0)  # 7 s of work left, 3 s for the next attempt: 4 s to wait at most
    assert RetryPolicy(cap=20.0, random=lambda: 0.2, clock=clock).delay(5, True, deadline) == pytest.approx(3.2)
    assert RetryPolicy(cap=20.0, random=lambda: 0.3, clock=clock).delay(5, True, deadline) is None  # 4.8 s
    clock.now = 4.0 + 0.1  # less than one attempt left after the reserve: no retry, however short the wait
    assert RetryPolicy(cap=20.0, random=lambda: 0.0, clock=clock).delay(5, True, deadline) is None


def test_the_tables_policy_stops_within_its_seconds_whatever_the_deadline() -> None:
    clock = Clock()
    deadline = Deadline(clock, 200.0, 1.0)
    policy = RetryPolicy(cap=1.0, within=5.0, random=lambda: 1.0, clock=clock, sleep=clock.sleep)
    attempts = play(policy, clock, deadline, [0.01])
    assert attempts[-1][1] <= 5.0 + 0.01 + 1e-9
    assert 4 <= len(attempts) <= 10


# --- the hook: botocore's needs-retry event ------------------------------------------------

@dataclass
class Recorder:
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def _operation(name: str = "UpdateModelPackage", service: str = "sagemaker") -> Any:
    return session().get_service_model(service).operation_model(name)


def _answer(code: str, status: int = 400) -> tuple[Any, dict[str, Any]]:
    http = SimpleNamespace(status_code=status, headers={})
    return http, {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}


def _hook(recorder: Recorder, deadline: Any = None) -> tuple[RetryHook, dict[str, Any]]:
    hook = RetryHook(RetryPolicy(cap=1.0, random=lambda: 0.5, sleep=recorder.sleep), "budget")
    return hook, {"context": {"budget": deadline}}


@pytest.mark.parametrize(
    ("name", "code", "status"),
    [("a refusal", "ValidationException", 400), ("access denied", "AccessDeniedException", 400),
     ("a conflict (replanned by the invocation instead)", "ConflictException", 400),
     ("a missing package", "ResourceNotFound", 400)],
)
def test_a_refusal_is_not_retried(name: str, code: str, status: int) -> None:
    recorder = Recorder()
    hook, request = _hook(recorder)
    assert hook(_answer(code, status), 1, None, request, _operation()) is None, f"Test {name!r} retried"
    assert recorder.slept == []


@pytest.mark.parametrize(
    ("name", "response", "exception", "slept"),
    [("throttling", _answer("ThrottlingException"), None, 0.5),
     ("HTTP 500", _answer("InternalFailure", 500), None, 0.025),
     ("HTTP 503", _answer("ServiceUnavailable", 503), None, 0.025),
     ("HTTP 429, no code", _answer("", 429), None, 0.5),
     ("a dropped connection", None, ConnectionClosedError(endpoint_url="https://x"), 0.025)],
)
def test_throttling_and_transient_errors_are_retried_after_the_policys_wait(
    name: str, response: Any, exception: Exception | None, slept: float
) -> None:
    recorder = Recorder()
    hook, request = _hook(recorder)
    # botocore sleeps the returned 0 and re-sends the same request (the same ClientToken)
    assert hook(response, 1, exception, request, _operation()) == 0.0, name
    assert recorder.slept == [pytest.approx(slept)], name
    assert RETRYING_SINCE in request["context"]


def test_the_hook_gives_up_when_the_invocations_deadline_leaves_no_room() -> None:
    clock = Clock()
    recorder = Recorder()
    hook, request = _hook(recorder, Deadline(clock, 5.0, 3.0))  # 2 s of work left: no 3 s attempt fits
    assert hook(_answer("ThrottlingException"), 4, None, request, _operation()) is None
    assert recorder.slept == []


def test_the_dynamodb_throughput_error_is_throttling() -> None:
    assert is_throttling({"Error": {"Code": "ProvisionedThroughputExceededException"}})
    assert is_throttling({"Error": {"Code": "ThrottlingException"}})
    assert is_throttling({"Error": {"Code": "Throttling"}})
    assert not is_throttling({"Error": {"Code": "ValidationException"}})
    assert not is_throttling({})


@pytest.mark.parametrize("service", ["sagemaker", "dynamodb", "sts"])
def test_the_clients_retry_through_this_policy_alone(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard handler (its 3 attempts) is replaced, not joined: were its
    unique id to change, both would answer needs-retry and the waits would add up."""
    from botocore.config import Config

    from model_package_resource import clients

    monkeypatch.setattr("model_package_resource.timing.RETRY_CAP", 0.001)
    monkeypatch.setattr("model_package_resource.timing.TABLE_RETRY_CAP", 0.001)
    made = clients.install_retries(session().create_client(
        service, region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s",
        config=Config(retries={"mode": "standard"})), service)
    operation = made.meta.service_model.operation_model(made.meta.service_model.operation_names[0])
    answers = made.meta.events.emit(
        f"needs-retry.{service}.{operation.name}", response=_answer("ThrottlingException"), endpoint=None,
        operation=operation, attempts=3, caught_exception=None, request_dict={"context": {}})
    handlers = [handler for handler, _ in answers]
    assert [type(h).__name__ for h in handlers if type(getattr(h, "__self__", None)).__name__ == "RetryHandler"] == []
    assert [answer for handler, answer in answers if answer is not None] == [0.0]
    assert sum(isinstance(handler, RetryHook) for handler in handlers) == 1
