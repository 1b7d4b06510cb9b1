"""The invocation's time budget: the work must end, and its one response be sent,
before the Lambda's own timeout."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .errors import TimedOut


@dataclass
class Deadline:
    """`at` is a time.monotonic() instant. `cancelled` is set once the response has
    been sent on the work's behalf: work still running makes no further call."""

    at: float
    cancelled: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self, operation: str) -> None:
        if self.cancelled.is_set() or self.remaining() <= 0:
            raise TimedOut(f"no time left for {operation} before the function's timeout")
