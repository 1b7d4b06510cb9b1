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

from devkit.registry import Fault, LocalRegistry
from devkit.runner import STACK_ID, Lifecycle, Played, environment_set
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
        if not self.matches(request):
            return False
        self.seen += 1
        kind = self.kind_for(self.seen, request.params)
        if kind is None:
            return False
        self.kind = kind
        self.fired += 1
        return True

    def kind_for(self, number: int, params: Mapping[str, Any]) -> str | None:
        """The fault kind for the `number`-th matching request, or None: let it through."""
        return self.script.get(number)


class OnRequests(OnCalls):
    """Answer each request of one operation by a rule on its number (from 1) and its
    parameters: `rule(n, params)` is a fault kind, or None to let it through. For
    faults that follow a call through its retries, whose number depends on time."""

    def __init__(self, operation: str, rule: Callable[[int, Mapping[str, Any]], str | None]) -> None:
        super().__init__(operation, {})
        self.rule = rule

    def __repr__(self) -> str:
        return f"OnRequests({self.operation!r})"

    def kind_for(self, number: int, params: Mapping[str, Any]) -> str | None:
        return self.rule(number, params)


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


def differences(before: Mapping[str, Any], after: Mapping[str, Any], *, released: bool = False) -> list[str]:
    """What differs between two images; `released`: after a release, an approval that
    was PendingManualApproval may be Rejected (SageMaker has no way back)."""
    found = []
    for name in FIELDS:
        if released and name == "ModelApprovalStatus" and (before.get(name), after.get(name)) == (
                "PendingManualApproval", "Rejected"):
            continue
        if before.get(name) != after.get(name):
            found.append(f"{name}: {before.get(name)!r} -> {after.get(name)!r}")
    old, new = before.get("metadata", {}), after.get("metadata", {})
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            found.append(f"metadata {key}: {old.get(key)!r} -> {new.get(key)!r}")
    return found


def signed(at: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(at))


def records(registry: LocalRegistry) -> dict[str, Any]:
    """Each package's record in the table (a scan by its owner): ARN -> Record."""
    import json

    from model_package_resource.record import Record, decode_lease, decode_ownership
    from model_package_resource.table import PACKAGE_RECORD

    found = {}
    for item in registry.table_items():
        if item["ResourceKey"]["S"] != PACKAGE_RECORD:
            continue
        arn = item["ModelPackageArn"]["S"]
        lease = decode_lease(item["Lease"]["S"]) if "Lease" in item else None
        found[arn] = Record(arn, int(item["Version"]["N"]), decode_ownership(json.loads(item["Ownership"]["S"])),
                            lease)
    return found


def managed(registry: LocalRegistry, logical_id: str | None = None, stack_id: str = STACK_ID) -> list[str]:
    """What the records name a resource (of the runner's stack; any, without one) as
    managing, or leasing: "PACKAGE ITEM" lines. A released resource manages nothing."""
    from model_package_resource.ownership import item_name, resource_key

    resource = resource_key(stack_id, logical_id) if logical_id is not None else None
    lines = []
    for arn, record in records(registry).items():
        for item, entry in record.ownership.entries.items():
            if any(resource in (None, m.resource) for m in entry.managers):
                lines.append(f"{arn.rpartition(':')[2]} {item_name(item)}")
        if record.lease is not None and resource in (None, record.lease.resource):
            lines.append(f"{arn.rpartition(':')[2]} leased")
    return lines


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
    # How the next event is delivered: once, again after its first answer, or twice at once.
    redeliver_next: str = "once"

    def arm(self, *faults: Fault, late_by: float = 0.0) -> None:
        self.armed = [(fault, fault.times) for fault in faults]
        self.late_by = late_by

    def images(self) -> dict[str, dict[str, Any]]:
        return {arn: image(self.describe(arn)) for arn in self.packages}

    def play(self, event: dict[str, Any], label: str) -> Played:
        delivery, self.redeliver_next = self.redeliver_next, "once"
        if delivery == "at once":
            return self._twice_at_once(event, label)
        played = self._play_once(event, label)
        if delivery == "again":
            again = self._play_once(played.event, f"{label} (redelivered)")
            self._answered_alike(played, again)
        return played

    def _answered_alike(self, first: Played, second: Played) -> None:
        one, two = first.response or {}, second.response or {}
        if (one.get("Status"), one.get("PhysicalResourceId")) != (two.get("Status"), two.get("PhysicalResourceId")):
            self.failures.append(f"{second.label}: {two.get('Status')} {two.get('PhysicalResourceId')}, first "
                                 f"delivery {one.get('Status')} {one.get('PhysicalResourceId')}")

    def _twice_at_once(self, event: dict[str, Any], label: str) -> Played:
        """Lambda delivering one event twice at once: two warm invocations in threads."""
        import threading

        from app import lambda_handler
        from devkit.lambda_process import LambdaContext

        event = {**event, "ResponseURL": f"{event['ResponseURL']}&X-Amz-Date={signed(time.time())}"}
        before_images, received = self.images(), len(self.receiver.received)
        counted = dict(self.registry.requests)
        environment = {**self.registry.environment(), **self.receiver.environment(), "POWERTOOLS_DEV": "false"}
        with environment_set(environment):
            threads = [threading.Thread(target=lambda_handler, args=(dict(event), LambdaContext(self.timeout_ms)))
                       for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(self.timeout_ms / 1000 + 5)
        bodies = [r.json() for r in self.receiver.received[received:] if r.json()["RequestId"] == event["RequestId"]]
        calls = {op: n - counted.get(op, 0) for op, n in self.registry.requests.items() if n > counted.get(op, 0)}
        first = Played(label, event, bodies[0] if bodies else None, "", calls)
        if len(bodies) != 2:
            self.failures.append(f"{label} (twice at once): {len(bodies)} responses for two deliveries")
        else:
            self._answered_alike(first, Played(f"{label} (delivered twice at once)", event, bodies[1]))
        self.played.append(first)
        if first.status == "FAILED" and not str((first.response or {}).get("Reason", "")).startswith(
                NOT_FULLY_REVERTED):
            after = self.images()
            for arn, state in before_images.items():
                if differences(state, after[arn]):
                    self.violations.append(f"{label} answered FAILED twice at once but left {arn} changed")
        return first

    def _play_once(self, event: dict[str, Any], label: str) -> Played:
        armed, late_by = self.armed, self.late_by
        self.armed, self.late_by = [], 0.0
        timeout = float(dict(event.get("ResourceProperties") or {}).get("ServiceTimeout", 3600))
        at = time.time() - (timeout + late_by if late_by else 0)
        if "X-Amz-Date=" not in event["ResponseURL"]:
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
