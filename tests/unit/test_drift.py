"""Drift from a record's ownership and a live package: pure tables (drift.py)."""

from __future__ import annotations

from typing import Any

import pytest

from model_package_resource.drift import declared_ownership, drift
from model_package_resource.ownership import Entry, Item, Left, Ownership
from model_package_resource.record import Lease, Record
from tests.helpers import ARN
from tests.unit.planning import APPROVAL, ME, OTHER, entry, live, owned

TICKET: Item = ("metadata", "ticket")
CARD: Item = ("field", "ModelCard")
STAGE: Item = ("field", "ModelLifeCycle")
CONTENT = '{"model_overview": {"model_creator": "ml-platform"}}'
EDITED = '{"model_overview": {"model_creator": "someone else"}}'


def found(ownership: Ownership, package: dict[str, Any]) -> list[tuple[str, str, Any, Any, tuple[str, ...]]]:
    return [(d.name, d.kind, d.declared, d.live, d.resources) for d in drift(ownership, package)]


CASES: list[tuple[str, Ownership, dict[str, Any], list[tuple[str, str, Any, Any, tuple[str, ...]]]]] = [
    ("equal", owned({APPROVAL: entry((ME, "Approved")), TICKET: entry((ME, "CAB-1"))}),
     live({"ticket": "CAB-1", "owner": "x"}, ModelApprovalStatus="Approved"), []),
    ("approval changed in the console",
     owned({APPROVAL: entry((ME, "Approved"), prior="PendingManualApproval")}),
     live(ModelApprovalStatus="Rejected"),
     [("ModelApprovalStatus", "changed", "Approved", "Rejected", (ME,))]),
    ("managed key edited", owned({TICKET: entry((ME, "CAB-1"), prior=None)}), live({"ticket": "CAB-9"}),
     [("metadata ticket", "changed", "CAB-1", "CAB-9", (ME,))]),
    ("managed key removed", owned({TICKET: entry((ME, "CAB-1"), prior=None)}), live({"other": "x"}),
     [("metadata ticket", "changed", "CAB-1", None, (ME,))]),
    ("keys no one declared are not drift", owned({TICKET: entry((ME, "CAB-1"))}),
     live({"ticket": "CAB-1", "accuracy": "0.2"}), []),
    ("several managers, the setter's value holds: no drift",
     owned({TICKET: entry((OTHER, "CAB-1"), (ME, "CAB-2"))}), live({"ticket": "CAB-2"}), []),
    ("several managers, an earlier manager's value is live: drift from the setter, every manager named",
     owned({TICKET: entry((OTHER, "CAB-1"), (ME, "CAB-2"))}), live({"ticket": "CAB-1"}),
     [("metadata ticket", "changed", "CAB-2", "CAB-1", (ME, OTHER))]),
    ("a nested field removed",
     owned({STAGE: entry((ME, {"Stage": "Staging", "StageStatus": "Approved", "StageDescription": "CAB-1"}))}),
     live(ModelLifeCycle={"Stage": "Staging", "StageStatus": "Approved"}),
     [("ModelLifeCycle", "changed", {"Stage": "Staging", "StageStatus": "Approved", "StageDescription": "CAB-1"},
       {"Stage": "Staging", "StageStatus": "Approved"}, (ME,))]),
    ("a model card's content compared as JSON: no drift",
     owned({CARD: entry((ME, {"ModelCardContent": CONTENT, "ModelCardStatus": "Approved"}))}),
     live(ModelCard={"ModelCardContent": CONTENT.replace(" ", ""), "ModelCardStatus": "Approved"}), []),
    ("sensitive value redacted on both sides",
     owned({CARD: entry((ME, {"ModelCardContent": CONTENT, "ModelCardStatus": "Approved"}))}),
     live(ModelCard={"ModelCardContent": EDITED, "ModelCardStatus": "Approved"}),
     [("ModelCard", "changed",
       {"ModelCardContent": f"<redacted: {len(CONTENT)} characters>", "ModelCardStatus": "Approved"},
       {"ModelCardContent": f"<redacted: {len(EDITED)} characters>", "ModelCardStatus": "Approved"}, (ME,))]),
    ("left: a release SageMaker refused, still not what it wanted",
     owned({APPROVAL: Entry(left=Left(ME, "Approved", "Rejected"))}), live(ModelApprovalStatus="Approved"),
     [("ModelApprovalStatus", "left", "Rejected", "Approved", (ME,))]),
    ("left, resolved by hand since: no drift",
     owned({APPROVAL: Entry(left=Left(ME, "Approved", "Rejected"))}), live(ModelApprovalStatus="Rejected"), []),
    ("left to absent, the key still there",
     owned({TICKET: Entry(left=Left(ME, "CAB-1", None))}), live({"ticket": "CAB-1"}),
     [("metadata ticket", "left", None, "CAB-1", (ME,))]),
    ("a package that no longer exists: every item absent",
     owned({APPROVAL: entry((ME, "Approved")), TICKET: entry((ME, "CAB-1"))}), {},
     [("ModelApprovalStatus", "changed", "Approved", None, (ME,)),
      ("metadata ticket", "changed", "CAB-1", None, (ME,))]),
]


@pytest.mark.parametrize(("name", "ownership", "package", "expected"), CASES, ids=[c[0] for c in CASES])
def test_drift(name: str, ownership: Ownership, package: dict[str, Any],
               expected: list[tuple[str, str, Any, Any, tuple[str, ...]]]) -> None:
    got = found(ownership, package)
    assert got == expected, f"Test {name!r} got {got!r}"


def test_a_drift_names_its_resources_by_stack_and_logical_id() -> None:
    # GIVEN an item two resources manage, drifted
    [item] = drift(owned({TICKET: entry((OTHER, "CAB-1"), (ME, "CAB-2"))}), live({"ticket": "CAB-3"}))
    # THEN its fields name the setter first, then every manager, each by stack name and logical id
    fields = item.fields()
    assert (fields["item"], fields["path"], fields["kind"]) == (
        "metadata ticket", "CustomerMetadataProperties.ticket", "changed")
    assert (fields["StackName"], fields["LogicalResourceId"]) == ("cab", "Approve")
    assert [(r["StackName"], r["LogicalResourceId"]) for r in fields["resources"]] == [("cab", "Approve"),
                                                                                 ("prod", "Approve")]
    assert fields["resources"][0]["StackId"] == "arn:aws:cloudformation:eu-west-1:123456789012:stack/cab/1"


def test_an_intent_in_flight_is_not_drift_once_its_call_landed() -> None:
    # GIVEN a record whose resource declared Approved, and an event in flight that sets Rejected
    committed = owned({APPROVAL: entry((ME, "Approved"))})
    intent = owned({APPROVAL: entry((ME, "Rejected"))})
    lease = Lease("owner", "r-2", ME, expires=2e9, intent=intent, expect={APPROVAL: "Rejected"})
    record = Record(ARN, 3, committed, lease)
    # WHEN SageMaker announces that event's own call
    package = live(ModelApprovalStatus="Rejected")
    # THEN the landed call is compared with the intent: no drift
    assert drift(declared_ownership(record, package), package) == []
    # AND a value neither committed nor intended still is drift, from what was committed
    package = live(ModelApprovalStatus="PendingManualApproval")
    assert [d.declared for d in drift(declared_ownership(record, package), package)] == ["Approved"]


def test_drift_is_in_the_order_of_the_items() -> None:
    ownership = owned({TICKET: entry((ME, "a")), APPROVAL: entry((ME, "Approved"))})
    result = drift(ownership, live({"ticket": "b"}, ModelApprovalStatus="Rejected"))
    assert [d.item for d in result] == [APPROVAL, TICKET]
