"""The one loader of events/ for every test tier, and small shared builders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from devkit.lambda_process import LambdaContext

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


# Lambda's context, as much of it as the handler reads: the runner's own.
Context = LambdaContext

class LogCapture:
    """The handler's JSON log lines, captured from its Powertools handler."""

    def __init__(self) -> None:
        import io

        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()


# What must never appear in a log line: the presigned URL's signature and path, or
# the raw event (whose ResponseURL key would come with it).
LEAK_MARKERS = ("X-Amz-Signature", "presigned-signature", "/cfn-response", '"ResponseURL"')


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
