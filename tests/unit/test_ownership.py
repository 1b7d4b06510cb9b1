"""The ownership rules (plan.py over ownership.py), as tables: join, conflict, takeover
and leave, in every order, for two resources on one package; and as Hypothesis
properties of any number of resources."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_package_resource import rules
from model_package_resource.errors import MetadataConflict, OwnershipConflict, RuleRefusal
from model_package_resource.ownership import Ownership, ResourceInfo, holds, live_value
from model_package_resource.plan import Plan
from model_package_resource.properties import Properties
from model_package_resource.record import decode_ownership, encode_ownership
from tests.unit.planning import (
    APPROVAL,
    ME,
    OTHER,
    OTHER_STACK,
    STACK,
    apply_all,
    body,
    create,
    entry,
    live,
    owned,
    props,
    release,
    update,
)

TICKET = ("metadata", "ticket")


@pytest.mark.parametrize(
    ("name", "record", "declared", "package", "expected_calls", "expected_entry"),
    [
        ("join: an equal value, no prior",
         Ownership(), props({"ticket": "t"}), live({"ticket": "t"}),
         [], entry((ME, "t"))),
        ("join another manager on its value",
         owned({TICKET: entry((OTHER, "t"), prior=None)}), props({"ticket": "t"}), live({"ticket": "t"}),
         [], entry((OTHER, "t"), (ME, "t"), prior=None)),
        ("start: absent before, the prior is absent",
         Ownership(), props({"ticket": "t"}), live(),
         [{"CustomerMetadataProperties": {"ticket": "t"}}], entry((ME, "t", True), prior=None)),
        ("takeover with OverwriteExistingMetadata: the other stays a manager, behind",
         owned({TICKET: entry((OTHER, "theirs"), prior=None)}), props({"ticket": "mine"}, overwrite=True),
         live({"ticket": "theirs"}),
         [{"CustomerMetadataProperties": {"ticket": "mine"}}],
         entry((OTHER, "theirs"), (ME, "mine", True), prior=None)),
        ("take over the pipeline's value: its value is the prior",
         Ownership(), props({"ticket": "mine"}, overwrite=True), live({"ticket": "pipeline"}),
         [{"CustomerMetadataProperties": {"ticket": "mine"}}], entry((ME, "mine", True), prior="pipeline")),
        ("an approval: the prior is the status before",
         Ownership(), props(ModelApprovalStatus="Approved"), live(),
         [{"ModelApprovalStatus": "Approved"}], entry((ME, "Approved", True), prior="PendingManualApproval")),
    ],
)
def test_declaring_an_item(name: str, record: Ownership, declared: Properties, package: dict[str, Any],
                           expected_calls: list[dict[str, Any]], expected_entry: Any) -> None:
    planned = create(declared, package, record)
    assert [body(c) for c in planned.calls] == expected_calls, f"Test {name!r} got {planned.calls!r}"
    item = APPROVAL if "ModelApprovalStatus" in declared.fields else TICKET
    assert planned.intent.entry(item) == expected_entry, f"Test {name!r} got {planned.intent.entry(item)!r}"


@pytest.mark.parametrize(
    ("name", "record", "declared", "package", "error", "reason"),
    [
        ("a field another resource manages with another value",
         owned({APPROVAL: entry((OTHER, "Approved"))}), props(ModelApprovalStatus="Rejected"),
         live(ModelApprovalStatus="Approved"), OwnershipConflict,
         "Ownership conflict at ModelApprovalStatus: managed by stack prod, resource Approve with another value"),
        ("a key another resource manages, without overwrite",
         owned({TICKET: entry((OTHER, "theirs"))}), props({"ticket": "mine"}), live({"ticket": "theirs"}),
         MetadataConflict, "Metadata conflict at CustomerMetadataProperties.ticket: managed by stack prod, "
         'resource Approve with another value (set OverwriteExistingMetadata to "true" to take it over)'),
        ("a field is not taken over by OverwriteExistingMetadata",
         owned({APPROVAL: entry((OTHER, "Approved"))}), props(overwrite=True, ModelApprovalStatus="Rejected"),
         live(ModelApprovalStatus="Approved"), OwnershipConflict, "Ownership conflict at ModelApprovalStatus"),
        ("a key the pipeline set",
         Ownership(), props({"ticket": "mine"}), live({"ticket": "pipeline"}),
         MetadataConflict, "Metadata conflict at CustomerMetadataProperties: keys already hold other values"),
    ],
)
def test_conflicts(name: str, record: Ownership, declared: Properties, package: dict[str, Any],
                   error: type, reason: str) -> None:
    with pytest.raises(error) as raised:
        create(declared, package, record)
    assert str(raised.value).startswith(reason), f"Test {name!r} got {raised.value!s}"


def test_changing_the_value_a_resource_declares_against_another_resources_value_is_a_conflict() -> None:
    record = owned({APPROVAL: entry((ME, "Approved"), (OTHER, "Approved"), prior="PendingManualApproval")})
    with pytest.raises(OwnershipConflict, match="managed by stack prod"):
        update(props(ModelApprovalStatus="Approved"), props(ModelApprovalStatus="Rejected"),
               live(ModelApprovalStatus="Approved"), record)


# --- leaving, in every order -----------------------------------------------------------------


def two_resources(first: Properties, second: Properties, package: dict[str, Any]) -> tuple[dict[str, Any], Plan]:
    """ME creates `first`, then OTHER creates `second`, on `package`."""
    one = create(first, package)
    package = apply_all(package, one)
    two = create(second, package, one.intent, stack=OTHER_STACK, request_id="r-2")
    return apply_all(package, two), two


@pytest.mark.parametrize(
    ("name", "first", "second", "start"),
    [
        ("both approve", props(ModelApprovalStatus="Approved"), props(ModelApprovalStatus="Approved"), live()),
        ("both declare a key", props({"ticket": "t"}), props({"ticket": "t"}), live()),
        ("the second takes a key over", props({"owner": "a"}, overwrite=True), props({"owner": "b"}, overwrite=True),
         live({"owner": "pipeline"})),
        ("each its own key", props({"a": "1"}), props({"b": "2"}), live({"keep": "k"})),
        ("approve and reject are the same item: the second joins after the first's change",
         props(ModelApprovalStatus="Approved", ApprovalDescription="x"),
         props(ModelApprovalStatus="Approved"), live(ModelApprovalStatus="Rejected")),
    ],
)
@pytest.mark.parametrize("order", list(itertools.permutations([STACK, OTHER_STACK])),
                         ids=["first-leaves-first", "second-leaves-first"])
def test_whatever_order_they_leave_in_the_last_leaves_the_package_as_before(
        name: str, first: Properties, second: Properties, start: dict[str, Any], order: Any) -> None:
    package, planned = two_resources(first, second, start)
    record = planned.intent
    declared = {STACK: first, OTHER_STACK: second}
    for stack in order:
        # while the other still manages an item, it holds that resource's value
        leaving = release(declared[stack], package, record, stack=stack)
        package, record = apply_all(package, leaving), leaving.intent
        for item, item_entry in record.entries.items():
            assert item_entry.setter is not None and holds(item, item_entry.setter.value, live_value(package, item)), (
                f"Test {name!r}: {item} holds {live_value(package, item)!r}")
    assert record.entries == {}, f"Test {name!r} left {record.entries}"
    expected = dict(start)
    if start["ModelApprovalStatus"] == "PendingManualApproval" and package["ModelApprovalStatus"] == "Rejected":
        expected["ModelApprovalStatus"] = "Rejected"  # as close as SageMaker allows
    assert {k: package.get(k) for k in expected} == expected, f"Test {name!r} got {package}"


# --- PendingManualApproval on a decided package --------------------------------------------


def test_pending_declared_for_a_decided_package_is_refused_before_any_call() -> None:
    from model_package_resource.errors import RuleRefusal

    with pytest.raises(RuleRefusal, match="already Approved, and SageMaker has no way back"):
        create(props(ModelApprovalStatus="PendingManualApproval"), live(ModelApprovalStatus="Approved"))


def test_a_rollback_to_pending_gives_the_approval_back_as_rejected() -> None:
    # GIVEN a resource that approved the package, and another resource's failure rolls it back
    record = owned({APPROVAL: entry((ME, "Approved"), prior="PendingManualApproval")})
    planned = update(props(ModelApprovalStatus="Approved"), props(ModelApprovalStatus="PendingManualApproval"),
                     live(ModelApprovalStatus="Approved"), record)
    assert [body(c) for c in planned.calls] == [{"ModelApprovalStatus": "Rejected"}]
    assert planned.intent.entries == {}


def with_history(ownership: Ownership, before: str, now: str) -> Ownership:
    """The resource's approval history in the record: its properties declared `before`, then `now`."""
    return ownership.with_resource(ME, ResourceInfo(created="r-0", approvals=(before, now)))


P, A = "PendingManualApproval", "Approved"


@pytest.mark.parametrize(("history", "old", "managed", "expected"), [
    # CloudFormation's rollback: Pending, then Approved; now old and new swapped
    ((P, A), A, True, [{"ModelApprovalStatus": "Rejected"}]),
    # an ordinary Update: the resource approved on its Create, now declares Pending
    (("", A), A, True, RuleRefusal),
    # the resource never declared the approval (someone approved by hand): a new declaration
    (("", ""), None, False, RuleRefusal),
    # the rollback of an Update that dropped a Pending declaration: left as it is
    ((P, ""), None, False, []),
    # Pending declared before too: nothing new, left as it is
    ((A, P), P, False, []),
])
def test_pending_on_a_decided_package_in_an_update_is_refused_unless_old_and_new_are_swapped(
        history: tuple[str, str], old: str | None, managed: bool, expected: Any) -> None:
    record = owned({APPROVAL: entry((ME, A), prior=P)} if managed else {})
    record = with_history(record, *history)
    old_props = props(ModelApprovalStatus=old) if old else props()
    new_props = props(ModelApprovalStatus=P)
    if expected is RuleRefusal:
        with pytest.raises(RuleRefusal, match="already Approved, and SageMaker has no way back"):
            update(old_props, new_props, live(ModelApprovalStatus=A), record)
        return
    planned = update(old_props, new_props, live(ModelApprovalStatus=A), record)
    assert [body(c) for c in planned.calls] == expected
    assert any("no way back" in w for w in planned.warnings)


def test_the_record_keeps_each_resources_approval_history() -> None:
    created = create(props(ModelApprovalStatus=A), live(ModelApprovalStatus=P))
    assert created.intent.resources[ME].approvals == ("", A)
    updated = update(props(ModelApprovalStatus=A), props(ModelApprovalStatus="Rejected"),
                     live(ModelApprovalStatus=A), created.intent)
    assert updated.intent.resources[ME].approvals == (A, "Rejected")
    same = update(props(ModelApprovalStatus="Rejected"), props(ModelApprovalStatus="Rejected", metadata={"k": "v"}),
                  live(ModelApprovalStatus="Rejected"), updated.intent)
    assert same.intent.resources[ME].approvals == (A, "Rejected")
    assert decode_ownership(encode_ownership(same.intent)).resources[ME].approvals == (A, "Rejected")


def test_an_unchanged_pending_declaration_is_left_with_a_warning() -> None:
    planned = update(props(ModelApprovalStatus="PendingManualApproval"),
                     props(ModelApprovalStatus="PendingManualApproval"), live(ModelApprovalStatus="Approved"),
                     Ownership())
    assert planned.calls == () and any("no way back" in w for w in planned.warnings)


# --- properties ------------------------------------------------------------------------------

STATUSES = st.sampled_from(["Approved", "Rejected", "PendingManualApproval"])
KEYS = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "2"]), max_size=3)


@given(start=STATUSES, first=st.one_of(st.none(), STATUSES), second=st.one_of(st.none(), STATUSES),
       keys_one=KEYS, keys_two=KEYS, order=st.booleans())
def test_the_planner_never_asks_for_a_refused_transition_and_the_last_leave_restores(
        start: str, first: str | None, second: str | None, keys_one: dict[str, str], keys_two: dict[str, str],
        order: bool) -> None:
    package = live({"a": "pipeline"}, ModelApprovalStatus=start)
    stacks = []
    record = Ownership()
    for stack, status, keys, rid in ((STACK, first, keys_one, "r-1"), (OTHER_STACK, second, keys_two, "r-2")):
        declared = props(keys, overwrite=True, **({"ModelApprovalStatus": status} if status else {}))
        try:
            planned = create(declared, package, record, stack=stack, request_id=rid)
        except (OwnershipConflict, MetadataConflict, rules.Refusal, Exception) as error:  # noqa: BLE001
            assert type(error).__name__ in ("OwnershipConflict", "MetadataConflict", "RuleRefusal")
            continue
        package, record = apply_all(package, planned), planned.intent  # strict: a refused call raises
        stacks.append((stack, declared))
    for stack, declared in (reversed(stacks) if order else stacks):
        leaving = release(declared, package, record, stack=stack)
        package, record = apply_all(package, leaving), leaving.intent
    assert record.entries == {}
    assert package["CustomerMetadataProperties"] == {"a": "pipeline"}
    assert package["ModelApprovalStatus"] in ({start, "Rejected"} if start == "PendingManualApproval" else {start})
