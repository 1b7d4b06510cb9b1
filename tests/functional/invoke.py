"""The functional tier's one way to play an event: `app.handle` with the current
stub's services, exactly one response at the receiver, echoed and within 4096 bytes."""


from __future__ import annotations

from typing import Any

from app import handle
from devkit.receiver import ResponseReceiver
from tests.functional.conftest import SageMakerStub
from tests.helpers import Context


def invoke(event: dict[str, Any], receiver: ResponseReceiver, remaining_ms: int = 30_000) -> dict[str, Any]:
    stub = SageMakerStub.current or SageMakerStub()
    handle(event, Context(remaining_ms), stub.services())
    bodies = receiver.bodies()
    assert len(bodies) == 1, f"expected exactly one response, got {len(bodies)}"
    body = bodies[0]
    assert len(receiver.received[0].body) <= 4096
    assert body["RequestId"] == event.get("RequestId", "")
    return body


APPROVED = {"ticket": "CAB-1234", "approved-by": "ml-platform"}


