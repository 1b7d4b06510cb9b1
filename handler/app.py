"""Lambda entry point of the Custom::ModelPackage resource (Handler: app.lambda_handler).

Wiring only: refuse a ResponseURL that is not CloudFormation's, run the event's
work within the invocation's time, and PUT exactly one response. What each event
does lives in model_package_resource.events."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

if __package__ in (None, "") and os.path.dirname(__file__) not in sys.path:
    # Loaded by path (not from the Lambda task root): make the package importable.
    sys.path.insert(0, os.path.dirname(__file__))

from model_package_resource.deadline import Deadline
from model_package_resource.errors import ResourceError, TimedOut
from model_package_resource.events import Invocation, Outcome
from model_package_resource.logs import audit_request, logger
from model_package_resource.respond import put_response
from model_package_resource.response import (
    build_body,
    parse_allowed_hosts,
    reason_for,
    response_url_refusal,
)

# Time kept back from the work for sending the response before the Lambda's own
# timeout: a fifth of the invocation's time, between 1 and 5 seconds.
RESERVE_SHARE, RESERVE_MIN, RESERVE_MAX = 0.2, 1.0, 5.0
DEFAULT_REMAINING_MS = 60_000


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Handle one CloudFormation custom resource event; returns what was sent, for
    local runners (Lambda ignores it)."""
    if not isinstance(event, Mapping):
        event = {}
    refusal = response_url_refusal(
        event.get("ResponseURL"), parse_allowed_hosts(os.environ.get("ALLOWED_RESPONSE_HOSTS"))
    )
    logger.append_keys(
        **{k: _short(event.get(k)) for k in ("StackId", "LogicalResourceId", "RequestType", "RequestId")}
    )
    if refusal is not None:
        logger.error("No response sent and nothing changed", extra={"refusal": refusal})
        return {"Sent": False, "Refusal": refusal}

    remaining = _remaining_seconds(context)
    reserve = min(max(remaining * RESERVE_SHARE, RESERVE_MIN), RESERVE_MAX)
    deadline = Deadline.after(remaining - reserve)
    outcome = _run_within(Invocation(event, deadline, on_request=audit_request), deadline)

    reason = ""
    if outcome.status == "FAILED":
        reason = reason_for(outcome.error) if outcome.error else "Failed"
        # A domain error says all in its reason; anything else gets its traceback.
        unexpected = outcome.error if not isinstance(outcome.error, ResourceError) else None
        logger.error("Event failed", extra={"reason": reason}, exc_info=unexpected)
    for warning in outcome.warnings:
        logger.warning(warning)
    body = build_body(event, outcome.status, outcome.physical_resource_id, reason=reason, data=outcome.data)
    delivery = put_response(str(event["ResponseURL"]), body, deadline.at + reserve)
    log = logger.info if delivery.delivered else logger.error
    log(
        "Response sent" if delivery.delivered else "Response not delivered",
        extra={
            "status": outcome.status,
            "attempts": delivery.attempts,
            "detail": delivery.detail,
            "calls": len(outcome.requests),
        },
    )
    return {
        "Sent": delivery.delivered,
        "Attempts": delivery.attempts,
        "Status": outcome.status,
        "Reason": reason,
        "PhysicalResourceId": outcome.physical_resource_id,
        "Data": outcome.data,
    }


def _run_within(invocation: Invocation, deadline: Deadline) -> Outcome:
    """Run the work in a worker thread and wait for it until the deadline: a call
    that hangs cannot keep the response from going out in time. Past the deadline
    the work is cancelled (it makes no further call) and answered as FAILED."""
    result: list[Outcome] = []
    worker = threading.Thread(target=lambda: result.append(invocation.run()), daemon=True)
    worker.start()
    worker.join(max(deadline.remaining(), 0))
    if result:
        return result[0]
    deadline.cancelled.set()
    return Outcome(
        "FAILED",
        invocation.failure_id(),
        requests=invocation.applied,
        warnings=invocation.warnings,
        error=TimedOut("SageMaker did not answer before the function's timeout"),
    )


def _remaining_seconds(context: Any) -> float:
    try:
        return float(context.get_remaining_time_in_millis()) / 1000
    except (AttributeError, TypeError, ValueError):
        return DEFAULT_REMAINING_MS / 1000


def _short(value: object) -> str:
    return value[:256] if isinstance(value, str) else ""
