"""SageMaker's rules (rules.py): every documented approval transition accepted and every
other refused; the combinations SageMaker refuses in one call; what the strict registry
adds where SageMaker's answer is unknown; and the planner never asking for a refused call."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_package_resource import rules
from model_package_resource.errors import MetadataConflict, OwnershipConflict, RuleRefusal
from model_package_resource.ownership import Ownership
from tests.unit.planning import ME, OTHER_STACK, apply_all, create, live, props, release, update

STATUSES = ["PendingManualApproval", "Approved", "Rejected"]
DOCUMENTED = {("PendingManualApproval", "Approved"), ("PendingManualApproval", "Rejected"),
              ("Rejected", "Approved"), ("Approved", "Rejected")}


@pytest.mark.parametrize("before", STATUSES)
@pytest.mark.parametrize("after", STATUSES)
def test_only_the_documented_transitions_are_accepted(before: str, after: str) -> None:
    call = {"ModelApprovalStatus": after}
    if before == after or (before, after) in DOCUMENTED:
        assert rules.apply(live(ModelApprovalStatus=before), call)["ModelApprovalStatus"] == after
    else:
        with pytest.raises(rules.Refusal) as refused:
            rules.apply(live(ModelApprovalStatus=before), call)
        assert refused.value.rule is rules.APPROVAL_TRANSITIONS


@pytest.mark.parametrize(
    ("name", "package", "call", "rule"),
    [
        ("SourceUri with InferenceSpecification", {}, {"SourceUri": "s3://x", "InferenceSpecification": {}},
         rules.SOURCE_URI_WITH_SPECIFICATION),
        ("a card's status with its content", {}, {"ModelCard": {"ModelCardContent": "{}", "ModelCardStatus": "Draft"}},
         rules.CARD_STATUS_WITH_CONTENT),
        ("content on an archived card", {"ModelCard": {"ModelCardStatus": "Archived"}},
         {"ModelCard": {"ModelCardContent": "{}"}}, rules.ARCHIVED_CARD),
        ("an empty metadata map", {}, {"CustomerMetadataProperties": {}}, rules.METADATA_NOT_EMPTY),
        ("a key set and removed", {}, {"CustomerMetadataProperties": {"a": "1"},
                                       "CustomerMetadataPropertiesToRemove": ["a"]}, rules.METADATA_SET_AND_REMOVED),
        ("a 51st key", {"CustomerMetadataProperties": {str(i): "v" for i in range(50)}},
         {"CustomerMetadataProperties": {"x": "v"}}, rules.METADATA_LIMIT),
        ("a specification's Name twice", {"AdditionalInferenceSpecifications": [{"Name": "a"}]},
         {"AdditionalInferenceSpecificationsToAdd": [{"Name": "a"}]}, rules.SPECIFICATION_APPEND_ONLY),
        ("a 16th specification", {"AdditionalInferenceSpecifications": [{"Name": str(i)} for i in range(15)]},
         {"AdditionalInferenceSpecificationsToAdd": [{"Name": "x"}]}, rules.SPECIFICATION_LIMIT),
    ],
)
def test_refused_in_both_modes(name: str, package: dict[str, Any], call: dict[str, Any], rule: rules.Rule) -> None:
    for strict in (False, True):
        with pytest.raises(rules.Refusal) as refused:
            rules.apply(package, call, strict=strict)
        assert refused.value.rule is rule, f"Test {name!r} got {refused.value.rule.name}"


@pytest.mark.parametrize(
    ("package", "call", "rule"),
    [
        ({"SourceUri": "s3://x"}, {"SourceUri": ""}, rules.SOURCE_URI_BLANK),
        ({"ModelPackageRegistrationType": "Registered"}, {"ModelPackageRegistrationType": "Logged"},
         rules.REGISTRATION_BACK_TO_LOGGED),
    ],
)
def test_unknown_answers_are_refused_only_by_the_strict_registry(package: dict[str, Any], call: dict[str, Any],
                                                                 rule: rules.Rule) -> None:
    assert not rule.confirmed and rule.strict_only
    rules.apply(package, call)  # the product tries: SageMaker decides
    with pytest.raises(rules.Refusal) as refused:
        rules.apply(package, call, strict=True)
    assert refused.value.rule is rule


def test_a_status_only_card_update_keeps_the_content() -> None:
    package = {"ModelCard": {"ModelCardContent": '{"a": 1}', "ModelCardStatus": "Draft"}}
    after = rules.apply(package, {"ModelCard": {"ModelCardStatus": "Approved"}})
    assert after["ModelCard"] == {"ModelCardContent": '{"a": 1}', "ModelCardStatus": "Approved"}


def test_released_approval_is_the_prior_or_rejected_when_there_is_no_way_back() -> None:
    assert rules.released_approval("PendingManualApproval", "Approved") == "Rejected"
    assert rules.released_approval("PendingManualApproval", "PendingManualApproval") == "PendingManualApproval"
    assert rules.released_approval("Approved", "Rejected") == "Approved"


def test_every_rule_names_its_source_and_says_whether_it_is_confirmed() -> None:
    names = [rule.name for rule in rules.RULES]
    assert len(names) == len(set(names))
    for rule in rules.RULES:
        assert rule.statement and rule.source
        assert not (rule.strict_only and rule.confirmed), rule.name  # only an unknown is strict only


@given(
    start=st.sampled_from(STATUSES),
    declared=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=4),
    other=st.one_of(st.none(), st.sampled_from(STATUSES)),
)
def test_the_planner_never_asks_for_a_refused_transition_whatever_the_priors(
        start: str, declared: list[str], other: str | None) -> None:
    """Any sequence of declared approvals (another resource perhaps declaring one too), then
    the release: every planned call is accepted by the strict rules (apply_all raises)."""
    package, record = live(ModelApprovalStatus=start), Ownership()
    if other is not None:
        try:
            planned = create(props(ModelApprovalStatus=other), package, stack=OTHER_STACK, request_id="o")
            package, record = apply_all(package, planned), planned.intent
        except RuleRefusal:
            pass
    old = None
    for status in declared:
        new = props(ModelApprovalStatus=status)
        try:
            planned = create(new, package, record) if old is None else update(old, new, package, record)
        except (RuleRefusal, OwnershipConflict, MetadataConflict):
            continue
        package, record, old = apply_all(package, planned), planned.intent, new
    if old is not None:
        released = release(old, package, record)
        apply_all(package, released)
        assert ME not in {m.resource for e in released.intent.entries.values() for m in e.managers}
