"""Every timing setting of the function, and the invocation's deadline.

CloudFormation stops waiting ServiceTimeout seconds after it signed the event's
ResponseURL; Lambda stops the function at its own timeout. The response must go
before the earlier of the two, so the work gets a window that ends a reserve
before it. Within the window no SageMaker attempt starts that could still be
running when it ends (each attempt may take a connect and a read timeout), and
the last of it is kept for reverting what a failed event already applied."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

from .errors import TimedOut

# Kept back from the Lambda's remaining time for sending the response: a fifth,
# between 1 and 5 seconds.
RESERVE_SHARE, RESERVE_MIN, RESERVE_MAX = 0.2, 1.0, 5.0
# Assumed when the context cannot tell the remaining time (local runs).
DEFAULT_REMAINING = 60.0
# CloudFormation's own default when a resource declares no ServiceTimeout.
DEFAULT_SERVICE_TIMEOUT = 3600
# The response must reach CloudFormation this long before its ServiceTimeout.
SERVICE_TIMEOUT_MARGIN = 1.0

# SageMaker, DynamoDB and STS calls. Each attempt connects within CONNECT_TIMEOUT
# and reads within READ_TIMEOUT, both shortened, in a few steps, to about a tenth of
# a short window so that a call always fits in it (a few steps: clients are cached
# per timeout).
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 10.0
# Retries (retry.py): throttling and transient errors are retried with full jitter
# for as long as the next attempt can end before the deadline less the time kept for
# a revert, with no attempt limit. RETRY_CAP is the longest single wait: measured
# with make fleet against 1, 2, 5 and 20 s (botocore's cap), see docs/performance.md: 1
# and 2 s kept the throttle busy to the end of every wave, 2 s with half the
# throttled requests; 5 and 20 s left it idle at the end.
RETRY_CAP = 2.0
# The record table's calls are retried for this long at most, from their first
# failure: a table that is down fails the event before any change, rather than
# holding CloudFormation for minutes (SPEC, Failure and release). Its waits are
# shorter, so that those seconds hold several attempts.
TABLE_RETRY_SECONDS, TABLE_RETRY_CAP = 3.0, 0.5
TIMEOUT_SHARE = 0.1
TIMEOUT_STEPS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
# Kept back from a window for undoing a failed event: this many attempts' length (the
# package described again after a call whose outcome is unknown, then a revert call).
REVERT_ATTEMPTS = 2
# The work's window ends this long before the response is due: an outcome handed
# over at the window's very end still makes it.
HANDOVER_GRACE = 0.2
# A ConflictException (the package changed under us) before any change: describe
# and plan again, this many times in all. A lost race for the package's record
# (another event leased it first) is planned again for as long as time allows.
PLAN_ATTEMPTS = 3
# Waiting while another event holds the package's record: full-jitter backoff from
# this pause, doubling up to the cap, never past the other event's lease.
LEASE_POLL_FIRST, LEASE_POLL_CAP = 0.1, 2.0
# A lease expires at its holder's deadline (no call of it can still run then), plus
# this margin for clocks of two Lambdas that disagree.
LEASE_CLOCK_MARGIN = 2.0
# Waiting for a package that is Pending or InProgress.
POLL_INTERVALS = (1.0, 2.0, 3.0, 5.0)
# Assumed-role credentials are asked for the shortest time STS allows and used
# until this long before they expire.
ROLE_SESSION_SECONDS = 900
CREDENTIALS_REFRESH_MARGIN = 300.0

# The response PUT: bounded attempts, each with a socket timeout, within the reserve.
PUT_ATTEMPTS = 5
PUT_TIMEOUT = 5.0
PUT_BACKOFF = (0.25, 0.5, 1.0, 2.0)


def reserve_for(remaining: float) -> float:
    return min(max(remaining * RESERVE_SHARE, RESERVE_MIN), RESERVE_MAX)


@dataclass(frozen=True)
class Deadline:
    """When the work of one invocation must end: `ends` (a time.monotonic() instant)
    is when the response must go; `cancelled` is set once it went on the work's
    behalf. `keep` is the time kept back for undoing a failed event: by default the
    length of REVERT_ATTEMPTS attempts (a describe, after a call whose outcome is
    unknown, and a revert call); the revert itself keeps none (`for_revert`)."""

    ends: float
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    cancelled: threading.Event = field(default_factory=threading.Event)
    keep: float | None = None  # None: one attempt's length

    @classmethod
    def within(cls, seconds: float) -> Deadline:
        wanted = min(READ_TIMEOUT, seconds * TIMEOUT_SHARE)
        read = max([step for step in TIMEOUT_STEPS if step <= wanted] or [TIMEOUT_STEPS[0]])
        connect = min(CONNECT_TIMEOUT, read)
        return cls(time.monotonic() + seconds, connect, read)

    def for_revert(self) -> Deadline:
        """The same deadline, keeping no time back: a revert may use all of it."""
        return replace(self, keep=0.0)

    @property
    def attempt_seconds(self) -> float:
        """The longest one attempt of a call can take."""
        return self.connect_timeout + self.read_timeout

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def epoch(self) -> float:
        """`ends` as epoch seconds (a lease expires then)."""
        return time.time() + self.remaining()

    def work_remaining(self) -> float:
        """Time in which work may still start: the time kept for a revert excluded."""
        kept = REVERT_ATTEMPTS * self.attempt_seconds if self.keep is None else self.keep
        return self.remaining() - kept

    def check(self, operation: str, attempt: int = 1) -> None:
        """Refuse to start an attempt that could still run when the window ends
        (outside a revert, the length of one more attempt is kept for reverting).
        A refused retry may follow an attempt whose outcome is unknown."""
        if self.cancelled.is_set() or self.work_remaining() < self.attempt_seconds:
            raise TimedOut(f"no time left for {operation} before the response is due", maybe_applied=attempt > 1)
