"""The one loader of events/ for every test tier, and small shared builders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/2"
OTHER_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/1"


def load_event(name: str, response_url: str | None = None, **overrides: Any) -> dict[str, Any]:
    """events/NAME.json, with its ResponseURL pointed at a receiver when given."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    if response_url is not None:
        event["ResponseURL"] = response_url
    event.update(copy.deepcopy(overrides))
    return event


class Context:
    """Lambda's context, as much of it as the handler reads."""

    def __init__(self, timeout_ms: int = 30_000) -> None:
        import time

        self._ends = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(int((self._ends - time.monotonic()) * 1000), 0)

class LogCapture:
    """The handler's JSON log lines, captured from its Powertools handler."""

    def __init__(self) -> None:
        import io

        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()


# What must never appear in a log line: the presigned URL's signature and path (a
# logged raw event would carry them too). Not the key name "ResponseURL": a value
# may spell it (the fuzzer once chose it as a LogicalResourceId) without any leak.
LEAK_MARKERS = ("X-Amz-Signature", "presigned-signature", "/cfn-response")


class LeakWatch:
    """A stream that passes writes on and keeps every line carrying a leak marker."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.leaks: list[str] = []

    def write(self, text: str) -> int:
        if any(marker in text for marker in LEAK_MARKERS):
            self.leaks.append(text[:300])
        return self.target.write(text) if self.target is not None else len(text)

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()
