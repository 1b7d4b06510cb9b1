"""Releases give back recorded priors; reverts give back the pre-image. Pure planner
tables and Hypothesis properties (the package as SageMaker leaves it: plan.simulate)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_package_resource import rules
from model_package_resource.errors import MetadataConflict, RuleRefusal
from model_package_resource.ownership import Ownership
from model_package_resource.plan import plan_revert, simulate
from model_package_resource.properties import Properties
from tests.helpers import ARN
from tests.unit.planning import (
    APPROVAL,
    ME,
    OTHER,
    PACKAGE,
    apply_all,
    body,
    create,
    entry,
    live,
    owned,
    release,
    update,
)
from tests.unit.planning import props as declared


def props(metadata: dict[str, str] | None = None, *, overwrite: bool = False, **fields: Any) -> Properties:
    return declared(metadata, overwrite=overwrite, **fields)


# --- release -------------------------------------------------------------------

def test_dropping_the_approval_gives_back_the_prior_or_as_close_as_sagemaker_allows() -> None:
    held = owned({APPROVAL: entry((ME, "Approved"), prior="Rejected")})
    planned = update(props(ModelApprovalStatus="Approved"), props(), live(ModelApprovalStatus="Approved"), held)
    assert [body(c) for c in planned.calls] == [{"ModelApprovalStatus": "Rejected"}]
    assert planned.intent.entries == {} and planned.releases == 1
    # No way back to PendingManualApproval: released to Rejected.
    held = owned({APPROVAL: entry((ME, "Approved"), prior="PendingManualApproval")})
    planned = update(props(ModelApprovalStatus="Approved"), props(), live(ModelApprovalStatus="Approved"), held)
    assert [body(c) for c in planned.calls] == [{"ModelApprovalStatus": "Rejected"}]


def test_a_value_changed_since_by_someone_else_is_left_with_a_warning() -> None:
    held = owned({APPROVAL: entry((ME, "Approved"), prior="PendingManualApproval")})
    planned = update(props(ModelApprovalStatus="Approved"), props(), live(ModelApprovalStatus="Rejected"), held)
    assert planned.calls == ()
    assert any("ModelApprovalStatus was changed since" in w for w in planned.warnings)


def test_a_value_the_resource_never_changed_has_no_prior_and_is_left() -> None:
    held = owned({APPROVAL: entry((ME, "Approved")), ("metadata", "k"): entry((ME, "v"))})
    planned = update(props({"k": "v"}, ModelApprovalStatus="Approved"), props(),
                     live({"k": "v"}, ModelApprovalStatus="Approved"), held)
    assert planned.calls == () and planned.warnings == ()


def test_delete_gives_a_taken_over_key_its_previous_value_and_removes_an_added_one() -> None:
    held = owned({("metadata", "owner"): entry((ME, "platform"), prior="pipeline"),
                  ("metadata", "ticket"): entry((ME, "CAB-1"), prior=None)})
    planned = release(props({"owner": "platform", "ticket": "CAB-1"}), live({"owner": "platform",
                      "ticket": "CAB-1", "other": "o"}), held)
    assert [body(c) for c in planned.calls] == [{"CustomerMetadataProperties": {"owner": "pipeline"},
                                                 "CustomerMetadataPropertiesToRemove": ["ticket"]}]
    assert planned.intent.entries == {}


def test_without_a_record_nothing_is_released() -> None:
    planned = release(props({"ticket": "CAB-1", "edited": "mine"}, ModelApprovalStatus="Approved"),
                      live({"ticket": "CAB-1", "edited": "theirs"}, ModelApprovalStatus="Approved"), Ownership())
    assert planned.calls == () and planned.releases == 0


def test_a_field_absent_before_that_sagemaker_cannot_unset_is_left_with_a_warning() -> None:
    stage = {"Stage": "Staging", "StageStatus": "Approved"}
    held = owned({("field", "ModelLifeCycle"): entry((ME, stage), prior=None),
                  ("field", "ApprovalDescription"): entry((ME, "CAB-1"), prior=None)})
    planned = release(props(ModelLifeCycle=stage, ApprovalDescription="CAB-1"),
                      live(ModelLifeCycle=stage, ApprovalDescription="CAB-1"), held)
    assert [body(c) for c in planned.calls] == [{"ApprovalDescription": ""}]
    assert any("ModelLifeCycle was absent before" in w for w in planned.warnings)


def test_rollback_may_take_back_the_resources_own_keys_without_a_conflict() -> None:
    # The pipeline edited a key the restored properties declare, which the resource changed before.
    held = owned({("metadata", "ticket"): entry((ME, "CAB-1"), prior=None)})
    restored = props({"ticket": "CAB-1"})
    planned = update(restored, restored, live({"ticket": "edited"}), held)
    assert [body(c) for c in planned.calls] == [{"CustomerMetadataProperties": {"ticket": "CAB-1"}}]


# --- exact nested comparison ---------------------------------------------------------

def test_a_map_entry_removed_inside_a_declared_structure_is_sent() -> None:
    spec = {"Containers": [{"Image": "img", "Environment": {"A": "1"}}]}
    on_package = {"Containers": [{"Image": "img", "ImageDigest": "sha256:0", "Environment": {"A": "1", "B": "2"}}]}
    planned = create(props(InferenceSpecification=spec), live(InferenceSpecification=on_package))
    assert [body(c) for c in planned.calls] == [{"InferenceSpecification": spec}]
    stage = {"Stage": "Staging", "StageStatus": "Approved"}
    planned = create(props(ModelLifeCycle=stage), live(ModelLifeCycle={**stage, "StageDescription": "old"}))
    assert [body(c) for c in planned.calls] == [{"ModelLifeCycle": stage}]


def test_fields_sagemaker_fills_in_are_no_difference() -> None:
    spec = {"Containers": [{"Image": "img"}]}
    filled = {"Containers": [{"Image": "img", "ImageDigest": "sha256:0", "ModelDataETag": "e"}]}
    assert create(props(InferenceSpecification=spec), live(InferenceSpecification=filled)).calls == ()


# --- revert --------------------------------------------------------------------------

def requests(planned: Any) -> list[Any]:
    return [call.request for call in planned.calls]


def test_revert_gives_back_what_the_applied_calls_changed_in_the_fewest_calls() -> None:
    before = live({"pipeline": "p"}, ModelApprovalStatus="Rejected", SourceUri="s3://old",
                  InferenceSpecification={"Containers": [{"Image": "a"}]})
    planned = create(props({"ticket": "CAB-1"}, ModelApprovalStatus="Approved", SourceUri="s3://new",
                           InferenceSpecification={"Containers": [{"Image": "b"}]}), before)
    assert len(planned.calls) == 2  # SageMaker refuses SourceUri with InferenceSpecification in one call
    reverts, left = plan_revert(before, requests(planned))
    assert left == ()
    # The newest call's items first; SageMaker's rules still split SourceUri from the specification.
    assert [set(body(c)) for c in reverts] == [{"SourceUri", "CustomerMetadataPropertiesToRemove"},
                                               {"ModelApprovalStatus", "InferenceSpecification"}]
    state = before
    for call in [*requests(planned), *(revert.request for revert in reverts)]:
        state = rules.apply(state, call, strict=True)
    assert state == before


def test_what_cannot_be_reverted_is_named() -> None:
    before = live()
    calls = ({"ModelPackageArn": ARN, "ModelLifeCycle": {"Stage": "Prod", "StageStatus": "Approved"}},
             {"ModelPackageArn": ARN, "ModelApprovalStatus": "Approved"})
    reverts, left = plan_revert(before, calls)
    # No way back to PendingManualApproval; a stage cannot be unset.
    assert reverts == () and left == ("ModelApprovalStatus", "ModelLifeCycle")


KEYS = st.sampled_from(["a", "b", "c", "d"])
VALUES = st.sampled_from(["1", "2"])
MAPS = st.dictionaries(KEYS, VALUES, max_size=4)
STATUS = st.sampled_from(["Approved", "Rejected", "PendingManualApproval"])
DESCRIPTIONS = st.sampled_from(["x", "y"])


def declaration(data: st.DataObject) -> Properties:
    fields: dict[str, Any] = {}
    if data.draw(st.booleans()):
        fields["ModelApprovalStatus"] = data.draw(STATUS)
    if data.draw(st.booleans()):
        fields["ApprovalDescription"] = data.draw(DESCRIPTIONS)
    return props(data.draw(MAPS), overwrite=True, **fields)


def normal(state: dict[str, Any]) -> dict[str, Any]:
    """The package as compared: an empty description is what "absent" is given back as;
    a released approval is as close as SageMaker allows (Rejected for PendingManualApproval)."""
    approval = state.get("ModelApprovalStatus")
    return {"metadata": state.get("CustomerMetadataProperties") or {},
            "approval": "PendingManualApproval" if approval == "Rejected" else approval,
            "description": state.get("ApprovalDescription") or ""}


@given(data=st.data(), metadata=MAPS, status=STATUS)
def test_applying_any_prefix_of_a_plan_then_its_revert_gives_the_pre_image(
    data: st.DataObject, metadata: dict[str, str], status: str
) -> None:
    before = live(metadata, ModelApprovalStatus=status)
    try:
        planned = create(declaration(data), before)
    except RuleRefusal:
        return  # PendingManualApproval declared for a decided package: refused before any call
    # A revert follows a failed call: every call before the last may be applied.
    applied = requests(planned)[: data.draw(st.integers(0, max(len(planned.calls) - 1, 0)))]
    reverts, left = plan_revert(before, applied)
    state = before
    for call in [*applied, *(revert.request for revert in reverts)]:
        state = rules.apply(state, call, strict=True)
    assert left == () and state == before


@given(data=st.data(), metadata=MAPS, status=STATUS)
def test_release_after_any_sequence_of_declared_states_restores_every_prior(
    data: st.DataObject, metadata: dict[str, str], status: str
) -> None:
    before = live(metadata, ModelApprovalStatus=status)
    state, record, old = before, Ownership(), None
    for _ in range(data.draw(st.integers(1, 4))):
        new = declaration(data)
        try:
            planned = create(new, state) if old is None else update(old, new, state, record)
        except RuleRefusal:
            continue
        state, record, old = apply_all(state, planned), planned.intent, new
    if old is None:
        return
    state = apply_all(state, release(old, state, record))
    assert normal(state) == normal(before)


def test_a_card_part_absent_before_is_named_as_left() -> None:
    before = live(ModelCard={"ModelCardStatus": "Draft"})
    calls = ({"ModelPackageArn": ARN, "ModelCard": {"ModelCardContent": "{}"}},)
    _, left = plan_revert(before, calls)
    assert left == ("ModelCard.ModelCardContent",)


def test_a_stage_absent_before_rides_in_the_last_call() -> None:
    stage = {"Stage": "Staging", "StageStatus": "Approved"}
    planned = create(props(ModelLifeCycle=stage, SourceUri="s3://new",
                           InferenceSpecification={"Containers": [{"Image": "b"}]}),
                     live(SourceUri="s3://old", InferenceSpecification={"Containers": [{"Image": "a"}]}))
    assert [sorted(body(c)) for c in planned.calls] == [["InferenceSpecification"], ["ModelLifeCycle", "SourceUri"]]


def test_a_key_listed_for_removal_is_removed_rather_than_given_its_prior_back() -> None:
    held = owned({("metadata", "k"): entry((ME, "mine"), prior="theirs")})
    old = props({"k": "mine"})
    new = Properties(PACKAGE, keys_to_remove=("k",))
    planned = update(old, new, live({"k": "mine"}), held)
    assert [body(c) for c in planned.calls] == [{"CustomerMetadataPropertiesToRemove": ["k"]}]
    assert planned.intent.entries == {}


def test_a_key_another_resource_manages_cannot_be_listed_for_removal() -> None:
    held = owned({("metadata", "k"): entry((OTHER, "theirs"))})
    with pytest.raises(MetadataConflict, match="k is listed for removal but managed by stack prod, resource Approve"):
        create(Properties(PACKAGE, keys_to_remove=("k",)), live({"k": "theirs"}), held)


def test_simulate_leaves_a_refused_call_unapplied() -> None:
    before = live(ModelApprovalStatus="Approved")
    assert simulate(before, {"ModelPackageArn": ARN, "ModelApprovalStatus": "PendingManualApproval"}) == before
