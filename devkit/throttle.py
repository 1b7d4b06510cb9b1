"""A control-plane throttle for the local registry: a token bucket per operation,
as AWS throttles its APIs (a steady rate, and a burst that accumulates while the
API is idle). A request that finds its bucket empty is answered with the
service's own throttling error (wire.ERRORS["throttle"]: SageMaker's
ThrottlingException, DynamoDB's ProvisionedThroughputExceededException) before it
reaches moto, and counted; requests of operations without a bucket pass.

`make fleet` (bench/fleet.py) throttles DescribeModelPackage, UpdateModelPackage
and the record table (BatchGetItem, GetItem, PutItem and DeleteItem share one bucket, as
they share the table's capacity)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# The prior-state table's operations draw on one bucket, named so.
TABLE = "table"
TABLE_OPERATIONS = ("BatchGetItem", "GetItem", "PutItem", "DeleteItem")


@dataclass
class TokenBucket:
    rate: float  # tokens added per second
    burst: float  # the most tokens held (and held at the start)
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> bool:
        """One token if there is one; False: throttled."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Throttle:
    """Token buckets by name; `buckets` maps an operation to its bucket's name (by
    default its own name, the table's operations to TABLE)."""

    limits: Mapping[str, tuple[float, float]]  # bucket -> (rate per second, burst)
    buckets: Mapping[str, str] = field(default_factory=lambda: dict.fromkeys(TABLE_OPERATIONS, TABLE))
    clock: Callable[[], float] = time.monotonic
    admitted: Counter[str] = field(default_factory=Counter)  # per operation
    throttled: Counter[str] = field(default_factory=Counter)  # per operation
    admitted_at: dict[str, list[float]] = field(default_factory=dict)  # per bucket: when (clock())
    _state: dict[str, TokenBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.refill()

    def bucket_of(self, operation: str) -> str:
        return self.buckets.get(operation, operation)

    def admit(self, operation: str) -> bool:
        """Whether a request for `operation` may pass now (it takes a token)."""
        name = self.bucket_of(operation)
        with self._lock:
            bucket, now = self._state.get(name), self.clock()
            allowed = bucket is None or bucket.take(now)
            (self.admitted if allowed else self.throttled)[operation] += 1
            if allowed:
                self.admitted_at.setdefault(name, []).append(now)
        return allowed

    def refill(self) -> None:
        """Every bucket full (its burst), as after a long idle time; counts forgotten."""
        with self._lock:
            self._state = {name: TokenBucket(rate, burst) for name, (rate, burst) in self.limits.items()}
            self.admitted.clear()
            self.throttled.clear()
            self.admitted_at = {}

    def counts(self, name: str) -> tuple[int, int]:
        """(admitted, throttled) requests of a bucket's operations since the last refill."""
        with self._lock:
            ops = [op for op in set(self.admitted) | set(self.throttled) if self.bucket_of(op) == name]
            return sum(self.admitted[op] for op in ops), sum(self.throttled[op] for op in ops)
