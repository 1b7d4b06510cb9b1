"""The package's record (record.py): its statuses, an intent settled from the live
package (what landed confirmed, what did not dropped), a record of the earlier format
folded in, items left unreleased resolved, and the JSON the table stores."""

from __future__ import annotations

from model_package_resource.ownership import Answer, Entry, Left, Manager, Ownership, ResourceInfo
from model_package_resource.record import (
    COMMITTED,
    EXPIRED,
    IN_PROGRESS,
    Lease,
    Legacy,
    Record,
    decode_lease,
    decode_ownership,
    encode_lease,
    encode_ownership,
    fold,
    resolved,
    settle,
)
from tests.helpers import ARN
from tests.unit.planning import APPROVAL, ME, OTHER, entry, live

TICKET = ("metadata", "ticket")


def test_the_status_is_derived_from_the_lease_and_the_clock() -> None:
    lease = Lease("owner", "r", ME, expires=100.0, intent=Ownership())
    assert Record(ARN).status(50.0) == COMMITTED
    assert Record(ARN, 1, lease=lease).status(99.9) == IN_PROGRESS
    assert Record(ARN, 1, lease=lease).status(100.0) == EXPIRED


def intent_of(*changed: tuple[tuple[str, str], Entry]) -> Ownership:
    return Ownership(dict(changed), {ME: ResourceInfo(created="r")})


def test_an_intent_is_settled_item_by_item_from_the_live_package() -> None:
    committed = Ownership({TICKET: entry((OTHER, "t"), prior=None)})
    intent = intent_of(
        (APPROVAL, entry((ME, "Approved"), prior="PendingManualApproval")),  # its call landed
        (TICKET, entry((OTHER, "t"), (ME, "t"), prior=None)),  # a change of the record alone
        (("metadata", "env"), entry((ME, "prod"), prior=None)),  # its call did not land
    )
    lease = Lease("dead", "r", ME, 1.0, intent, expect={APPROVAL: "Approved", ("metadata", "env"): "prod"})
    settled = settle(committed, lease, live({"ticket": "t"}, ModelApprovalStatus="Approved"))
    assert settled.entries == {APPROVAL: entry((ME, "Approved"), prior="PendingManualApproval"),
                               TICKET: entry((OTHER, "t"), prior=None)}
    assert settled.resources[ME].created == "r" and settled.resources[ME].last is None


def test_when_every_call_landed_the_whole_intent_is_confirmed_record_alone_changes_included() -> None:
    committed = Ownership({TICKET: entry((OTHER, "t"), prior=None)})
    intent = intent_of((APPROVAL, entry((ME, "Approved", True), prior="PendingManualApproval")),
                       (TICKET, entry((OTHER, "t"), (ME, "t"), prior=None)))
    lease = Lease("dead", "r", ME, 1.0, intent, expect={APPROVAL: "Approved"})
    package = live({"ticket": "t"}, ModelApprovalStatus="Approved")
    assert settle(committed, lease, package).entries == intent.entries  # the event answered SUCCESS, or would
    # known to have failed (its own release of the lease): only what landed is kept
    assert settle(committed, lease, package, failed=True).entries[TICKET] == committed.entries[TICKET]


def test_a_release_that_did_not_land_keeps_the_resource_as_manager() -> None:
    committed = Ownership({TICKET: entry((ME, "t"), prior=None)})
    lease = Lease("dead", "r", ME, 1.0, Ownership(), expect={TICKET: None})
    assert settle(committed, lease, live({"ticket": "t"})).entries == committed.entries
    assert settle(committed, lease, live()).entries == {}


def test_a_record_of_the_earlier_format_is_folded_in() -> None:
    legacy = Legacy(ME, 3, fields={"ModelApprovalStatus": "PendingManualApproval"}, metadata={"ticket": None})
    folded = fold(Ownership({TICKET: entry((OTHER, "t"))}), legacy, {APPROVAL: "Approved"},
                  live({"ticket": "t"}, ModelApprovalStatus="Approved"))
    assert folded.entries[APPROVAL] == entry((ME, "Approved", True), prior="PendingManualApproval")
    # the resource changed the key before the other joined it: the earliest setter, its prior the item's
    assert folded.entries[TICKET] == entry((ME, "t", True), (OTHER, "t"), prior=None)
    assert fold(Ownership(), Legacy(ME, 2, released=True), {}, live()) == Ownership()
    # folded once: a resource already in the package's record is not folded again
    assert fold(folded, legacy, {}, live()) == folded


def test_an_item_left_unreleased_is_resolved_once_it_holds_what_was_wanted() -> None:
    left = Ownership({("field", "SourceUri"): Entry(left=Left(ME, "s3://mine", None))})
    assert resolved(left, live(SourceUri="s3://mine")) == left
    assert resolved(left, live()).entries == {}


def test_the_json_round_trips() -> None:
    ownership = Ownership(
        {APPROVAL: Entry((Manager(ME, "Approved"), Manager(OTHER, "Approved")), "PendingManualApproval"),
         TICKET: entry((ME, "t")),
         ("field", "ModelCard"): Entry(left=Left(ME, {"ModelCardStatus": "Approved"}, None))},
        {ME: ResourceInfo("r", "arn:aws:iam::1:role/x", Answer("r", "SUCCESS", ARN, "", {"a": "b"}), None),
         OTHER: ResourceInfo("o", gone_at=5.0)},
    )
    assert decode_ownership(encode_ownership(ownership)) == ownership
    lease = Lease("owner", "r", ME, 12.5, ownership, {APPROVAL: "Approved", TICKET: None})
    assert decode_lease(encode_lease(lease)) == lease
