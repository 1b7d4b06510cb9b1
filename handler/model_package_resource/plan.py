"""The planner: (request, live package, ownership) -> the plan of an event, and a
failed event's revert. Pure: no AWS, no clock, no logging.

Ownership (ownership.py) decides what the resource may change and what it gives
back: declaring an item joins its managers on an equal value; starting to manage
it, or changing the value declared, against another resource's different value is
a conflict naming that resource (OverwriteExistingMetadata takes a metadata key
over); an item the resource stops declaring gets the value of the remaining
manager that set it most recently, or its prior when none remains, while the live
value is still the one the leaver declared. The live state (a DescribeModelPackage
response) decides what still needs sending.

Each change is packed into the fewest UpdateModelPackage calls that SageMaker's
rules (rules.py) accept, in order: ModelApprovalStatus, AdditionalInferenceSpecificationsToAdd
and a lifecycle stage absent before ride in the last call, so that a refused earlier
call never needs them undone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import rules
from .errors import MetadataConflict, OwnershipConflict, RuleRefusal, SpecificationConflict
from .ownership import (
    APPROVAL,
    Entry,
    Item,
    Left,
    Manager,
    Ownership,
    ResourceInfo,
    holds,
    item_name,
    item_path,
    live_value,
    resource_name,
)
from .properties import FIELDS, Properties
from .request import Request
from .shapes import member, project, same, same_card_content

SPECS = "AdditionalInferenceSpecificationsToAdd"
# Fields that SageMaker cannot unset but takes empty: given back as "" when they were absent.
EMPTIABLE = ("ApprovalDescription", "SourceUri")
METADATA, REMOVE = "CustomerMetadataProperties", "CustomerMetadataPropertiesToRemove"
# The order of a request's parameters (the audit log reads well, tests compare alike).
ORDER = ("ModelPackageArn", METADATA, REMOVE, *FIELDS, SPECS)


@dataclass(frozen=True)
class Change:
    """One change of a call: the part of a request it sends, for which item."""

    item: Item | None  # None: not an item (a specification added, a key listed for removal)
    request: Mapping[str, Any]
    # A release: what the record keeps, marked left, if SageMaker refuses it.
    release: Left | None = None
    last: bool = False  # rides in the last call of the event
    chain: str | None = None  # changes of one chain keep their order (a model card's parts)


@dataclass(frozen=True)
class Call:
    request: Mapping[str, Any]  # the UpdateModelPackage request, ModelPackageArn included
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class Plan:
    calls: tuple[Call, ...] = ()
    # The package's ownership once every call landed.
    intent: Ownership = field(default_factory=Ownership)
    # The live value of each item a call changes, once it landed (settling an intent).
    expect: Mapping[Item, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    releases: int = 0  # items given back (left ones included)
    left: tuple[str, ...] = ()  # releases SageMaker's rules refuse: left, and recorded so


def plan(request: Request, live: Mapping[str, Any], ownership: Ownership, now: float = 0.0) -> Plan:
    """The one entry point: what this event sends to the package it acts on. A
    Create starts its resource afresh (a redelivery, same RequestId, continues it);
    a release (Delete) gives back everything the resource manages. `now` (epoch
    seconds) dates a released resource."""
    declared = request.declared
    if declared is None:
        return Plan(intent=ownership)
    resource = request.identity.resource
    ownership = started(request, ownership)
    info = ownership.resources.get(resource)
    builder = _Builder(resource, live, ownership, declared.overwrite_existing_metadata)
    wanted = {} if request.kind == "release" else declared_items(declared)
    _pending_approval(builder, wanted, request)
    builder.remove_listed(declared, request.baseline, request.kind == "release")
    builder.declare_all(wanted)
    for item in sorted(ownership.managed_by(resource)):
        if item not in wanted and item not in builder.kept:
            builder.leave(item)
    if request.kind != "release":
        builder.specifications(declared, request.baseline)
    calls, refused = pack(declared.package.arn, builder.changes, live)
    error = declared_refusal(refused)
    if error is not None:
        raise error  # before any call
    intent = builder.ownership_after(refused)
    gone = request.kind == "release"
    resource_info = replace(info or ResourceInfo(), role=declared.role.arn if declared.role else None,
                            approvals=_approvals(request, info))
    intent = intent.with_resource(resource, replace(resource_info, gone_at=now if gone else None))
    return Plan(
        calls=calls,
        intent=intent,
        expect={item: value for item, value in builder.expect.items() if item not in {c.item for c, _ in refused}},
        warnings=(*builder.warnings, *(_left_warning(change, why) for change, why in refused)),
        releases=builder.releases,
        left=tuple(item_name(change.item) for change, _ in refused if change.item is not None),
    )


def started(request: Request, ownership: Ownership) -> Ownership:
    """A Create starts its resource afresh: what an earlier resource of the same id
    left (DeletionPolicy: Retain) is forgotten, never released. A redelivery (the same
    RequestId) continues it. The transaction's base, whatever the Create's outcome."""
    resource = request.identity.resource
    info = ownership.resources.get(resource)
    if request.kind != "create" or (info is not None and info.created == request.identity.request_id):
        return ownership
    return ownership.forget(resource).with_resource(resource, ResourceInfo(created=request.identity.request_id))


def declared_items(declared: Properties) -> dict[Item, Any]:
    """The items `declared` sets: its fields (in their canonical order) and metadata keys."""
    items: dict[Item, Any] = {("field", name): declared.fields[name] for name in FIELDS if name in declared.fields}
    items.update({("metadata", key): value for key, value in declared.metadata.items()})
    return items


def _declared_approval(properties: Properties | None) -> str:
    return str(properties.fields.get("ModelApprovalStatus", "")) if properties is not None else ""


def _approvals(request: Request, info: ResourceInfo | None) -> tuple[str, str]:
    """The resource's approval history once this event is done: (before, now)."""
    now = "" if request.kind == "release" else _declared_approval(request.declared)
    history = info.approvals if info is not None else None
    if history is None:
        return (_declared_approval(request.baseline), now)
    return history if history[1] == now else (history[1], now)


def _may_be_rollback(builder: _Builder, request: Request, mine: Manager | None) -> bool:
    """Whether PendingManualApproval declared for a decided package may be
    CloudFormation's rollback (nothing in the event says so), or no new declaration:
    the resource declared Pending on this package before (the rollback of a
    replacement comes back so); the rollback of a replacement that failed; an Update
    whose old and new are swapped against the record's history (Pending before, the
    old properties' value now); or a history not known."""
    info = builder.ownership.resources.get(builder.resource)
    history = info.approvals if info is not None else None
    if (mine is not None and mine.value == rules.PENDING) or (history is not None and history[1] == rules.PENDING):
        return True
    if request.kind != "update":
        return request.kind == "replacement-rollback"
    old = _declared_approval(request.baseline)
    if history is None or old == rules.PENDING:
        return True
    return history == (rules.PENDING, old)


def _pending_approval(builder: _Builder, wanted: dict[Item, Any], request: Request) -> None:
    """PendingManualApproval declared for a package already decided: SageMaker has no
    way back (rules.APPROVAL_TRANSITIONS). A new declaration of it (a Create, a
    replacement, an Update that is no rollback) is refused before any call. In a
    rollback, a resource that decided the approval gives it back instead; a resource
    that declared Pending before leaves it as it is, with a warning."""
    current = builder.live.get("ModelApprovalStatus")
    if wanted.get(APPROVAL) != rules.PENDING or current in (None, rules.PENDING):
        return
    mine = builder.ownership.entry(APPROVAL).manager(builder.resource)
    if not _may_be_rollback(builder, request, mine):
        raise _no_way_back(current)
    del wanted[APPROVAL]
    if mine is not None and mine.value != rules.PENDING:
        # Left below: given back as the ownership rules say; another manager keeps it.
        setter = builder.ownership.entry(APPROVAL).without(builder.resource).setter
        builder.warnings.append(
            f"ModelApprovalStatus is declared {rules.PENDING} (a rollback), and SageMaker has no way back: "
            + (f"this resource gives its approval back, but {resource_name(setter.resource)} declares {setter.value}"
               if setter is not None else "this resource gives its approval back")
        )
        return
    # A rollback must never fail: the approval someone else decided is left as it is.
    builder.kept.add(APPROVAL)
    builder.warnings.append(
        f"ModelApprovalStatus is declared {rules.PENDING} but the package is {current}, and SageMaker has "
        "no way back; left as it is"
    )


def _no_way_back(current: str) -> RuleRefusal:
    return RuleRefusal(
        f"the package is already {current}, and SageMaker has no way back to {rules.PENDING} "
        f"(declare {rules.REJECTED} to withdraw an approval)",
        "ModelApprovalStatus",
    )


@dataclass
class _Builder:
    """The changes of one plan, and the ownership they leave, item by item."""

    resource: str
    live: Mapping[str, Any]
    ownership: Ownership
    overwrite: bool
    changes: list[Change] = field(default_factory=list)
    entries: dict[Item, Entry] = field(default_factory=dict)
    expect: dict[Item, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    kept: set[Item] = field(default_factory=set)  # declared, but neither set nor left
    releases: int = 0

    def declare_all(self, wanted: Mapping[Item, Any]) -> None:
        held_by_others = []
        for item, value in wanted.items():
            if self._held_by_someone_else(item, value):
                held_by_others.append(item[1])
        if held_by_others and not self.overwrite:
            raise MetadataConflict(
                f"keys already hold other values on the package: {', '.join(sorted(held_by_others))} "
                '(set OverwriteExistingMetadata to "true" to take them over)',
                METADATA,
            )
        for item, value in wanted.items():
            self.declare(item, value)

    def _held_by_someone_else(self, item: Item, value: Any) -> bool:
        """A metadata key that holds another value, set by no manager (the pipeline,
        a person), which this resource starts to manage or changes its value of."""
        if item[0] != "metadata":
            return False
        entry = self.ownership.entry(item)
        mine = entry.manager(self.resource)
        current = live_value(self.live, item)
        if current is None or current == value or (mine is not None and mine.value == value):
            return False
        return not any(manager.value == current for manager in entry.managers)

    def declare(self, item: Item, value: Any) -> None:
        entry = self.ownership.entry(item)
        mine = entry.manager(self.resource)
        current = live_value(self.live, item)
        sending = not holds(item, value, current)
        if mine is not None and _same_value(item, mine.value, value):
            setter = entry.setter
            if setter is None or setter.resource != self.resource or not sending:
                return  # held as declared, or by a later setter
            # Changed out of band since: set back, a change of this resource's own.
            updated = replace(entry, managers=tuple(replace(m, changed=True) if m.resource == self.resource else m
                                                    for m in entry.managers))
        else:
            others = [
                m for m in entry.managers if m.resource != self.resource and not _same_value(item, m.value, value)
            ]
            if others and not (item[0] == "metadata" and self.overwrite):
                hint = ' (set OverwriteExistingMetadata to "true" to take it over)' if item[0] == "metadata" else ""
                error = MetadataConflict if item[0] == "metadata" else OwnershipConflict
                holder = resource_name(others[-1].resource)
                raise error(f"managed by {holder} with another value{hint}", item_path(item))
            updated = entry.declared_by(self.resource, value, changed=sending or (mine is not None and mine.changed))
        if sending:
            if not updated.has_prior:
                updated = replace(updated, prior=current)
            self._set(item, value, current)
        self.entries[item] = updated

    def _set(self, item: Item, value: Any, current: Any) -> None:
        self.changes += _changes(item, value, current)
        self.expect[item] = value

    def leave(self, item: Item) -> None:
        """The resource stops declaring `item`: it leaves the managers, and the item
        gets the value of the remaining setter, or its prior, while the live value
        is still the one this resource declared."""
        entry = self.ownership.entry(item)
        mine = entry.manager(self.resource)
        assert mine is not None  # noqa: S101 - called for managed items only
        rest = entry.without(self.resource)
        self.entries[item] = rest if rest.managers else Entry(left=entry.left)
        current = live_value(self.live, item)
        setter = rest.setter
        if not holds(item, mine.value, current):
            if setter is None or not holds(item, setter.value, current):
                self.warnings.append(f"{item_name(item)} was changed since it was declared; left on the package")
            return
        if setter is not None:
            target = setter.value
        elif entry.has_prior:
            target = entry.prior
        else:
            return  # never changed by a resource: left as it is
        self.releases += 1
        if item == APPROVAL:
            target = rules.released_approval(target, current)
        if holds(item, target, current):
            return
        restored = _restoring(item, target)
        if restored is _UNSETTABLE:
            self.warnings.append(
                f"{item_name(item)} was absent before and SageMaker cannot unset it; left on the package"
            )
            return
        left = Left(self.resource, mine.value, target)
        self.changes += [replace(change, release=left) for change in _changes(item, restored, current)]
        self.expect[item] = restored
        if item == ("field", "ModelCard"):
            absent = [part for part in (current or {}) if part not in (target or {})]
            if absent:
                self.warnings.append(f"ModelCard.{', ModelCard.'.join(absent)} absent before; left on the package")

    def remove_listed(self, declared: Properties, baseline: Properties | None, releasing: bool) -> None:
        """CustomerMetadataPropertiesToRemove, on a Create and when the list changes:
        keys no other resource manages (removing one wins over giving it back)."""
        if releasing or (baseline is not None and sorted(baseline.keys_to_remove) == sorted(declared.keys_to_remove)):
            return
        live_metadata = self.live.get("CustomerMetadataProperties") or {}
        for key in declared.keys_to_remove:
            item: Item = ("metadata", key)
            entry = self.ownership.entry(item)
            others = [m for m in entry.managers if m.resource != self.resource]
            if others:
                raise MetadataConflict(
                    f"{key} is listed for removal but managed by {resource_name(others[-1].resource)}", REMOVE
                )
            if entry.manager(self.resource) is not None:
                self.entries[item] = Entry(left=entry.left)
                self.kept.add(item)
            if key in live_metadata:
                self.changes.append(Change(None, {REMOVE: [key]}))

    def specifications(self, declared: Properties, baseline: Properties | None) -> None:
        on_package = {s.get("Name"): s for s in self.live.get("AdditionalInferenceSpecifications") or []}
        added: list[Mapping[str, Any]] = []
        for i, spec in enumerate(declared.specifications):
            existing = on_package.get(spec["Name"])
            if existing is None:
                added.append(spec)
            elif not same(spec, project(existing, _specification_shape())):
                raise SpecificationConflict(
                    f"{spec['Name']} is already on the package with other content; "
                    "specifications are append-only, so give the changed one a new Name",
                    f"{SPECS}[{i}]",
                )
        if len(on_package) + len(added) > rules.MAX_SPECIFICATIONS:
            raise SpecificationConflict(
                f"the package would hold {len(on_package) + len(added)} additional inference "
                f"specifications; SageMaker allows {rules.MAX_SPECIFICATIONS}",
                SPECS,
            )
        if added:
            # Cannot be undone: in the last call, so that no call can fail after it.
            self.changes.append(Change(None, {SPECS: list(added)}, last=True))
        declared_names = {s["Name"] for s in declared.specifications}
        for spec in baseline.specifications if baseline else ():
            if spec["Name"] not in declared_names and spec["Name"] in on_package:
                self.warnings.append(
                    f"AdditionalInferenceSpecification {spec['Name']} was dropped from the properties; "
                    "it stays on the package (SageMaker cannot remove one)"
                )

    def ownership_after(self, refused: Sequence[tuple[Change, str]]) -> Ownership:
        """The ownership once every call landed; a release the rules refuse is left,
        and recorded so."""
        entries = dict(self.entries)
        for change, _ in refused:
            if change.item is not None and change.release is not None:
                entries[change.item] = replace(entries.get(change.item, Entry()), left=change.release)
        return self.ownership.with_entries(entries)


_UNSETTABLE: Any = object()


def _restoring(item: Item, target: Any) -> Any:
    """The value a request sends to give `item` its `target` back: a metadata key
    absent before is removed (None); a field absent before is "" where SageMaker
    takes it, otherwise it cannot be unset (rules.CANNOT_UNSET)."""
    if target is not None or item[0] == "metadata":
        return target
    return "" if item[1] in EMPTIABLE else _UNSETTABLE


def reverted_to(item: Item, before: Any, current: Any) -> bool:
    """Whether `current` is `before`, or what giving `item` back its value `before`
    leaves (an absent description or source is given back as "")."""
    restored = _restoring(item, before)
    return any(holds(item, target, current) and holds(item, current, target)
               for target in (before, restored) if target is not _UNSETTABLE)


def _changes(item: Item, value: Any, current: Any) -> list[Change]:
    """The request parts that give `item` the `value` (None: a metadata key removed)."""
    kind, name = item
    if kind == "metadata":
        return [Change(item, {REMOVE: [name]} if value is None else {METADATA: {name: value}})]
    if name == "ModelCard":
        return [Change(item, {"ModelCard": part}, chain="ModelCard") for part in card_changes(value, current)]
    # The approval, and a stage absent before (it cannot be unset), ride in the last call.
    last = name == "ModelApprovalStatus" or (name == "ModelLifeCycle" and current is None)
    return [Change(item, {name: value}, last=last)]


def _same_value(item: Item, a: Any, b: Any) -> bool:
    return holds(item, a, b) and holds(item, b, a) if item == ("field", "ModelCard") else bool(a == b)


def _left_warning(change: Change, why: str) -> str:
    name = item_name(change.item) if change.item is not None else ", ".join(change.request)
    return f"{name} not given back: {why}; left on the package"


def card_changes(declared: Mapping[str, Any], live: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The model card's changes, in the order SageMaker takes them: content and
    status apart; an Archived card takes no content, so its status goes first,
    otherwise the content goes first and the status (say, Approved) after."""
    live = live or {}
    content: dict[str, Any] = {}
    status: dict[str, Any] = {}
    if "ModelCardContent" in declared and not same_card_content(
        declared["ModelCardContent"], live.get("ModelCardContent")
    ):
        content = {"ModelCardContent": declared["ModelCardContent"]}
    if "ModelCardStatus" in declared and declared["ModelCardStatus"] != live.get("ModelCardStatus"):
        status = {"ModelCardStatus": declared["ModelCardStatus"]}
    ordered = [status, content] if live.get("ModelCardStatus") == "Archived" else [content, status]
    return [part for part in ordered if part]


def _specification_shape() -> Any:
    from botocore.model import ListShape

    specs = member(SPECS)
    assert isinstance(specs, ListShape)  # noqa: S101 - botocore's model: a list of specifications
    return specs.member


# --- calls --------------------------------------------------------------------------


def pack(
    arn: str, changes: Sequence[Change], live: Mapping[str, Any]
) -> tuple[tuple[Call, ...], list[tuple[Change, str]]]:
    """The fewest calls, in order, that SageMaker's rules accept: each change goes
    into the earliest call that takes it (after its chain's previous change; a
    `last` change into the last call), else into a call of its own. A change the
    rules refuse even alone is tried again once the others are placed (a key set
    where another is removed, at the 50 keys' limit). Returns the calls, and the
    changes the rules still refuse, with why."""
    groups: list[list[Change]] = []
    deferred: list[Change] = []
    ordered = [c for c in changes if not c.last] + [c for c in changes if c.last]
    for change in ordered:
        if not _place(arn, groups, change, live, alone=True):
            deferred.append(change)
    refused: list[tuple[Change, str]] = []
    for change in deferred:
        if not _place(arn, groups, change, live, alone=True):
            refused.append((change, _refusal(arn, [*groups, [change]], live) or "refused"))
    return tuple(Call(merged(arn, group), tuple(group)) for group in groups), refused


def _place(arn: str, groups: list[list[Change]], change: Change, live: Mapping[str, Any], *, alone: bool) -> bool:
    """Put `change` into the earliest call that takes it, or a call of its own after
    the others; False when SageMaker's rules refuse it even so."""
    chained = (i for i, group in enumerate(groups) for c in group if change.chain and c.chain == change.chain)
    lowest = max(chained, default=0)
    candidates = range(max(len(groups) - 1, 0), len(groups)) if change.last else range(lowest, len(groups))
    for index in candidates:
        trial = [*groups[:index], [*groups[index], change], *groups[index + 1 :]]
        if _refusal(arn, trial, live) is None:
            groups[index].append(change)
            return True
    if alone and _refusal(arn, [*groups, [change]], live) is None:
        groups.append([change])
        return True
    return False


def _refusal(arn: str, groups: Sequence[Sequence[Change]], live: Mapping[str, Any]) -> str | None:
    state: Mapping[str, Any] = live
    for group in groups:
        try:
            state = rules.apply(state, merged(arn, group))
        except rules.Refusal as refusal:
            return str(refusal)
    return None


def merged(arn: str, changes: Sequence[Change]) -> dict[str, Any]:
    """One request of `changes`: metadata, removals, a card's parts and specifications merged."""
    request: dict[str, Any] = {"ModelPackageArn": arn}
    for change in changes:
        for name, value in change.request.items():
            if name in (METADATA, "ModelCard"):
                request[name] = {**request.get(name, {}), **value}
            elif name in (REMOVE, SPECS):
                request[name] = [*request.get(name, []), *value]
            else:
                request[name] = value
    if REMOVE in request:
        request[REMOVE] = sorted(set(request[REMOVE]))
    return {name: request[name] for name in ORDER if name in request}


def declared_refusal(refused: Sequence[tuple[Change, str]]) -> RuleRefusal | None:
    """The error of the first declared change SageMaker's rules refuse (a release so
    refused is left instead)."""
    for change, why in refused:
        if change.release is None:
            path = item_path(change.item) if change.item is not None else ", ".join(change.request)
            return RuleRefusal(why, path)
    return None


# --- a failed event's revert ----------------------------------------------------------


def plan_revert(
    pre_image: Mapping[str, Any], applied: Sequence[Mapping[str, Any]], current: Mapping[str, Any] | None = None
) -> tuple[tuple[Call, ...], tuple[str, ...]]:
    """The calls that give back what `applied` (calls made on the package as
    `pre_image` described it, in order) changed, the newest call's items first, in
    the fewest calls; and what none can give back. `current`: the package as
    described after them (else as the calls leave it, each one taken as landed)."""
    after = dict(pre_image)
    for call in applied:
        after = simulate(after, call)
    if current is not None:
        after = dict(current)
    touched: list[Item] = []
    left: list[str] = []
    for call in reversed(applied):
        touched += [("metadata", key) for key in [*call.get(METADATA, {}), *call.get(REMOVE, [])]]
        touched += [("field", name) for name in FIELDS if name in call]
        if SPECS in call:
            left.append(SPECS)
    changes: list[Change] = []
    for item in dict.fromkeys(touched):
        prior, now = live_value(pre_image, item), live_value(after, item)
        if item == ("field", "ModelCard"):  # a part absent before cannot be unset
            left += [f"ModelCard.{part}" for part in (now or {}) if part not in (prior or {})]
        if holds(item, prior, now):
            continue
        restored = _restoring(item, prior)
        if restored is _UNSETTABLE:
            left.append(item_name(item))
            continue
        if item == APPROVAL and not rules.approval_allowed(now, restored):
            left.append(item_name(item))  # no way back (to PendingManualApproval)
            continue
        changes += _changes(item, restored, now)
    arn = str(applied[0]["ModelPackageArn"]) if applied else ""
    packed, refused = pack(arn, changes, after)
    left += [item_name(c.item) if c.item else ", ".join(c.request) for c, _ in refused]
    return packed, tuple(dict.fromkeys(left))


def simulate(live: Mapping[str, Any], call: Mapping[str, Any]) -> dict[str, Any]:
    """The package as SageMaker leaves it after a call it took (rules.apply)."""
    try:
        return rules.apply(live, call)
    except rules.Refusal:
        return dict(live)  # refused: nothing changed
