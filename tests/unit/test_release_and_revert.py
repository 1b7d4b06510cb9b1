"""Releases give back recorded priors; reverts give back the pre-image. Pure planner
tables and Hypothesis properties (the package as SageMaker leaves it: plan.simulate)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from model_package_resource.arns import parse_package_arn
from model_package_resource.plan import plan, plan_release, plan_revert, simulate
from model_package_resource.priors import Priors
from model_package_resource.properties import Properties
from model_package_resource.request import Identity, Request
from tests.helpers import ARN

PACKAGE = parse_package_arn(ARN)
IDENTITY = Identity("Update", "r-1", "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1", "Approve", ARN)


def props(metadata: dict[str, str] | None = None, *, overwrite: bool = False, **fields: Any) -> Properties:
    return Properties(PACKAGE, fields=fields, metadata=dict(metadata or {}), overwrite_existing_metadata=overwrite)


def live(metadata: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    return {"ModelPackageArn": ARN, "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": "PendingManualApproval", "CustomerMetadataProperties": dict(metadata or {}),
            **fields}


def create(new: Properties, package: dict[str, Any], priors: Priors | None = None) -> Any:
    return plan(Request(IDENTITY, "Create", "create", new), package, priors)


def update(old: Properties, new: Properties, package: dict[str, Any], priors: Priors | None) -> Any:
    return plan(Request(IDENTITY, "Update", "update", new, baseline=old), package, priors)


def body(call: Any) -> dict[str, Any]:
    return {k: v for k, v in call.items() if k != "ModelPackageArn"}


# --- priors are recorded for what the resource changes, and only that ----------

def test_create_records_the_prior_of_each_field_and_key_it_changes() -> None:
    planned = create(props({"ticket": "CAB-1", "same": "x"}, ModelApprovalStatus="Approved"),
                     live({"same": "x", "pipeline": "p"}))
    assert planned.priors == Priors(fields={"ModelApprovalStatus": "PendingManualApproval"},
                                    metadata={"ticket": None})
    assert planned.record_changes


def test_a_later_change_keeps_the_first_prior() -> None:
    held = Priors(fields={"ModelApprovalStatus": "PendingManualApproval"})
    planned = update(props(ModelApprovalStatus="Approved"), props(ModelApprovalStatus="Rejected"),
                     live(ModelApprovalStatus="Approved"), held)
    assert planned.priors == held and not planned.record_changes


# --- release -------------------------------------------------------------------

def test_dropping_the_approval_gives_back_the_prior_status() -> None:
    held = Priors(fields={"ModelApprovalStatus": "PendingManualApproval"})
    planned = update(props(ModelApprovalStatus="Approved"), props(), live(ModelApprovalStatus="Approved"), held)
    assert [body(c) for c in planned.calls] == [{"ModelApprovalStatus": "PendingManualApproval"}]
    assert planned.priors == Priors() and planned.releases == 1


def test_a_value_changed_since_by_someone_else_is_left_with_a_warning() -> None:
    held = Priors(fields={"ModelApprovalStatus": "PendingManualApproval"})
    planned = update(props(ModelApprovalStatus="Approved"), props(), live(ModelApprovalStatus="Rejected"), held)
    assert planned.calls == ()
    assert any("ModelApprovalStatus was changed since" in w for w in planned.warnings)


def test_a_value_the_resource_never_changed_has_no_prior_and_is_left() -> None:
    planned = update(props({"k": "v"}, ModelApprovalStatus="Approved"), props(),
                     live({"k": "v"}, ModelApprovalStatus="Approved"), Priors())
    assert planned.calls == () and planned.warnings == ()


def test_delete_gives_a_taken_over_key_its_previous_value_and_removes_an_added_one() -> None:
    held = Priors(metadata={"owner": "pipeline", "ticket": None})
    planned = plan_release(props({"owner": "platform", "ticket": "CAB-1"}), live({"owner": "platform",
                           "ticket": "CAB-1", "other": "o"}), held, removing_record=True)
    assert [body(c) for c in planned.calls] == [{"CustomerMetadataProperties": {"owner": "pipeline"},
                                                 "CustomerMetadataPropertiesToRemove": ["ticket"]}]
    assert planned.priors is None


def test_without_a_record_the_stateless_rule_applies() -> None:
    planned = plan_release(props({"ticket": "CAB-1", "edited": "mine"}, ModelApprovalStatus="Approved"),
                           live({"ticket": "CAB-1", "edited": "theirs"}, ModelApprovalStatus="Approved"),
                           None, removing_record=True)
    assert [body(c) for c in planned.calls] == [{"CustomerMetadataPropertiesToRemove": ["ticket"]}]


def test_a_field_absent_before_that_sagemaker_cannot_unset_is_left_with_a_warning() -> None:
    stage = {"Stage": "Staging", "StageStatus": "Approved"}
    held = Priors(fields={"ModelLifeCycle": None, "ApprovalDescription": None})
    planned = plan_release(props(ModelLifeCycle=stage, ApprovalDescription="CAB-1"),
                           live(ModelLifeCycle=stage, ApprovalDescription="CAB-1"), held, removing_record=True)
    assert [body(c) for c in planned.calls] == [{"ApprovalDescription": ""}]
    assert any("ModelLifeCycle was absent before" in w for w in planned.warnings)


def test_rollback_may_take_back_the_resources_own_keys_without_a_conflict() -> None:
    # The pipeline edited a key the restored properties declare, which the resource changed before.
    held = Priors(metadata={"ticket": None})
    restored = props({"ticket": "CAB-1"})
    planned = plan(Request(IDENTITY, "Update", "replacement-rollback", restored, baseline=restored),
                   live({"ticket": "edited"}), held)
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

def test_revert_gives_back_each_applied_call_newest_first() -> None:
    before = live({"pipeline": "p"}, SourceUri="s3://old", InferenceSpecification={"Containers": [{"Image": "a"}]})
    planned = create(props({"ticket": "CAB-1"}, ModelApprovalStatus="Approved", SourceUri="s3://new",
                           InferenceSpecification={"Containers": [{"Image": "b"}]}), before)
    assert len(planned.calls) == 2  # SageMaker refuses SourceUri with InferenceSpecification in one call
    reverts, left = plan_revert(before, planned.calls)
    assert left == ()
    assert [set(body(c)) for c in reverts] == [{"SourceUri"}, {"CustomerMetadataPropertiesToRemove",
                                                              "ModelApprovalStatus", "InferenceSpecification"}]
    state = before
    for call in [*planned.calls, *reverts]:
        state = simulate(state, call)
    assert state == before


def test_what_cannot_be_reverted_is_named() -> None:
    before = live()
    calls = ({"ModelPackageArn": ARN, "ModelLifeCycle": {"Stage": "Prod", "StageStatus": "Approved"}},)
    reverts, left = plan_revert(before, calls)
    assert reverts == () and left == ("ModelLifeCycle",)


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
    """The package as compared: an empty description is what "absent" is given back as."""
    return {"metadata": state.get("CustomerMetadataProperties") or {},
            "approval": state.get("ModelApprovalStatus"), "description": state.get("ApprovalDescription") or ""}


@given(data=st.data(), metadata=MAPS, status=STATUS)
def test_applying_any_prefix_of_a_plan_then_its_revert_gives_the_pre_image(
    data: st.DataObject, metadata: dict[str, str], status: str
) -> None:
    before = live(metadata, ModelApprovalStatus=status)
    planned = create(declaration(data), before)
    applied = planned.calls[: data.draw(st.integers(0, len(planned.calls)))]
    reverts, left = plan_revert(before, applied)
    state = before
    for call in [*applied, *reverts]:
        state = simulate(state, call)
    assert left == () and normal(state) == normal(before)


@given(data=st.data(), metadata=MAPS, status=STATUS)
def test_release_after_any_sequence_of_declared_states_restores_every_prior(
    data: st.DataObject, metadata: dict[str, str], status: str
) -> None:
    before = live(metadata, ModelApprovalStatus=status)
    state, priors, old = before, None, None
    for _ in range(data.draw(st.integers(1, 4))):
        new = declaration(data)
        kind = "create" if old is None else "update"
        planned = plan(Request(IDENTITY, "Update", kind, new, baseline=old), state, priors)
        for call in planned.calls:
            state = simulate(state, call)
        priors, old = planned.priors, new
    assert old is not None
    released = plan_release(old, state, priors, removing_record=True)
    for call in released.calls:
        state = simulate(state, call)
    assert normal(state) == normal(before)


def test_the_record_written_before_the_calls_keeps_the_priors_this_event_releases() -> None:
    # Until the release is made, the package still holds the declared value: a record
    # without its prior could never give it back if the revert or the record's restore failed.
    held = Priors(fields={"ApprovalDescription": "theirs"}, metadata={"ticket": None})
    planned = update(props({"ticket": "CAB-1"}, ApprovalDescription="mine"), props({"ticket": "CAB-1"}),
                     live({"ticket": "CAB-1"}, ApprovalDescription="mine"), held)
    assert [body(c) for c in planned.calls] == [{"ApprovalDescription": "theirs"}]
    assert planned.recorded == held
    assert planned.priors == Priors(metadata={"ticket": None})


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
    held = Priors(metadata={"k": "theirs"})
    old = props({"k": "mine"})
    new = Properties(PACKAGE, keys_to_remove=("k",))
    planned = update(old, new, live({"k": "mine"}), held)
    assert [body(c) for c in planned.calls] == [{"CustomerMetadataPropertiesToRemove": ["k"]}]
