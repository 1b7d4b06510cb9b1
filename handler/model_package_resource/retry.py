"""How a failed attempt of a call is retried: until the invocation's deadline, not
a fixed number of times.

A fleet of resources deployed at once (a stack of a hundred approvals, a rollout to
every environment) meets SageMaker's throttle together. botocore's standard mode
gives each call 3 attempts within a few seconds, so most of such a fleet would
answer FAILED although each event has minutes left. Here a call is retried, with
exponential backoff and full jitter, for as long as its next attempt can still end
before the deadline less the time kept for a revert (none is kept while reverting).

What is retried is botocore's own judgement, its standard mode's conditions without
their attempt limit: throttling (by error code, by HTTP 429, or as the model marks
it), transient server errors (500, 502, 503, 504, RequestTimeout), a connection that
failed or dropped, and errors the service model marks retryable. Anything else is a
refusal, answered at once.

The wait before attempt n+1 is random() * min(cap, base * 2**(n-1)), the "full
jitter" of botocore and of the AWS Architecture Blog's "Exponential Backoff And
Jitter", with botocore's bases (1 s after throttling, 50 ms after a transient
error). Its cap is much shorter than botocore's 20 s: at the end of a wave the few
events still waiting would otherwise leave the throttle's capacity idle for many
seconds (measured with `make fleet`: docs/performance.md, "A fleet at once").

The policy is pure (clock, random source and sleep are injected). `RetryHook` joins
it to botocore's own `needs-retry` event, in place of the standard handler
(clients.py), so botocore re-sends the same request: every retry of one call
carries the same ClientToken, as SageMaker needs."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.retries import special, standard
from botocore.retries.standard import (
    ModeledRetryableChecker,
    OrRetryChecker,
    RetryContext,
    ThrottledRetryableChecker,
    ThrottlingErrorDetector,
    TransientRetryableChecker,
)

# The call's first retry is stamped in its request context with this key: the
# start of the time a policy with `within` allows it.
RETRYING_SINCE = "model_package_resource.retrying_since"
# Kept between a retry's end and the time that the attempt may still use: time.sleep
# may wake a little late, and the deadline's own check must then still let it start.
SLEEP_SLACK = 0.05
# 2**62 times any base is past every cap: the exponent stops growing there.
_MAX_EXPONENT = 62


class Deadline(Protocol):
    """What the policy needs of the invocation's deadline (timing.Deadline)."""

    @property
    def attempt_seconds(self) -> float: ...

    def work_remaining(self) -> float: ...


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry a failed attempt, and after how long."""

    cap: float  # the longest single wait, seconds
    # The most seconds one call may spend retrying, counted from its first failure
    # (the record table's short policy); None: only the deadline bounds it.
    within: float | None = None
    throttled_base: float = 1.0
    transient_base: float = 0.05
    random: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, attempt: int, throttled: bool) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        base = self.throttled_base if throttled else self.transient_base
        return self.random() * min(self.cap, base * 2.0 ** min(attempt - 1, _MAX_EXPONENT))

    def delay(
        self, attempt: int, throttled: bool, deadline: Deadline | None, retrying_since: float | None = None
    ) -> float | None:
        """The wait before retrying a call whose `attempt`-th attempt failed, or None:
        no retry, as the attempt after that wait could not end before the deadline
        less the time kept for a revert (or the wait would pass `within`). A wait is
        never shortened to fit: attempts squeezed into the last moments would hammer
        the service without a pause."""
        room = math.inf
        if deadline is not None:
            room = deadline.work_remaining() - deadline.attempt_seconds - SLEEP_SLACK
        if self.within is not None and retrying_since is not None:
            room = min(room, self.within - (self.clock() - retrying_since))
        wait = self.backoff(attempt, throttled)
        return wait if wait <= room else None


# botocore's standard retry conditions (StandardRetryConditions), without their
# MaxAttemptsChecker.
_RETRYABLE = OrRetryChecker([
    TransientRetryableChecker(),
    ThrottledRetryableChecker(),
    standard.ThrottlingStatusCodeChecker(),  # type: ignore[attr-defined]  # botocore 1.44: newer than its stubs
    ModeledRetryableChecker(),
    special.RetryIDPCommunicationError(),
    special.RetryDDBChecksumError(),
])


class _Adapter:
    """ThrottlingErrorDetector wants an adapter of botocore's event arguments; the
    hook gives it a RetryContext directly."""

    def create_retry_context(self, **_: Any) -> RetryContext:  # pragma: no cover - never called
        raise NotImplementedError


_THROTTLING = ThrottlingErrorDetector(_Adapter())


@dataclass(frozen=True)
class RetryHook:
    """botocore's `needs-retry` handler for one client: sleeps the policy's wait
    and returns 0 (botocore then re-sends the same request), or returns None (no
    retry: botocore raises the last error). The invocation's deadline comes from the
    request context, under `deadline_key` (clients.DEADLINE)."""

    policy: RetryPolicy
    deadline_key: str

    def __call__(
        self,
        response: tuple[Any, Mapping[str, Any]] | None,
        attempts: int,
        caught_exception: Exception | None,
        request_dict: Mapping[str, Any],
        operation: Any,
        **_: Any,
    ) -> float | None:
        request_context = request_dict["context"]
        http_response, parsed = response if response is not None else (None, None)
        context = RetryContext(
            attempt_number=attempts,
            operation_model=operation,
            http_response=http_response,
            parsed_response=parsed,
            caught_exception=caught_exception,
            request_context=request_context,
        )
        if not _RETRYABLE.is_retryable(context):
            return None  # a success, or a refusal
        since = request_context.setdefault(RETRYING_SINCE, self.policy.clock())
        throttled = bool(_THROTTLING.is_throttling_error_from_context(context))
        wait = self.policy.delay(attempts, throttled, request_context.get(self.deadline_key), since)
        if wait is None:
            return None
        self.policy.sleep(wait)
        return 0.0


def is_throttling(error_response: Mapping[str, Any]) -> bool:
    """Whether a service's error answer (a ClientError's `response`) is throttling,
    by botocore's list of throttling codes."""
    context = RetryContext(attempt_number=1, parsed_response=dict(error_response))
    return bool(ThrottledRetryableChecker().is_retryable(context))
