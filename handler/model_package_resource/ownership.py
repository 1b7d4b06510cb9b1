"""Who manages what on one package, modelled on Kubernetes server-side apply's
managed fields. Pure data and the comparisons it needs; the planner applies the
rules (join, conflict, takeover, leave), the record stores it.

Every field and metadata key of a package (an `Item`) has managers (resources,
"StackId|LogicalResourceId", each with the value it declares, in the order they
set it: the last is the item's setter) and at most one prior (its value before the
first of them changed it; None: absent). An item that a release could not give
back (SageMaker refused it) stays, marked left, until someone resolves it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .shapes import member, project, same, same_card_content

Kind = Literal["field", "metadata"]
Item = tuple[Kind, str]  # ("field", "ModelApprovalStatus") or ("metadata", "ticket")
APPROVAL: Item = ("field", "ModelApprovalStatus")


class _NoPrior:
    def __repr__(self) -> str:
        return "NO_PRIOR"


# No prior: no manager ever changed the item (each declared the value it held).
NO_PRIOR: Any = _NoPrior()


def item_name(item: Item) -> str:
    """How messages name an item: `ModelApprovalStatus`, `metadata ticket`."""
    return item[1] if item[0] == "field" else f"metadata {item[1]}"


def item_path(item: Item) -> str:
    """The property path of an item, for a Reason."""
    return item[1] if item[0] == "field" else f"CustomerMetadataProperties.{item[1]}"


def resource_key(stack_id: str, logical_id: str) -> str:
    return f"{stack_id}|{logical_id}"


def resource_parts(resource: str) -> tuple[str, str, str]:
    """(StackId, stack name, LogicalResourceId) of a resource key (StackId|LogicalResourceId)."""
    stack_id, _, logical_id = resource.rpartition("|")
    parts = stack_id.split(":")[-1].split("/")
    stack = parts[1] if len(parts) > 1 else stack_id
    return stack_id, stack, logical_id


def resource_name(resource: str) -> str:
    """`stack NAME, resource LOGICAL_ID` from a resource key (StackId|LogicalResourceId)."""
    _, stack, logical_id = resource_parts(resource)
    return f"stack {stack}, resource {logical_id}"


@dataclass(frozen=True)
class Manager:
    resource: str
    value: Any
    # Whether this resource changed the item (a call was needed), or only joined it on
    # the value it held: a prior is given back only for a change some manager made.
    changed: bool = False


@dataclass(frozen=True)
class Left:
    """A release SageMaker refused: who gave the item up, what it had declared, and
    what the release would have given back (None: absent)."""

    resource: str
    value: Any
    wanted: Any


@dataclass(frozen=True)
class Entry:
    managers: tuple[Manager, ...] = ()
    prior: Any = NO_PRIOR
    left: Left | None = None

    @property
    def has_prior(self) -> bool:
        return self.prior is not NO_PRIOR

    @property
    def setter(self) -> Manager | None:
        """The manager that set the item most recently."""
        return self.managers[-1] if self.managers else None

    def manager(self, resource: str) -> Manager | None:
        return next((m for m in self.managers if m.resource == resource), None)

    def without(self, resource: str) -> Entry:
        return replace(self, managers=tuple(m for m in self.managers if m.resource != resource))

    def declared_by(self, resource: str, value: Any, changed: bool = False) -> Entry:
        """`resource` as the item's most recent setter, with `value`."""
        return replace(self, managers=(*self.without(resource).managers, Manager(resource, value, changed)))

    @property
    def empty(self) -> bool:
        return not self.managers and self.left is None


@dataclass(frozen=True)
class Answer:
    """What an event answered, for its redelivery."""

    request: str
    status: str
    physical: str
    reason: str = ""
    data: Mapping[str, str] = field(default_factory=dict)
    signed_at: float | None = None  # when CloudFormation signed the event (its ResponseURL's X-Amz-Date)


@dataclass(frozen=True)
class ResourceInfo:
    """What the record keeps of a resource besides the items it manages."""

    created: str = ""  # the RequestId of its Create (a redelivery continues it)
    role: str | None = None  # its RoleArn: the drift check describes as that role
    last: Answer | None = None
    gone_at: float | None = None  # released by its Delete (epoch seconds)
    # The ModelApprovalStatus its properties declared before their last change of it,
    # and now ("": none); None: not known (a record older than this). It tells
    # CloudFormation's rollback (old and new swapped) from a new declaration.
    approvals: tuple[str, str] | None = None


@dataclass(frozen=True)
class Ownership:
    entries: Mapping[Item, Entry] = field(default_factory=dict)
    resources: Mapping[str, ResourceInfo] = field(default_factory=dict)

    def entry(self, item: Item) -> Entry:
        return self.entries.get(item, Entry())

    def managed_by(self, resource: str) -> dict[Item, Manager]:
        found: dict[Item, Manager] = {}
        for item, entry in self.entries.items():
            mine = entry.manager(resource)
            if mine is not None:
                found[item] = mine
        return found

    def with_entries(self, changed: Mapping[Item, Entry]) -> Ownership:
        entries = {**self.entries, **changed}
        return replace(self, entries={k: v for k, v in sorted(entries.items()) if not v.empty})

    def with_resource(self, resource: str, info: ResourceInfo | None) -> Ownership:
        resources = {k: v for k, v in self.resources.items() if k != resource}
        if info is not None:
            resources[resource] = info
        return replace(self, resources=dict(sorted(resources.items())))

    def forget(self, resource: str) -> Ownership:
        """A resource made afresh under an old resource's id: the entries that the
        old one left are forgotten, never released (DeletionPolicy: Retain kept them).
        Its value stays as if someone else had set it: when it set the item first, that
        value is the prior of the managers after it. An item that no remaining manager
        changed keeps no prior either: what the old one changed stays, whoever leaves last."""
        kept: dict[Item, Entry] = {}
        for item in self.managed_by(resource):
            before = self.entry(item)
            entry = before.without(resource)
            if before.managers[0].resource == resource and entry.managers:
                entry = replace(entry, prior=before.managers[0].value)
            if not any(manager.changed for manager in entry.managers):
                entry = replace(entry, prior=NO_PRIOR)
            kept[item] = entry if entry.managers else Entry(left=entry.left)
        return self.with_entries(kept).with_resource(resource, None)

    def pruned(self, before: float) -> Ownership:
        """Without the resources released (deleted) before `before` that manage nothing."""
        managing = {m.resource for entry in self.entries.values() for m in entry.managers}
        managing |= {entry.left.resource for entry in self.entries.values() if entry.left is not None}
        resources = {
            k: v for k, v in self.resources.items()
            if k in managing or v.gone_at is None or v.gone_at >= before
        }
        return replace(self, resources=resources)

    @property
    def idle(self) -> bool:
        """Nothing managed, nothing left, every resource gone: the record may expire."""
        return not self.entries and all(info.gone_at is not None for info in self.resources.values())


# --- the live value of an item, and comparisons ------------------------------------


def live_value(live: Mapping[str, Any], item: Item) -> Any:
    """The item's value on the package (None: absent), cut to what a request may carry."""
    kind, name = item
    if kind == "metadata":
        return (live.get("CustomerMetadataProperties") or {}).get(name)
    value = live.get(name)
    return None if value is None else project(value, member(name))


def holds(item: Item, declared: Any, current: Any) -> bool:
    """Whether the live value `current` is the `declared` one: exactly, but for the
    fields SageMaker fills in itself; a model card's declared parts, its content
    compared as JSON."""
    if declared is None or current is None:
        return declared is None and current is None
    if item == ("field", "ModelCard"):
        return isinstance(current, Mapping) and all(
            same_card_content(value, current.get(part)) if part == "ModelCardContent" else value == current.get(part)
            for part, value in declared.items()
        )
    if item[0] == "metadata":
        return bool(declared == current)
    return same(declared, current)
