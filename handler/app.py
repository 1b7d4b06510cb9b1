"""Lambda entry point of the Custom::ModelPackage resource (Handler: app.lambda_handler).

Wiring only: refuse a ResponseURL that is not CloudFormation's, parse the event
once, run its work within the invocation's time, and PUT exactly one response.
The same function receives SageMaker's model package state changes (EventBridge):
those are checked for drift (watch.py), and answered to no one."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from model_package_resource import metrics, timing
from model_package_resource.errors import ResourceError, TimedOut
from model_package_resource.invocation import Outcome, Services, default_services, run
from model_package_resource.logs import logger
from model_package_resource.request import Identity, Request, identify, is_eventbridge, parse_request
from model_package_resource.response import build_body, reason_for
from model_package_resource.response_url import ALLOWED_HOSTS_VARIABLE, parse_allowed_hosts, response_url_refusal
from model_package_resource.sender import put_response

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# A cold start allocates much and frees little: the collector's passes during it are
# wasted work (measured in make bench). The first event turns it back on and freezes
# what the imports made, so that later collections skip those objects.
gc.disable()


def lambda_handler(event: Any, context: LambdaContext | None) -> dict[str, Any]:
    """Handle one CloudFormation custom resource event, or one SageMaker state change
    from EventBridge; returns what was sent or found, for local runners (Lambda
    ignores it)."""
    return handle(event, context, None)


def handle(event: Any, context: LambdaContext | None, services: Services | None) -> dict[str, Any]:
    """`lambda_handler` with the services an invocation talks to (tests pass fakes)."""
    try:
        return _handle(event, context, services)
    finally:
        if not gc.isenabled():
            gc.freeze()
            gc.enable()


def _handle(event: Any, context: LambdaContext | None, services: Services | None) -> dict[str, Any]:
    if not isinstance(event, Mapping):
        event = {}
    if is_eventbridge(event):
        return _check_drift(event, context, services)
    identity = identify(event)
    logger.append_keys(
        StackId=identity.stack_id[:256], LogicalResourceId=identity.logical_id[:256],
        RequestType=identity.request_type[:16], RequestId=identity.request_id[:256],
    )
    url = event.get("ResponseURL")
    try:
        refusal = response_url_refusal(url, parse_allowed_hosts(os.environ.get(ALLOWED_HOSTS_VARIABLE)))
    except Exception as error:  # noqa: BLE001 - a refusal that cannot be judged is a refusal
        refusal = f"the ResponseURL cannot be checked: {type(error).__name__}"
    if refusal is not None or not isinstance(url, str):
        logger.error("No response sent and nothing changed", extra={"refusal": refusal})
        return {"Sent": False, "Refusal": refusal}

    remaining = _remaining_seconds(context)
    reserve = timing.reserve_for(remaining)
    respond_by = time.monotonic() + remaining - reserve
    try:
        request = parse_request(event, url)
        outcome = _within_time(request, respond_by, services or default_services())
    except Exception as error:  # noqa: BLE001 - bad input is one FAILED response
        outcome = Outcome("FAILED", identity.failure_id(), error=error)
    try:
        return _answer(identity, url, outcome, respond_by + reserve)
    except Exception as error:  # noqa: BLE001 - the last resort: still one response
        logger.exception("The response could not be built as planned")
        body = build_body(identity, "FAILED", outcome.physical_resource_id, reason=reason_for(error))
        delivery = put_response(url, body, respond_by + reserve)
        return {"Sent": delivery.delivered, "Status": "FAILED", "Reason": reason_for(error)}


def _check_drift(
    event: Mapping[str, Any], context: LambdaContext | None, services: Services | None
) -> dict[str, Any]:
    """An EventBridge event: checked for drift within the Lambda's time, never
    raising (EventBridge would invoke again), never answering CloudFormation."""
    from model_package_resource.watch import check_drift  # only here: a CloudFormation event's cold start skips it

    remaining = _remaining_seconds(context)
    deadline = timing.Deadline.within(max(remaining - timing.reserve_for(remaining), 0.0))
    try:
        return check_drift(event, services or default_services(), deadline).summary()
    except Exception:  # noqa: BLE001 - check_drift never raises; services may
        logger.exception("Drift not checked")
        return {"DriftCheck": False}


def _within_time(request: Request, respond_by: float, services: Services) -> Outcome:
    """The window ends at the earlier of the Lambda's time (less the reserve) and
    CloudFormation's ServiceTimeout counted from when it signed the ResponseURL."""
    ends = respond_by
    if request.signed_at is None:
        logger.warning("No X-Amz-Date in the response URL: only the Lambda's timeout bounds the work")
    else:
        timeout = request.service_timeout or timing.DEFAULT_SERVICE_TIMEOUT
        left = request.signed_at + timeout - timing.SERVICE_TIMEOUT_MARGIN - time.time()
        ends = min(ends, time.monotonic() + left)
        if left <= 0:
            return Outcome(
                "FAILED", request.identity.failure_id(),
                error=TimedOut(f"the event arrived after its ServiceTimeout ({timeout} s)", "ServiceTimeout"),
            )
    window = max(ends - time.monotonic(), 0.0)
    deadline = timing.Deadline.within(max(window - timing.HANDOVER_GRACE, 0.0))
    return _in_worker(request, deadline, window, services)


def _in_worker(request: Request, deadline: timing.Deadline, window: float, services: Services) -> Outcome:
    """Run the work in a worker thread and wait for it until the window ends (a
    little after the work's own deadline): a call that hangs cannot keep the response
    from going out in time. The worker hands its outcome over whole; past the window
    it is cancelled (it makes no further call) and the event is answered FAILED,
    saying whether the package may have been changed (its record's intent says what
    the next event on the package settles)."""
    handed: list[Outcome] = []
    changed = threading.Event()
    worker = threading.Thread(target=lambda: handed.append(run(request, deadline, services, changed)), daemon=True)
    worker.start()
    worker.join(window)
    if handed:
        return handed[0]
    deadline.cancelled.set()
    if handed:  # handed over just now
        return handed[0]
    physical = request.identity.failure_id()
    detail = "the work did not end before the response was due; it makes no further call"
    if changed.is_set() and request.package is not None:
        detail += "; the package may be left changed"
        if request.request_type == "Create":
            physical = request.package.arn  # so that CloudFormation's Delete releases it
    return Outcome("FAILED", physical, error=TimedOut(detail))


def _answer(identity: Identity, url: str, outcome: Outcome, deadline_at: float) -> dict[str, Any]:
    reason = ""
    if outcome.status == "FAILED":
        reason = reason_for(outcome.error) if outcome.error else "Failed"
        # A domain error says all in its reason; anything else gets its traceback.
        unexpected = outcome.error if not isinstance(outcome.error, ResourceError) else None
        logger.error("Event failed", extra={"reason": reason}, exc_info=unexpected)
    for warning in outcome.warnings:
        logger.warning(warning)
    try:
        metrics.emit(identity.request_type, outcome)
    except Exception:  # noqa: BLE001 - a metric never keeps the response from going
        logger.exception("Metrics not written")
    body = build_body(identity, outcome.status, outcome.physical_resource_id, reason=reason, data=outcome.data)
    delivery = put_response(url, body, deadline_at)
    log = logger.info if delivery.delivered else logger.error
    log(
        "Response sent" if delivery.delivered else "Response not delivered",
        extra={
            "status": outcome.status,
            "attempts": delivery.attempts,
            "detail": delivery.detail,
            "calls": len(outcome.calls),
            "reverts": outcome.reverts,
            "releases": outcome.releases,
            "left": outcome.left,
        },
    )
    return {
        "Sent": delivery.delivered,
        "Attempts": delivery.attempts,
        "Status": outcome.status,
        "Reason": reason,
        "PhysicalResourceId": outcome.physical_resource_id,
        "Data": dict(outcome.data),
        "Calls": len(outcome.calls),
        "Reverts": outcome.reverts,
    }


def _remaining_seconds(context: LambdaContext | None) -> float:
    """The invocation's time left; a runner without Lambda's context gets a default."""
    try:
        return float(context.get_remaining_time_in_millis()) / 1000  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        return timing.DEFAULT_REMAINING
