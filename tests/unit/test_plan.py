"""The planner (plan.py): what each event sends, as tables and Hypothesis
properties. Packages are driven by SageMaker's rules at their strictest."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_package_resource.errors import MetadataConflict, SpecificationConflict
from model_package_resource.ownership import Ownership
from model_package_resource.plan import Plan
from model_package_resource.properties import Properties
from model_package_resource.response import resource_data
from tests.helpers import ARN
from tests.unit.planning import ME, apply_all, body, create, entry, live, owned, props, release, update

declared = props
package = live


def plan_create(new: Properties, package: dict[str, Any]) -> Plan:
    return create(new, package)


def plan_update(old: Properties, new: Properties, package: dict[str, Any]) -> Plan:
    """An Update of a resource whose Create declared `old` on the package as it was
    before `package` (the record says what it manages: `old`'s items, no priors)."""
    return update(old, new, package, managing(old))


def managing(old: Properties, priors: dict[str, Any] | None = None) -> Ownership:
    """The record of a resource that declares `old`; `priors`: items it changed (None: absent)."""
    priors = priors or {}
    entries = {("field", k): entry((ME, v), **({"prior": priors[k]} if k in priors else {}))
               for k, v in old.fields.items()}
    entries.update({("metadata", k): entry((ME, v), **({"prior": priors[k]} if k in priors else {}))
                    for k, v in old.metadata.items()})
    return owned(entries)


def spec(name: str, image: str = "img") -> dict[str, Any]:
    return {"Name": name, "Containers": [{"Image": image}]}


def only(plan: Plan) -> dict[str, Any]:
    assert len(plan.calls) == 1, plan.calls
    return body(plan.calls[0])


# --- Create -------------------------------------------------------------------

def test_create_sends_what_differs_and_leaves_others_keys() -> None:
    plan = plan_create(declared({"ticket": "CAB-1", "owner": "ml"}, ModelApprovalStatus="Approved"),
                       package({"owner": "ml", "pipeline": "exec-1"}))
    assert only(plan) == {"CustomerMetadataProperties": {"ticket": "CAB-1"}, "ModelApprovalStatus": "Approved"}


def test_redelivered_create_makes_no_call() -> None:
    live = package({"ticket": "CAB-1"}, ModelApprovalStatus="Approved")
    assert plan_create(declared({"ticket": "CAB-1"}, ModelApprovalStatus="Approved"), live).calls == ()


def test_create_refuses_to_take_over_a_key_holding_another_value() -> None:
    with pytest.raises(MetadataConflict, match="other values on the package: owner, team"):
        plan_create(declared({"owner": "ml", "team": "x", "ok": "1"}), package({"owner": "ds", "team": "y"}))


def test_overwrite_existing_metadata_takes_the_keys_over() -> None:
    plan = plan_create(declared({"owner": "ml"}, overwrite=True), package({"owner": "ds"}))
    assert only(plan) == {"CustomerMetadataProperties": {"owner": "ml"}}


def test_create_removes_listed_keys_only_where_present() -> None:
    plan = plan_create(declared(CustomerMetadataPropertiesToRemove=["stale", "absent"]), package({"stale": "1"}))
    assert only(plan) == {"CustomerMetadataPropertiesToRemove": ["stale"]}


# --- Update -------------------------------------------------------------------

def test_update_sets_added_and_changed_keys_and_removes_dropped_ones() -> None:
    old = declared({"ticket": "CAB-1", "approved-by": "ml", "same": "s"})
    new = declared({"ticket": "CAB-2", "evaluation": "s3://e", "same": "s"})
    live = package({"ticket": "CAB-1", "approved-by": "ml", "same": "s", "pipeline": "p"})
    record = managing(old, {"ticket": None, "approved-by": None})  # "same" was there already
    assert only(update(old, new, live, record)) == {
        "CustomerMetadataProperties": {"ticket": "CAB-2", "evaluation": "s3://e"},
        "CustomerMetadataPropertiesToRemove": ["approved-by"],
    }


def test_update_that_changes_nothing_live_makes_no_call() -> None:
    old = declared({"ticket": "CAB-1"}, ModelApprovalStatus="Approved")
    new = declared({"ticket": "CAB-1"}, ModelApprovalStatus="Approved", ApprovalDescription="d")
    live = package({"ticket": "CAB-1"}, ModelApprovalStatus="Approved", ApprovalDescription="d")
    assert plan_update(old, new, live).calls == ()


def test_dropped_key_changed_by_someone_else_is_left_with_a_warning() -> None:
    old = declared({"ticket": "CAB-1"})
    plan = update(old, declared({}), package({"ticket": "CAB-9"}), managing(old, {"ticket": None}))
    assert plan.calls == ()
    assert any("ticket" in w for w in plan.warnings)


def test_update_checks_ownership_only_for_keys_it_starts_managing() -> None:
    old = declared({"ticket": "CAB-1"})
    live = package({"ticket": "edited", "owner": "ds"})
    # ticket was already managed: drift is corrected
    assert only(plan_update(old, declared({"ticket": "CAB-1"}), live)) == {
        "CustomerMetadataProperties": {"ticket": "CAB-1"}}
    # owner is new to the stack and holds another value: refused
    with pytest.raises(MetadataConflict, match="owner"):
        plan_update(old, declared({"ticket": "CAB-1", "owner": "ml"}), live)


def test_keys_to_remove_are_removed_again_only_when_the_list_changes() -> None:
    live = package({"stale": "back", "older": "1"})
    same = declared(CustomerMetadataPropertiesToRemove=["stale"])
    assert plan_update(same, same, live).calls == ()
    changed = declared(CustomerMetadataPropertiesToRemove=["stale", "older"])
    assert only(plan_update(same, changed, live)) == {"CustomerMetadataPropertiesToRemove": ["older", "stale"]}


def test_rollback_is_an_update_with_old_and_new_swapped() -> None:
    before, failed = declared({"ticket": "CAB-1"}), declared({"ticket": "CAB-2", "extra": "x"})
    live = package({"ticket": "CAB-2", "extra": "x", "pipeline": "p"})  # the failed update had applied
    record = managing(failed, {"ticket": None, "extra": None})
    assert only(update(failed, before, live, record)) == {
        "CustomerMetadataProperties": {"ticket": "CAB-1"}, "CustomerMetadataPropertiesToRemove": ["extra"]}


# --- Specifications, splitting ------------------------------------------------------

def test_specifications_are_append_only() -> None:
    # SageMaker fills in a container's ImageDigest: not a difference.
    live = package(AdditionalInferenceSpecifications=[
        {"Name": "neo", "Containers": [{"Image": "img", "ImageDigest": "sha256:0"}]}])
    plan = plan_create(declared(AdditionalInferenceSpecificationsToAdd=[spec("neo"), spec("gpu")]), live)
    assert only(plan) == {"AdditionalInferenceSpecificationsToAdd": [spec("gpu")]}
    with pytest.raises(SpecificationConflict) as raised:
        plan_create(declared(AdditionalInferenceSpecificationsToAdd=[spec("neo", "other")]), live)
    assert raised.value.path == "AdditionalInferenceSpecificationsToAdd[0]"
    # A field on the package that the declaration lacks is different content: compared exactly.
    described = package(AdditionalInferenceSpecifications=[{**spec("neo"), "Description": "by hand"}])
    with pytest.raises(SpecificationConflict):
        plan_create(declared(AdditionalInferenceSpecificationsToAdd=[spec("neo")]), described)


def test_more_than_fifteen_specifications_in_all_fail() -> None:
    live = package(AdditionalInferenceSpecifications=[spec(f"s{i}") for i in range(14)])
    with pytest.raises(SpecificationConflict, match="16"):
        plan_create(declared(AdditionalInferenceSpecificationsToAdd=[spec("a"), spec("b")]), live)


def test_dropped_specification_stays_with_a_warning() -> None:
    live = package(AdditionalInferenceSpecifications=[spec("neo")])
    plan = plan_update(declared(AdditionalInferenceSpecificationsToAdd=[spec("neo")]), declared(), live)
    assert plan.calls == () and any("neo" in w for w in plan.warnings)


def test_source_uri_and_inference_specification_go_in_two_calls() -> None:
    inference = {"Containers": [{"Image": "new"}]}
    plan = plan_create(declared(SourceUri="s3://src", InferenceSpecification=inference,
                                ModelApprovalStatus="Approved"), package())
    # The approval rides in the last call: a refused earlier call never needs it undone.
    assert [sorted(body(c)) for c in plan.calls] == [["InferenceSpecification"], ["ModelApprovalStatus", "SourceUri"]]


@pytest.mark.parametrize(
    ("live_status", "first", "second"),
    [("Draft", "ModelCardContent", "ModelCardStatus"), ("Archived", "ModelCardStatus", "ModelCardContent")],
)
def test_model_card_content_and_status_are_split_in_an_order_that_works(
    live_status: str, first: str, second: str
) -> None:
    card = {"ModelCardContent": '{"a": 1}', "ModelCardStatus": "Approved"}
    plan = plan_create(declared(ModelCard=card), package(ModelCard={"ModelCardContent": "{}",
                                                                    "ModelCardStatus": live_status}))
    assert [list(body(c)["ModelCard"]) for c in plan.calls] == [[first], [second]]


def test_model_card_content_compares_as_json() -> None:
    live = package(ModelCard={"ModelCardContent": '{"a":1}', "ModelCardStatus": "Draft"})
    plan = plan_create(declared(ModelCard={"ModelCardContent": '{ "a": 1 }', "ModelCardStatus": "Draft"}), live)
    assert plan.calls == ()


# --- Delete, Data ---------------------------------------------------------------

def test_delete_removes_managed_keys_whose_value_is_still_the_declared_one() -> None:
    old = declared({"ticket": "CAB-1", "edited": "mine", "gone": "x"})
    plan = release(old, package({"ticket": "CAB-1", "edited": "theirs", "pipeline": "p"}),
                   managing(old, {"ticket": None, "edited": None, "gone": None}))
    assert only(plan) == {"CustomerMetadataPropertiesToRemove": ["ticket"]}
    assert any("edited" in w for w in plan.warnings)
    assert plan.intent.entries == {}


def test_data_is_flat_strings_from_the_package_as_the_requests_leave_it() -> None:
    data = resource_data(package(), [{"ModelApprovalStatus": "Approved"}])
    assert data == {"ModelPackageArn": ARN, "ModelPackageGroupName": "churn", "ModelPackageVersion": "2",
                    "ModelApprovalStatus": "Approved", "ModelPackageStatus": "Completed"}


# --- Properties of the planner -------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
VALUES = st.sampled_from(["1", "2", "3"])
MAPS = st.dictionaries(KEYS, VALUES, max_size=6)


@given(old=MAPS, new=MAPS, live=MAPS, overwrite=st.booleans())
def test_update_planner_properties(old: dict[str, str], new: dict[str, str], live: dict[str, str],
                                   overwrite: bool) -> None:
    # GIVEN a resource created with `old` on a package holding `live`
    start = package(live)
    try:
        created = create(declared(old, overwrite=True), start)
    except MetadataConflict:
        return
    before, record = apply_all(start, created), created.intent
    new_props = declared(new, overwrite=overwrite)
    try:
        plan = update(declared(old), new_props, before, record)
    except MetadataConflict:
        # refused only when a newly managed key holds another value, and not overwriting
        assert not overwrite
        assert any(k not in old and k in live and live[k] != v for k, v in new.items())
        return
    touched = set()
    for call in plan.calls:
        to_set = set(call.request.get("CustomerMetadataProperties", {}))
        to_remove = set(call.request.get("CustomerMetadataPropertiesToRemove", []))
        assert not to_set & to_remove, "a key both set and removed"
        assert call.request.get("CustomerMetadataProperties", None) != {}, "an empty map sent"
        touched |= to_set | to_remove
    # a key that no version of the properties declared appears in no request
    assert touched <= set(old) | set(new)
    after = apply_all(before, plan)
    metadata = after.get("CustomerMetadataProperties", {})
    # the declared state holds; dropped keys hold what they held before the resource
    assert all(metadata[k] == v for k, v in new.items())
    for key in set(old) - set(new):
        assert metadata.get(key) == live.get(key)
    # keys nobody declared are untouched
    assert {k: v for k, v in metadata.items() if k not in old and k not in new} == {
        k: v for k, v in live.items() if k not in old and k not in new}
    # planning again after applying gives no request
    assert update(new_props, new_props, after, plan.intent).calls == ()


@given(declared_keys=MAPS, live=MAPS)
def test_a_create_then_its_delete_gives_back_every_key(declared_keys: dict[str, str], live: dict[str, str]) -> None:
    start = package(live)
    created = create(declared(declared_keys, overwrite=True), start)
    middle = apply_all(start, created)
    after = apply_all(middle, release(declared(declared_keys), middle, created.intent))
    assert after.get("CustomerMetadataProperties", {}) == live


@given(new=MAPS, live=MAPS, approval=st.sampled_from(["Approved", "Rejected", "PendingManualApproval"]))
def test_create_then_redelivered_create_is_a_no_op(new: dict[str, str], live: dict[str, str],
                                                    approval: str) -> None:
    props_ = declared(new, overwrite=True, ModelApprovalStatus=approval)
    first = create(props_, package(live), request_id="same")
    after = apply_all(package(live), first)
    again = create(props_, after, first.intent, request_id="same")
    assert again.calls == () and again.intent == first.intent
    assert after["ModelApprovalStatus"] == approval
