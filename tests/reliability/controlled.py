"""CloudFormation's side of one resource with a hand on the wire: faults armed for
the next invocation only (never the rollback, the Delete or the redelivery the
runner plays after it), events signed at a chosen time (the ResponseURL's
X-Amz-Date), and the package described before and after each invocation, so that
a FAILED one can be checked against its pre-image."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devkit.registry import FUNCTION_ACCOUNT, Fault, LocalRegistry
from devkit.runner import STACK_ID, Lifecycle, Played
from tests.reliability import stats

NOT_FULLY_REVERTED = "Failed and not fully reverted"
# Fields the state machine and the matrix declare; compared as the contract says:
# ApprovalDescription and SourceUri "" count as absent (SageMaker cannot unset them).
FIELDS = ("ModelApprovalStatus", "ApprovalDescription", "ModelLifeCycle", "InferenceSpecification", "SourceUri")
EMPTIABLE = ("ApprovalDescription", "SourceUri")


class OnCalls(Fault):
    """Answer chosen requests of one operation, counted from 1 among the requests
    for it that reach the registry: OnCalls("UpdateModelPackage", {2: "denied",
    3: "throttle"}) lets the first through, refuses the second, throttles the third.
    (Fault answers the *next* requests; this one can wait for a revert.)"""

    def __init__(self, operation: str, script: Mapping[int, str]) -> None:
        super().__init__("throttle", operation, 1_000_000)
        self.script, self.seen, self.fired = dict(script), 0, 0

    def __repr__(self) -> str:
        return f"OnCalls({self.operation!r}, {self.script!r})"

    def applies(self, request: Any) -> bool:  # called under the registry's lock
        if self.operation not in ("*", request.operation, f"{request.service}:*",
                                  f"{request.service}:{request.operation}"):
            return False
        self.seen += 1
        kind = self.script.get(self.seen)
        if kind is None:
            return False
        self.kind = kind
        self.fired += 1
        return True


class OnRequests(OnCalls):
    """Answer each request of one operation by a rule on its number (from 1) and its
    parameters: `rule(n, params)` is a fault kind, or None to let it through. For
    faults that follow a call through its retries, whose number depends on time."""

    def __init__(self, operation: str, rule: Callable[[int, Mapping[str, Any]], str | None]) -> None:
        super().__init__(operation, {})
        self.rule = rule

    def __repr__(self) -> str:
        return f"OnRequests({self.operation!r})"

    def applies(self, request: Any) -> bool:  # called under the registry's lock
        if self.operation not in ("*", request.operation, f"{request.service}:*",
                                  f"{request.service}:{request.operation}"):
            return False
        self.seen += 1
        kind = self.rule(self.seen, request.params)
        if kind is None:
            return False
        self.kind = kind
        self.fired += 1
        return True


def fired(fault: Fault, times: int) -> int:
    """How many requests a fault answered, given the `times` it was armed with."""
    return fault.fired if isinstance(fault, OnCalls) else times - max(fault.times, 0)


def image(live: Mapping[str, Any]) -> dict[str, Any]:
    """What the contract compares of a package: metadata and the declared fields."""
    state: dict[str, Any] = {"metadata": dict(live.get("CustomerMetadataProperties") or {})}
    for name in FIELDS:
        value = live.get(name)
        state[name] = None if (name in EMPTIABLE and value == "") else value
    return state


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    found = []
    for name in FIELDS:
        if before.get(name) != after.get(name):
            found.append(f"{name}: {before.get(name)!r} -> {after.get(name)!r}")
    old, new = before.get("metadata", {}), after.get("metadata", {})
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            found.append(f"metadata {key}: {old.get(key)!r} -> {new.get(key)!r}")
    return found


def signed(at: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(at))


def table_items(registry: LocalRegistry, logical_id: str | None = None) -> list[dict[str, Any]]:
    """The prior-state table's records of resources not released, as the registry holds
    them (a scan by its owner); with logical_id, only that resource's of the runner's
    stack. A Delete leaves its record emptied and marked released (ExpiresAt), for
    DynamoDB's TTL to remove: it holds nothing, and only a redelivered Delete reads it."""
    client = registry.client(account=FUNCTION_ACCOUNT, service="dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": registry.table_name, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    items = [item for item in items if "ExpiresAt" not in item]
    if logical_id is None:
        return items
    return [item for item in items if item["ResourceKey"]["S"] == f"{STACK_ID}|{logical_id}"]


@dataclass
class ControlledLifecycle(Lifecycle):
    """A Lifecycle whose next invocation gets the armed faults and signing time.
    Every invocation's ResponseURL carries an X-Amz-Date (now, unless armed
    `late`), and every FAILED answer is checked against the packages' pre-images
    (recorded in `violations`) unless its Reason says it was not fully reverted."""

    packages: list[str] = field(default_factory=list)  # ARNs whose pre-images are checked
    violations: list[str] = field(default_factory=list)
    late_by: float = 0.0  # armed: signed this long before its ServiceTimeout
    armed: list[tuple[Fault, int]] = field(default_factory=list)
    last_faults_fired: int = 0

    def arm(self, *faults: Fault, late_by: float = 0.0) -> None:
        self.armed = [(fault, fault.times) for fault in faults]
        self.late_by = late_by

    def images(self) -> dict[str, dict[str, Any]]:
        return {arn: image(self.describe(arn)) for arn in self.packages}

    def play(self, event: dict[str, Any], label: str) -> Played:
        armed, late_by = self.armed, self.late_by
        self.armed, self.late_by = [], 0.0
        timeout = float(dict(event.get("ResourceProperties") or {}).get("ServiceTimeout", 3600))
        at = time.time() - (timeout + late_by if late_by else 0)
        event = {**event, "ResponseURL": f"{event['ResponseURL']}&X-Amz-Date={signed(at)}"}
        before = self.images()
        self.registry.inject(*(fault for fault, _ in armed))
        try:
            played = super().play(event, label)
        finally:
            self.registry.faults[:] = []  # whatever did not fire is disarmed
        if armed:
            self.last_faults_fired = sum(fired(fault, times) for fault, times in armed)
            stats.COUNTS["faults injected (requests answered with a fault)"] += self.last_faults_fired
        if played.status == "FAILED":
            stats.COUNTS["FAILED answers checked against the pre-image"] += 1
            reason = str((played.response or {}).get("Reason", ""))
            if reason.startswith(NOT_FULLY_REVERTED):
                stats.COUNTS["FAILED and not fully reverted (said so)"] += 1
            else:
                after = self.images()
                for arn, state in before.items():
                    changed = differences(state, after[arn])
                    if changed:
                        self.violations.append(
                            f"{label} answered FAILED ({reason[:120]}) but left {arn.rpartition(':')[2]} "
                            f"changed: {'; '.join(changed)}")
        return played
