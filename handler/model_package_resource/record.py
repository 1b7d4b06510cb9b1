"""The package's record: its ownership (ownership.py), the version every write is
conditional on, and the lease of the event changing it, with that event's intent.
Pure: the record's statuses, settling an intent that was never confirmed, folding
a record of the earlier format, and the JSON the table stores.

The lease is modelled on the in-progress record of Powertools' idempotency
utility. The timeline of one event that changes the package:

    read ── plan ── lease + intent ── calls ── confirm (intent committed, lease gone)
                    (conditional on the version read)

An event that finds the record IN_PROGRESS (another event's lease, not expired)
waits and reads again. One that finds it EXPIRED (the other event died, or could
not confirm) settles the intent from the live package first: what landed is
confirmed, what did not is dropped."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .ownership import (
    NO_PRIOR,
    Answer,
    Entry,
    Item,
    Left,
    Manager,
    Ownership,
    ResourceInfo,
    holds,
    live_value,
)

# The format this version writes. Format 1 (one record per resource and package,
# holding priors only) is folded into the package's record on first touch; a
# newer format is refused, never misread.
FORMAT = 2
LEGACY_FORMAT = 1
COMMITTED, IN_PROGRESS, EXPIRED = "COMMITTED", "IN_PROGRESS", "EXPIRED"


@dataclass(frozen=True)
class Lease:
    owner: str  # the invocation holding it (two deliveries of one event differ)
    request: str  # its RequestId
    resource: str
    expires: float  # epoch seconds: the holder's own deadline
    intent: Ownership  # the ownership the event leaves once its calls landed
    # The live value of each item a call changes, once that call landed.
    expect: Mapping[Item, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Legacy:
    """A record of format 1: the priors one resource held of one package."""

    resource: str
    version: int
    fields: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str | None] = field(default_factory=dict)
    released: bool = False


@dataclass(frozen=True)
class Record:
    package: str
    version: int = 0  # 0: the table holds no record of the package
    ownership: Ownership = field(default_factory=Ownership)
    lease: Lease | None = None
    writer: str = ""  # the invocation that wrote this version
    legacy: Legacy | None = None  # the event's resource's record of format 1, if any

    def status(self, now: float) -> str:
        if self.lease is None:
            return COMMITTED
        return IN_PROGRESS if now < self.lease.expires else EXPIRED


def settle(committed: Ownership, lease: Lease, live: Mapping[str, Any], *, failed: bool = False) -> Ownership:
    """An intent never confirmed, settled from the live package. When every call
    landed (each item the intent's calls change holds what they set), the event did
    all it meant to, and answered SUCCESS if it answered at all: its whole intent is
    confirmed, changes made in the record alone included. Otherwise it died, or
    failed, midway: each item whose call landed takes the intent's entry, every other
    keeps the committed one. `failed`: the event is known to have failed (its own
    release of the lease): only what landed is kept. The event's answer is not kept
    (the record holds only answers it confirmed)."""
    landed = {item for item, value in lease.expect.items() if holds(item, value, live_value(live, item))}
    if landed == set(lease.expect) and not failed:
        return lease.intent.with_resource(lease.resource, _without_answer(lease, committed))
    changed = {
        item: lease.intent.entry(item)
        for item in sorted(set(committed.entries) | set(lease.intent.entries))
        if item in landed and lease.intent.entry(item) != committed.entry(item)
    }
    return committed.with_entries(changed).with_resource(lease.resource, _without_answer(lease, committed))


def _without_answer(lease: Lease, committed: Ownership) -> ResourceInfo | None:
    info = lease.intent.resources.get(lease.resource)
    if info is None:
        return committed.resources.get(lease.resource)
    before = committed.resources.get(lease.resource)
    return replace(info, last=before.last if before else None)


def resolved(ownership: Ownership, live: Mapping[str, Any]) -> Ownership:
    """Items left unreleased that now hold what their release wanted (someone set it
    by hand): the mark goes."""
    changed = {
        item: replace(entry, left=None)
        for item, entry in ownership.entries.items()
        if entry.left is not None and holds(item, entry.left.wanted, live_value(live, item))
    }
    return ownership.with_entries(changed)


def fold(ownership: Ownership, legacy: Legacy, declared: Mapping[Item, Any], live: Mapping[str, Any]) -> Ownership:
    """A record of format 1 folded in: its resource manages each item it holds a
    prior of (the earliest setter, whose prior is the item's), with the value it
    declares now, or the live one. Once its resource is in the package's record, the
    fold is done (its old record may still await deletion): nothing is folded again."""
    if legacy.released or legacy.resource in ownership.resources:
        return ownership
    held: dict[Item, Any] = {("field", k): v for k, v in legacy.fields.items()}
    held.update({("metadata", k): v for k, v in legacy.metadata.items()})
    changed: dict[Item, Entry] = {}
    for item, prior in held.items():
        entry = ownership.entry(item)
        if entry.manager(legacy.resource) is not None:
            continue
        value = declared.get(item, live_value(live, item))
        changed[item] = replace(entry, managers=(Manager(legacy.resource, value, changed=True), *entry.managers),
                                prior=prior)
    folded = ownership.with_entries(changed)
    if legacy.resource not in folded.resources:
        folded = folded.with_resource(legacy.resource, ResourceInfo())
    return folded


# --- JSON --------------------------------------------------------------------------


def item_key(item: Item) -> str:
    return f"{item[0]}:{item[1]}"


def parse_item(key: str) -> Item:
    kind, _, name = key.partition(":")
    if kind == "field":
        return ("field", name)
    if kind == "metadata":
        return ("metadata", name)
    raise ValueError(f"not an item: {key[:40]!r}")


def encode_ownership(ownership: Ownership) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for item, entry in ownership.entries.items():
        encoded: dict[str, Any] = {
            "managers": [[m.resource, m.value, True] if m.changed else [m.resource, m.value] for m in entry.managers]
        }
        if entry.has_prior:
            encoded["prior"] = entry.prior
        if entry.left is not None:
            encoded["left"] = {"resource": entry.left.resource, "value": entry.left.value,
                               "wanted": entry.left.wanted}
        entries[item_key(item)] = encoded
    resources: dict[str, Any] = {}
    for resource, info in ownership.resources.items():
        encoded = {"created": info.created}
        if info.role:
            encoded["role"] = info.role
        if info.gone_at is not None:
            encoded["gone_at"] = info.gone_at
        if info.approvals is not None:
            encoded["approvals"] = list(info.approvals)
        if info.last is not None:
            last = info.last
            encoded["last"] = {"request": last.request, "status": last.status, "physical": last.physical,
                               "reason": last.reason, "data": dict(last.data)}
            if last.signed_at is not None:
                encoded["last"]["signed"] = last.signed_at
        resources[resource] = encoded
    return {"entries": entries, "resources": resources}


def decode_ownership(data: Mapping[str, Any]) -> Ownership:
    entries: dict[Item, Entry] = {}
    for key, encoded in data.get("entries", {}).items():
        left = encoded.get("left")
        entries[parse_item(key)] = Entry(
            managers=tuple(Manager(str(m[0]), m[1], bool(m[2]) if len(m) > 2 else False)
                           for m in encoded.get("managers", [])),
            prior=encoded.get("prior", NO_PRIOR),
            left=Left(str(left["resource"]), left["value"], left["wanted"]) if left else None,
        )
    resources: dict[str, ResourceInfo] = {}
    for resource, encoded in data.get("resources", {}).items():
        last = encoded.get("last")
        resources[str(resource)] = ResourceInfo(
            created=str(encoded.get("created", "")),
            role=encoded.get("role"),
            gone_at=encoded.get("gone_at"),
            approvals=(str(encoded["approvals"][0]), str(encoded["approvals"][1])) if "approvals" in encoded else None,
            last=Answer(str(last["request"]), str(last["status"]), str(last["physical"]), str(last.get("reason", "")),
                        dict(last.get("data", {})), last.get("signed")) if last else None,
        )
    return Ownership(dict(sorted(entries.items())), dict(sorted(resources.items())))


def encode_lease(lease: Lease) -> str:
    return dumps({
        "owner": lease.owner, "request": lease.request, "resource": lease.resource, "expires": lease.expires,
        "intent": encode_ownership(lease.intent),
        "expect": {item_key(item): value for item, value in sorted(lease.expect.items())},
    })


def decode_lease(text: str) -> Lease:
    data = json.loads(text)
    return Lease(
        owner=str(data["owner"]), request=str(data["request"]), resource=str(data["resource"]),
        expires=float(data["expires"]), intent=decode_ownership(data["intent"]),
        expect={parse_item(key): value for key, value in data.get("expect", {}).items()},
    )


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
