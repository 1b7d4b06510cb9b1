"""Drift: where a package's live values are not what its record says is declared.
Pure: the record's ownership and the described package in, the drifted items out.

An item has drifted when its live value is not the one its setter (the manager
that set it most recently) declares, compared as the planner compares (`holds`);
an item that a release could not give back (SageMaker refused it, marked left)
has drifted until it holds what the release wanted. Values are shown as they may
be logged: those botocore marks sensitive (a model card's content) redacted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .ownership import Ownership, holds, item_name, item_path, live_value, resource_parts
from .record import settle

if TYPE_CHECKING:
    from .ownership import Item
    from .record import Record

# changed: live differs from what the setter declares; left: a release SageMaker
# refused still differs from what it wanted to give back.
DriftKind = Literal["changed", "left"]


@dataclass(frozen=True)
class Drift:
    item: Item
    kind: DriftKind
    declared: Any  # what should be live (for "left": what the release wanted), shown
    live: Any  # None: absent
    # The resources it departs from (StackId|LogicalResourceId): for "changed" the
    # setter first, then the other managers; for "left" the one that gave it up.
    resources: tuple[str, ...]

    @property
    def name(self) -> str:
        return item_name(self.item)

    @property
    def path(self) -> str:
        return item_path(self.item)

    def fields(self) -> dict[str, Any]:
        """The structured fields of its log line and of the report's JSON."""
        described = [_described(resource) for resource in self.resources]
        return {
            "item": self.name,
            "path": self.path,
            "kind": self.kind,
            "declared": self.declared,
            "live": self.live,
            # The resource whose declaration it departs from, under the names that
            # CloudFormation events' log lines use, then every one named.
            **(described[0] if described else {"StackName": "", "LogicalResourceId": "", "StackId": ""}),
            "resources": described,
        }


def drift(ownership: Ownership, live: Mapping[str, Any]) -> list[Drift]:
    """Every managed or left item of `ownership` whose value on `live` (a
    DescribeModelPackage answer; empty for a package that no longer exists) is not
    what it should be, in the order of the items."""
    found: list[Drift] = []
    for item, entry in sorted(ownership.entries.items()):
        current = live_value(live, item)
        setter = entry.setter
        if setter is not None:
            if not holds(item, setter.value, current):
                others = tuple(m.resource for m in reversed(entry.managers) if m.resource != setter.resource)
                found.append(Drift(item, "changed", shown(item, setter.value), shown(item, current),
                                   (setter.resource, *others)))
        elif entry.left is not None and not holds(item, entry.left.wanted, current):
            found.append(Drift(item, "left", shown(item, entry.left.wanted), shown(item, current),
                               (entry.left.resource,)))
    return found


def declared_ownership(record: Record, live: Mapping[str, Any]) -> Ownership:
    """What the record declares of the package now. An intent not confirmed yet (an
    event is making its calls, or died) is settled from the live package, as the
    next event on it would settle it: an item whose call landed is compared with
    the intent, any other with what was committed. So the package's own events,
    which SageMaker announces too, are never taken for drift."""
    if record.lease is None:
        return record.ownership
    return settle(record.ownership, record.lease, live)


def shown(item: Item, value: Any) -> Any:
    """A value as it may be logged: the parts botocore marks sensitive redacted."""
    if value is None or item[0] == "metadata":
        return value
    from .shapes import member, redact

    return redact(value, member(item[1]))


def _described(resource: str) -> dict[str, str]:
    stack_id, stack, logical_id = resource_parts(resource)
    return {"StackName": stack, "LogicalResourceId": logical_id, "StackId": stack_id}
