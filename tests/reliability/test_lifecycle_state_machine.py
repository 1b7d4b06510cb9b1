"""A lifecycle state machine against the local registry: create, updates with random
metadata, approval, description, lifecycle stage and a two-call change (inference
specification and source URI), a failed update and its rollback, replacement, the
same event delivered twice, the pipeline editing metadata and approval out of band,
delete; and on any event: a refusal injected at any SageMaker call (a revert
included), DescribeModelPackage refused, the prior-state table refused or down, or
the event arriving after its ServiceTimeout.

After each step: no key the stack never declared is lost or changed; after each
success the package's declared state is live; a redelivered event gets the same
answer; every invocation got exactly one response; after every FAILED answer each
package equals its pre-image (unless the Reason says "Failed and not fully
reverted"). After each whole lifecycle ending in Delete: every field and key the
stack changed holds its value from before the stack (unless someone else changed it
meanwhile, a key was in CustomerMetadataPropertiesToRemove, or SageMaker cannot
unset the field), and the prior-state table holds no record of the resource."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from devkit.receiver import ResponseReceiver
from devkit.registry import Fault, LocalRegistry
from devkit.runner import Played
from tests.helpers import EVENTS
from tests.reliability import stats
from tests.reliability.controlled import ControlledLifecycle, OnCalls, table_items

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
# RELIABILITY_LIFECYCLE_EXAMPLES shortens (or lengthens) a run of either profile.
EXAMPLES = int(os.environ.get("RELIABILITY_LIFECYCLE_EXAMPLES", "1000" if LONG else "15"))
# Three versions as a pipeline leaves them (no waiting: that is tested elsewhere).
SEED = EVENTS.parent / "tests" / "reliability" / "registry.yaml"
PACKAGES = ["churn/1", "churn/2", "churn/3"]
# churn/1 and churn/2 also get an inference specification and a lifecycle stage from the
# pipeline, so that the stack's changes to them can be given back; churn/3 has neither
# (SageMaker cannot unset them: a change is left, and says so).
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/model:{}"
PIPELINE_FIELDS = {"InferenceSpecification": {"Containers": [{"Image": IMAGE.format("pipeline")}]},
                   "ModelLifeCycle": {"Stage": "Development", "StageStatus": "Pending"}}
UNSETTABLE = ("InferenceSpecification", "ModelLifeCycle")
# The stack's keys overlap the pipeline's (owner, accuracy): conflicts happen.
STACK_KEYS = st.sampled_from(["ticket", "approved-by", "evaluation", "owner", "accuracy"])
PIPELINE_KEYS = st.sampled_from(["pipeline-execution", "accuracy", "owner", "drift", "ticket"])
VALUES = st.sampled_from(["a", "b", "c"])
METADATA = st.dictionaries(STACK_KEYS, VALUES, max_size=4)
APPROVAL = st.sampled_from(["Approved", "Rejected", "PendingManualApproval"])
# What the stack declares besides the package, its metadata and approval.
MORE = st.fixed_dictionaries({}, optional={
    "ApprovalDescription": st.sampled_from(["CAB-1", "CAB-2"]),
    "ModelLifeCycle": st.builds(lambda stage, status: {"Stage": stage, "StageStatus": status},
                                st.sampled_from(["Staging", "Production"]), st.sampled_from(["Approved", "Pending"])),
    # Both differ from the live package: two calls (SageMaker refuses them in one).
    "TwoCalls": st.sampled_from(["a", "b"]),
    "CustomerMetadataPropertiesToRemove": st.just(["drift"]),
})


def _update_refusals(n: int, revert_refused: bool = True) -> st.SearchStrategy[Fault]:
    """The Nth UpdateModelPackage refused (denied, conflict), answered HTTP 500 three
    times (absorbed by the retries, which go on until the deadline), or refused and its
    revert refused too."""
    scripts: list[dict[int, str]] = [{n: "denied"}, {n: "http500", n + 1: "http500", n + 2: "http500"}]
    if revert_refused:
        scripts.append({n: "denied", n + 1: "denied"})
    scripts.append({n: "conflict"})  # after an applied call: reverted, planned again
    return st.sampled_from(scripts).map(lambda script: OnCalls("UpdateModelPackage", script))


def _faults(revert_refused: bool) -> st.SearchStrategy[Fault]:
    """Each draw builds a fresh fault: a fault counts what it answered."""
    return st.one_of(
        st.integers(1, 3).flatmap(lambda n: _update_refusals(n, revert_refused)),
        st.sampled_from([{1: "denied"}, {1: "http500", 2: "http500", 3: "http500"}]).map(
            lambda script: OnCalls("DescribeModelPackage", script)),
        st.builds(Fault, st.sampled_from(["denied", "down"]), st.sampled_from(["GetItem", "PutItem", "DeleteItem"]),
                  st.just(99)),
        st.builds(Fault, st.just("down"), st.just("dynamodb:*"), st.just(99)),
    )


# Most events run clean; the rest get a fault, or arrive after their ServiceTimeout.
TROUBLE = st.one_of(st.none(), st.none(), st.none(), _faults(revert_refused=True), st.just("late"))
UPDATE_TROUBLE = TROUBLE


class ResourceLifecycle(RuleBasedStateMachine):
    registry: LocalRegistry
    receiver: ResponseReceiver

    def __init__(self) -> None:
        super().__init__()
        self.registry.reset()
        labels = self.registry.seed(SEED)
        for label in PACKAGES[:2]:
            arn = labels[label]
            self.registry.client_of(arn).update_model_package(ModelPackageArn=arn, **PIPELINE_FIELDS)
        self.stack = ControlledLifecycle(self.registry, self.receiver, labels, cold=False, timeout_ms=30_000,
                                         packages=[labels[p] for p in PACKAGES])
        # The whole lifecycle: each package before the stack's first event, what others
        # changed since (ARN, field or "metadata:KEY"), the keys it listed to remove.
        self.before_stack: dict[str, dict[str, Any]] | None = None
        self.others_changed: set[tuple[str, str]] = set()
        self.removed_keys: set[str] = set()
        self.lifecycle_failures: list[str] = []
        stats.COUNTS["lifecycle sequences run"] += 1

    # --- properties and trouble ---------------------------------------------------

    def _properties(self, package: str, metadata: dict[str, str], approval: str, overwrite: bool,
                    more: dict[str, Any]) -> dict[str, Any]:
        props = {"ModelPackageArn": package, "ModelApprovalStatus": approval, "CustomerMetadataProperties": metadata,
                 "OverwriteExistingMetadata": str(overwrite).lower(), **more}
        two = props.pop("TwoCalls", None)
        if two:
            props["InferenceSpecification"] = {"Containers": [{"Image": IMAGE.format(two)}]}
            props["SourceUri"] = f"s3://models/churn/{two}"
        self.removed_keys.update(props.get("CustomerMetadataPropertiesToRemove", []))
        return props

    def _arm(self, trouble: Fault | str | None) -> bool:
        if trouble is None:
            return False
        if trouble == "late":
            self.stack.arm(late_by=30)
            stats.COUNTS["late events (past their ServiceTimeout)"] += 1
        else:
            assert isinstance(trouble, Fault)
            self.stack.arm(trouble)
            stats.COUNTS["events played with a fault armed"] += 1
        return True

    def _start(self) -> None:
        if self.before_stack is None:
            self.before_stack = self.stack.images()

    def _check_declared_state(self, played: Played) -> None:
        if played.status != "SUCCESS" or self.stack.properties is None:
            return
        props = self.stack.properties
        live = self.stack.describe(props["ModelPackageArn"])
        metadata = live.get("CustomerMetadataProperties") or {}
        for key, value in props["CustomerMetadataProperties"].items():
            assert metadata.get(key) == value, (key, metadata)
        previous = dict(played.event.get("OldResourceProperties") or {})
        to_remove = props.get("CustomerMetadataPropertiesToRemove", [])
        if played.event["RequestType"] == "Create" or previous.get("CustomerMetadataPropertiesToRemove") != to_remove:
            for key in to_remove:  # removed on Create, and again when the list changes
                assert key not in metadata or key in props["CustomerMetadataProperties"], (key, metadata)
        for name in ("ModelApprovalStatus", "ApprovalDescription", "ModelLifeCycle", "InferenceSpecification",
                     "SourceUri"):
            if name in props:
                assert live.get(name) == props[name], (name, live.get(name), props[name])

    # --- CloudFormation's events ------------------------------------------------------

    @precondition(lambda self: self.stack.properties is None)
    @rule(package=st.sampled_from(PACKAGES), metadata=METADATA, approval=APPROVAL, overwrite=st.booleans(),
          more=MORE, redeliver=st.booleans(), trouble=TROUBLE)
    def create(self, package: str, metadata: dict[str, str], approval: str, overwrite: bool, more: dict[str, Any],
               redeliver: bool, trouble: Fault | str | None) -> None:
        self._start()
        armed = self._arm(trouble)
        played = self.stack.create(self._properties(package, metadata, approval, overwrite, more), None,
                                   redeliver and not armed)
        self._check_declared_state(played)
        if self.stack.properties is None:  # failed, and CloudFormation's Delete of its id followed
            self._end_of_lifecycle()

    @precondition(lambda self: self.stack.properties is not None)
    @rule(metadata=METADATA, approval=APPROVAL, overwrite=st.booleans(), more=MORE, redeliver=st.booleans(),
          trouble=UPDATE_TROUBLE)
    def update(self, metadata: dict[str, str], approval: str, overwrite: bool, more: dict[str, Any],
               redeliver: bool, trouble: Fault | str | None) -> None:
        package = str(self.stack.properties["ModelPackageArn"])  # type: ignore[index]
        armed = self._arm(trouble)
        played = self.stack.update(self._properties(package, metadata, approval, overwrite, more), None,
                                   redeliver and not armed)
        self._check_declared_state(played)

    @precondition(lambda self: self.stack.properties is not None)
    @rule(package=st.sampled_from(PACKAGES), metadata=METADATA, approval=APPROVAL, more=MORE,
          trouble=UPDATE_TROUBLE)
    def replace(self, package: str, metadata: dict[str, str], approval: str, more: dict[str, Any],
                trouble: Fault | str | None) -> None:
        self._arm(trouble)
        played = self.stack.update(self._properties(package, metadata, approval, False, more), None)
        self._check_declared_state(played)

    @precondition(lambda self: self.stack.properties is not None)
    @rule(metadata=METADATA)
    def failing_update(self, metadata: dict[str, str]) -> None:
        """An update CloudFormation accepts but the function refuses; the runner then
        plays the rollback, which must succeed."""
        package = str(self.stack.properties["ModelPackageArn"])  # type: ignore[index]
        self.stack.update({"ModelPackageArn": package, "CustomerMetadataProperties": metadata,
                           "ModelAprovalStatus": "Approved"}, "FAILED")

    @rule(package=st.sampled_from(PACKAGES), set_=st.dictionaries(PIPELINE_KEYS, VALUES, max_size=2),
          remove=st.lists(PIPELINE_KEYS, max_size=1), approval=st.one_of(st.none(), APPROVAL))
    def pipeline_edits(self, package: str, set_: dict[str, str], remove: list[str], approval: str | None) -> None:
        remove = [k for k in remove if k not in set_]
        if not (set_ or remove or approval):
            return
        self.stack.pipeline(package, set_, remove, approval)
        stats.COUNTS["out-of-band edits between events"] += 1
        if self.before_stack is not None:
            arn = self.stack.labels[package]
            self.others_changed.update((arn, f"metadata:{key}") for key in [*set_, *remove])
            if approval:
                self.others_changed.add((arn, "ModelApprovalStatus"))

    @precondition(lambda self: self.stack.properties is not None)
    @rule(redeliver=st.booleans(), trouble=TROUBLE)
    def delete(self, redeliver: bool, trouble: Fault | str | None) -> None:
        armed = self._arm(trouble)
        properties, physical = self.stack.properties, self.stack.physical_id
        played = self.stack.delete(None if armed else "SUCCESS", redeliver and not armed)
        if played.status != "SUCCESS":
            # DELETE_FAILED: the operator retries the stack's deletion.
            stats.COUNTS["failed deletes retried"] += 1
            self.stack.properties, self.stack.physical_id = properties, physical
            self.stack.delete("SUCCESS")
        self._end_of_lifecycle()

    # --- the whole lifecycle ------------------------------------------------------------

    def _end_of_lifecycle(self) -> None:
        """After the Delete: what the stack changed holds its value from before the
        stack, and no record of the resource is left."""
        before, self.before_stack = self.before_stack, None
        changed, self.others_changed = self.others_changed, set()
        removed, self.removed_keys = self.removed_keys, set()
        if before is None:
            return
        stats.COUNTS["whole lifecycles checked (ending in Delete)"] += 1
        for arn, after in self.stack.images().items():
            label = arn.rpartition(":")[2]
            for name, value in before[arn].items():
                if name == "metadata":
                    continue
                if after[name] != value and (arn, name) not in changed and not (name in UNSETTABLE and value is None):
                    self.lifecycle_failures.append(f"{label}: {name} was {value!r} before the stack, now {after[name]!r}")
            old, new = before[arn]["metadata"], after["metadata"]
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key) and (arn, f"metadata:{key}") not in changed and key not in removed:
                    self.lifecycle_failures.append(
                        f"{label}: metadata {key} was {old.get(key)!r} before the stack, now {new.get(key)!r}")
        left = table_items(self.registry, self.stack.logical_id)
        if left:
            self.lifecycle_failures.append(f"prior-state records outlive the resource: {left}")

    def teardown(self) -> None:
        stats.COUNTS["lifecycle events played"] += len(self.stack.played)  # rollbacks, redeliveries included
        stats.COUNTS["failed updates rolled back"] += sum(p.label == "update (rollback)" for p in self.stack.played)
        stats.COUNTS["rollbacks refused (a key changed meanwhile)"] += len(self.stack.refusals)

    @invariant()
    def nothing_of_others_is_lost(self) -> None:
        stats.COUNTS["invariant checks"] += 4  # the four invariants below
        assert self.stack.lost_keys() == []

    @invariant()
    def every_check_held(self) -> None:
        assert self.stack.failures == []

    @invariant()
    def a_failed_event_leaves_each_package_as_it_found_it(self) -> None:
        assert self.stack.violations == []

    @invariant()
    def a_whole_lifecycle_gives_back_what_it_changed(self) -> None:
        assert self.lifecycle_failures == []


@pytest.fixture
def lifecycle_machine(registry: LocalRegistry, receiver: ResponseReceiver) -> type[ResourceLifecycle]:
    ResourceLifecycle.registry = registry
    ResourceLifecycle.receiver = receiver
    return ResourceLifecycle


def test_lifecycle_state_machine(lifecycle_machine: type[ResourceLifecycle]) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(lifecycle_machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=10, deadline=None,
        suppress_health_check=list(HealthCheck)))


def test_a_redelivered_delete_leaves_a_key_declared_equal_to_its_value(registry: LocalRegistry,
                                                                       receiver: ResponseReceiver) -> None:
    labels = registry.seed(SEED)
    stack = ControlledLifecycle(registry, receiver, labels, cold=False, timeout_ms=30_000)
    # GIVEN the pipeline's key ticket=a, and a stack that declares the same value (no change, no prior)
    stack.pipeline("churn/1", {"ticket": "a"})
    stack.create({"ModelPackageArn": "churn/1", "ModelApprovalStatus": "Approved",
                  "CustomerMetadataProperties": {"ticket": "a", "evaluation": "b"}})
    # WHEN the Delete is delivered twice
    stack.delete("SUCCESS", redeliver=True)
    # THEN the key the resource never changed is still there, and the approval is back
    live = stack.describe(labels["churn/1"])
    assert live["ModelApprovalStatus"] == "Approved"  # churn/1 was approved by the pipeline
    assert stack.metadata(labels["churn/1"]).get("evaluation") is None
    assert stack.metadata(labels["churn/1"]).get("ticket") == "a"


def test_a_releasing_update_not_fully_reverted_keeps_its_priors(registry: LocalRegistry,
                                                                receiver: ResponseReceiver) -> None:
    labels = registry.seed(SEED)
    arn = labels["churn/2"]
    registry.client_of(arn).update_model_package(ModelPackageArn=arn, **PIPELINE_FIELDS)
    stack = ControlledLifecycle(registry, receiver, labels, cold=False, timeout_ms=30_000, packages=[arn])
    before = stack.images()[arn]
    declared = {"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                "InferenceSpecification": {"Containers": [{"Image": IMAGE.format("b")}]},
                "SourceUri": "s3://models/churn/b"}
    stack.create(declared)
    # An Update that drops both: two release calls; the second refused, and so is the revert of the first.
    stack.arm(OnCalls("UpdateModelPackage", {2: "denied", 3: "denied"}))
    played = stack.update({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved"}, None)
    assert played.response["Reason"].startswith("Failed and not fully reverted")  # type: ignore[index]
    stack.delete("SUCCESS")  # after CloudFormation's rollback
    after = stack.images()[arn]
    assert after["SourceUri"] == before["SourceUri"], after["SourceUri"]
    assert after == before
