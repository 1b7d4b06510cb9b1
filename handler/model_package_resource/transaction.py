"""One event's change to one package, as a transaction: the lease on the package's
record, the intent written ahead of the calls, the calls, their revert when a
declared change fails, and the confirmation. The record never lies: whatever
happens to the event (a refusal, a lost answer, the Lambda dying), the record
holds either the confirmed ownership or an intent that the next event settles
from the live package.

    read (wait while leased) ── lease + intent ── calls ─┬─ confirm ─────────── SUCCESS
                                                         └─ revert ── release ── FAILED

A call SageMaker refuses (a ValidationException) that mixes declared changes and
releases is split; a declared change refused fails the event, and the calls made
are reverted (from the pre-image); a refused release is narrowed to its items,
each sent alone, and those refused again are left, with a warning, and kept in
the record marked left: a release never strands a stack."""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from . import timing
from .errors import Refused, ResourceError, RevertIncomplete, TimedOut
from .ownership import Answer, Entry, Item, Ownership, holds, item_name, live_value, resource_name
from .plan import Call, Change, Plan, merged, plan_revert, reverted_to, simulate
from .record import IN_PROGRESS, Lease, Record, settle
from .response import reason_for

if TYPE_CHECKING:
    import threading

    from .ownership import Left
    from .timing import Deadline


class Gateway(Protocol):
    def describe(self, *, reverting: bool = False) -> dict[str, Any] | None: ...
    def describe_ready(self) -> dict[str, Any]: ...
    def update(self, request: Mapping[str, Any], *, reverting: bool = False) -> None: ...


class Records(Protocol):
    def read(self, package: str, resource: str | None = None) -> Record: ...
    def write(
        self, record: Record, ownership: Ownership, lease: Lease | None, writer: str, *, final: bool = False
    ) -> Record: ...


@dataclass
class Progress:
    """What the event did, for its response, its log and its metrics. The worker's
    own: the response path never shares it."""

    calls: list[Mapping[str, Any]] = field(default_factory=list)
    reverts: int = 0
    releases: int = 0
    left: int = 0  # releases SageMaker refused: left on the package
    unrecorded: int = 0  # releases that found no record of the resource
    warnings: list[str] = field(default_factory=list)


@dataclass
class Transaction:
    records: Records
    gateway: Gateway
    package: str
    resource: str
    request_id: str
    deadline: Deadline
    progress: Progress
    # Set once a call may have changed the package (for an answer past the window).
    changed: threading.Event | None = None
    # The answer a failure records, for a redelivery of the event (None: none, the
    # event plans again).
    answer_for: Callable[[BaseException], Answer | None] | None = None
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)  # the invocation's (its attempts share it)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    jitter: Callable[[], float] = random.random
    # Set by begin(): the record as leased, the ownership before the event, the plan.
    record: Record | None = None
    base: Ownership = field(default_factory=Ownership)
    planned: Plan = field(default_factory=Plan)
    applied: list[Mapping[str, Any]] = field(default_factory=list)
    reverted: list[Mapping[str, Any]] = field(default_factory=list)
    unknown: bool = False  # the last call made may or may not have landed
    now: Mapping[str, Any] | None = None  # the package described after it

    def read(self) -> Record:
        """The package's record once no other event holds its lease: one that does
        is waited for (backing off, with jitter), within the event's time."""
        pause = timing.LEASE_POLL_FIRST
        while True:
            record = self.records.read(self.package, self.resource)
            lease = record.lease
            if lease is None or record.status(self.clock()) != IN_PROGRESS or lease.owner == self.owner:
                return record
            wait = min(self.jitter() * pause, max(lease.expires - self.clock(), 0.0) + timing.LEASE_POLL_FIRST)
            if self.deadline.work_remaining() - wait < self.deadline.attempt_seconds:
                raise TimedOut(
                    f"another event on the package ({resource_name(lease.resource)}) holds its record "
                    "past this event's time",
                    "ModelPackageArn",
                )
            self.sleep(wait)
            pause = min(pause * 2, timing.LEASE_POLL_CAP)

    def write(self, record: Record, ownership: Ownership) -> None:
        """A change of the record alone (no call to make): one conditional write."""
        self.records.write(record, ownership, None, self.owner)

    def begin(self, record: Record, base: Ownership, planned: Plan) -> None:
        """Take the lease: the intent, written ahead of the calls, conditional on the
        version read (a lost race raises RecordChanged: plan again)."""
        expires = self.deadline.epoch() + timing.LEASE_CLOCK_MARGIN
        lease = Lease(self.owner, self.request_id, self.resource, expires, planned.intent, planned.expect)
        self.record = self.records.write(record, base, lease, self.owner)
        self.base, self.planned = base, planned

    def apply(self, live: Mapping[str, Any]) -> Ownership:
        """Make the plan's calls on the package described as `live` (the pre-image);
        returns the ownership they leave (the intent, with the refused releases
        marked left). A failure is reverted and re-raised, the record released."""
        intent = self.planned.intent
        queue: deque[tuple[Change, ...]] = deque(call.changes for call in self.planned.calls)
        try:
            while queue:
                changes = queue.popleft()
                request = merged(self.package, changes)
                try:
                    self.gateway.update(request)
                except Refused:
                    declared = tuple(c for c in changes if c.release is None)
                    releases = tuple(c for c in changes if c.release is not None)
                    if declared and releases:  # split before narrowing: the releases first, so that
                        queue.extendleft([declared, releases])  # the approval still rides in the last call
                    elif declared:
                        raise
                    elif len(releases) > 1:  # narrowed: each item alone, in order
                        queue.extendleft(reversed([(c,) for c in releases]))
                    else:
                        intent = self._left(intent, releases[0])
                    continue
                except Exception as error:
                    if getattr(error, "maybe_applied", True):
                        self._made(request)
                        self.unknown = True
                    raise
                self._made(request)
        except Exception as error:  # noqa: BLE001 - every failure is reverted, then raised again
            self._fail(live, error)
        return intent

    def commit(self, ownership: Ownership, answer: Answer) -> None:
        """Confirm: the ownership the calls left, with the event's answer, and the
        lease given back. When it cannot be written, the intent stays, and the next
        event on the package settles it from the live package (the calls landed)."""
        assert self.record is not None  # noqa: S101 - begin() came first
        try:  # no revert can follow: the time kept for one is the confirmation's
            self.records.write(self.record, answered(ownership, self.resource, answer), None, self.owner, final=True)
        except ResourceError as error:
            self.progress.warnings.append(
                f"the record was not confirmed ({error}); the next event on the package settles it"
            )

    def _made(self, request: Mapping[str, Any]) -> None:
        self.applied.append(request)
        self.progress.calls.append(request)
        if self.changed is not None:
            self.changed.set()

    def _left(self, intent: Ownership, change: Change) -> Ownership:
        """A release SageMaker refused: left, and kept in the record marked left. The
        lease's intent says so at once (one more write, for a refusal only), so that an
        intent settled after a lost confirmation is still the whole truth."""
        left: Left | None = change.release
        assert change.item is not None and left is not None  # noqa: S101 - releases are of items
        self.progress.left += 1
        self.progress.warnings.append(
            f"{item_name(change.item)} not given back: SageMaker refused it; left on the package, marked in the record"
        )
        intent = intent.with_entries({change.item: replace(intent.entries.get(change.item, Entry()), left=left)})
        if self.record is not None and self.record.lease is not None:
            expect = {item: value for item, value in self.record.lease.expect.items() if item != change.item}
            try:
                self.record = self.records.write(self.record, self.base,
                                                 replace(self.record.lease, intent=intent, expect=expect), self.owner)
            except ResourceError as error:
                self.progress.warnings.append(f"the lease was not updated ({error}); the confirmation says it")
        return intent

    def _fail(self, live: Mapping[str, Any], error: BaseException) -> NoReturn:
        """Revert what the calls changed, release the lease with the record as the
        package is now, and raise what the event answers."""
        left = self._revert(live)
        answer_error: BaseException = error
        if left:
            # The record keeps what is left changed as this resource's, so a later release gives it back.
            answer_error = RevertIncomplete(f"left changed: {', '.join(left)}; {_cause(error)}",
                                            getattr(error, "path", None))
        if self.now is not None:
            now = dict(self.now)  # as described after a call of unknown outcome
        else:
            now = dict(live)
            for request in self.applied:
                now = simulate(now, request)
        for request in self.reverted:
            now = simulate(now, request)
        lease = self.record.lease if self.record is not None else None
        if lease is not None and self.record is not None:
            settled = self._partly_changed(settle(self.base, lease, now, failed=True), live, now)
            answer = self.answer_for(answer_error) if self.answer_for is not None else None
            if answer is not None:
                settled = answered(settled, self.resource, answer)
            try:  # the revert is done: the time kept for it is this write's
                self.records.write(self.record, settled, None, self.owner, final=True)
            except ResourceError as write_error:
                self.progress.warnings.append(
                    f"the record was not released ({write_error}); the next event on the package settles it"
                )
        if answer_error is error:
            raise error
        raise answer_error from error

    def _partly_changed(self, settled: Ownership, pre_image: Mapping[str, Any], now: Mapping[str, Any]) -> Ownership:
        """Items the event's calls left changed, though not to what it declared (a model
        card whose content landed and whose status did not): this resource's, with the
        value they hold and the pre-image's prior, so that a later release gives them back."""
        changed: dict[Item, Entry] = {}
        for item, expected in self.planned.expect.items():
            before, current = live_value(pre_image, item), live_value(now, item)
            if holds(item, expected, current) or reverted_to(item, before, current):
                continue
            entry = settled.entry(item).declared_by(self.resource, current, changed=True)
            changed[item] = entry if entry.has_prior else replace(entry, prior=before)
        return settled.with_entries(changed)

    def _revert(self, pre_image: Mapping[str, Any]) -> list[str]:
        """Give back what the applied calls changed; returns what is left changed.
        After a call whose outcome is unknown the package is described again, so that
        only what landed is reverted; if it cannot be, the call counts as landed."""
        if not self.applied:
            return []
        current = None
        if self.unknown:
            try:
                current = self.gateway.describe(reverting=True)
            except Exception:  # noqa: BLE001 - then the revert is computed as if it landed
                current = None
        calls, cannot = plan_revert(pre_image, self.applied, current)
        left = list(cannot)
        queue: deque[tuple[Change, ...]] = deque(call.changes for call in calls)
        while queue:
            changes = queue.popleft()
            call = merged(self.package, changes)
            try:
                self.gateway.update(call, reverting=True)
            except Refused as error:  # narrowed, as a release: only the refused items are left
                if len(changes) > 1:
                    queue.extendleft(reversed([(c,) for c in changes]))
                else:
                    self.progress.warnings.append(f"revert refused: {reason_for(error)}")
                    left += _changes_named(call)
                continue
            except Exception as error:  # noqa: BLE001 - say what is left, whatever the cause
                self.progress.warnings.append(f"revert failed: {reason_for(error)}")
                for remaining in [changes, *queue]:
                    left += _changes_named(merged(self.package, remaining))
                break
            self.reverted.append(call)
            self.progress.reverts += 1
        self.now = current
        return list(dict.fromkeys(left))


def answered(ownership: Ownership, resource: str, answer: Answer) -> Ownership:
    """`ownership` with the event's answer kept for the resource (for a redelivery)."""
    info = ownership.resources.get(resource)
    if info is None:
        return ownership
    return ownership.with_resource(resource, replace(info, last=answer))


def _changes_named(call: Mapping[str, Any]) -> list[str]:
    """What a revert call would have given back: fields by name, metadata by key."""
    names: list[str] = []
    for name, value in call.items():
        if name in ("CustomerMetadataProperties", "CustomerMetadataPropertiesToRemove"):
            names += [f"metadata {key}" for key in value]
        elif name != "ModelPackageArn":
            names.append(name)
    return names


def _cause(error: BaseException) -> str:
    """The error without its path, which the enclosing error names already."""
    if isinstance(error, ResourceError):
        return f"{error.cause}: {error.detail}"
    return reason_for(error)


__all__ = ["Call", "Gateway", "Progress", "Records", "Transaction", "answered"]
