"""A lifecycle state machine against the local registry, as strict as SageMaker
documents: several stacks (a resource each) on three packages, interleaved: create,
updates with random metadata, approval, description, lifecycle stage and a two-call
change (inference specification and source URI), takeovers
(OverwriteExistingMetadata), a refused update and its rollback, replacement, the
pipeline editing metadata and approval out of band, delete; the same event delivered
twice in a row or twice at once; and on any event: a refusal injected at any
SageMaker call (a revert included), DescribeModelPackage refused, the record table
refused or down, a table write whose answer is lost after it landed, or the event
arriving after its ServiceTimeout.

After each step: no key that no stack declared is lost or changed; every invocation
got exactly one response, and both deliveries of one event the same; after every
FAILED answer each package equals its pre-image (unless the Reason says "Failed and
not fully reverted"); each managed item's live value is what its last setter
declares (unless changed out of band since); no record names a resource as manager
of an item it does not declare. Once no stack holds a resource: every package is as
before the first of them (but for what others changed meanwhile, keys listed for
removal, fields SageMaker cannot unset, releases it refused, and an approval
released as Rejected, SageMaker having no way back to PendingManualApproval), and
no record names any resource."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from devkit.receiver import ResponseReceiver
from devkit.registry import Fault, LocalRegistry
from devkit.runner import STACK_ID, Played
from model_package_resource import rules
from model_package_resource.ownership import holds, item_name, live_value
from tests.helpers import EVENTS
from tests.reliability import stats
from tests.reliability.controlled import ControlledLifecycle, OnCalls, differences, image, managed, records

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
# RELIABILITY_LIFECYCLE_EXAMPLES shortens (or lengthens) a run of either profile.
EXAMPLES = int(os.environ.get("RELIABILITY_LIFECYCLE_EXAMPLES", "1000" if LONG else "15"))
# Three versions as a pipeline leaves them (no waiting: that is tested elsewhere).
SEED = EVENTS.parent / "tests" / "reliability" / "registry.yaml"
PACKAGES = ["churn/1", "churn/2", "churn/3"]
STACKS = ["cab", "prod", "staging"]
# churn/1 and churn/2 also get an inference specification and a lifecycle stage from the
# pipeline, so that the stacks' changes to them can be given back; churn/3 has neither
# (SageMaker cannot unset them: a change is left, and says so).
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/model:{}"
PIPELINE_FIELDS = {"InferenceSpecification": {"Containers": [{"Image": IMAGE.format("pipeline")}]},
                   "ModelLifeCycle": {"Stage": "Development", "StageStatus": "Pending"}}
UNSETTABLE = ("InferenceSpecification", "ModelLifeCycle")
# The stacks' keys overlap each other's and the pipeline's (owner, accuracy): conflicts happen.
STACK_KEYS = st.sampled_from(["ticket", "approved-by", "evaluation", "owner", "accuracy"])
PIPELINE_KEYS = st.sampled_from(["pipeline-execution", "accuracy", "owner", "drift", "ticket"])
VALUES = st.sampled_from(["a", "b"])
METADATA = st.dictionaries(STACK_KEYS, VALUES, max_size=3)
# Stacks mostly agree (so that they share items); sometimes they do not (conflicts).
APPROVAL = st.sampled_from(["Approved", "Approved", "Approved", "Rejected", "PendingManualApproval", None])
# What a stack declares besides the package, its metadata and approval.
MORE = st.fixed_dictionaries({}, optional={
    "ApprovalDescription": st.sampled_from(["CAB-1", "CAB-2"]),
    "ModelLifeCycle": st.builds(lambda stage, status: {"Stage": stage, "StageStatus": status},
                                st.sampled_from(["Staging", "Production"]), st.sampled_from(["Approved", "Pending"])),
    # Both differ from the live package: two calls (SageMaker refuses them in one).
    "TwoCalls": st.sampled_from(["a", "b"]),
    "CustomerMetadataPropertiesToRemove": st.just(["drift"]),
})


def _update_refusals(n: int) -> st.SearchStrategy[Fault]:
    """The Nth UpdateModelPackage refused (denied, a ValidationException, conflict),
    answered HTTP 500 three times (absorbed by the retries, which go on until the
    deadline), or refused and its revert refused too."""
    scripts: list[dict[int, str]] = [{n: "denied"}, {n: "refused"}, {n: "http500", n + 1: "http500", n + 2: "http500"},
                                     {n: "denied", n + 1: "denied"}, {n: "conflict"}]
    return st.sampled_from(scripts).map(lambda script: OnCalls("UpdateModelPackage", script))


def _faults() -> st.SearchStrategy[Fault]:
    """Each draw builds a fresh fault: a fault counts what it answered."""
    return st.one_of(
        st.integers(1, 3).flatmap(_update_refusals),
        st.sampled_from([{1: "denied"}, {1: "http500", 2: "http500", 3: "http500"}]).map(
            lambda script: OnCalls("DescribeModelPackage", script)),
        st.builds(Fault, st.sampled_from(["denied", "down"]), st.sampled_from(["BatchGetItem", "PutItem"]),
                  st.just(99)),
        st.builds(Fault, st.just("down"), st.just("dynamodb:*"), st.just(99)),
        # a write that lands, its answer lost: the lease's (1st PutItem) or the confirmation's (2nd)
        st.sampled_from([{1: "lost"}, {2: "lost"}]).map(lambda script: OnCalls("PutItem", script)),
    )


# Most events run clean; the rest get a fault, or arrive after their ServiceTimeout.
TROUBLE = st.one_of(st.none(), st.none(), st.none(), _faults(), st.just("late"))
# Delivered once, again after the first answered, or twice at once.
DELIVERY = st.sampled_from(["once", "again", "at once"])


class ManyStacksOnePackage(RuleBasedStateMachine):
    registry: LocalRegistry
    receiver: ResponseReceiver

    def __init__(self) -> None:
        super().__init__()
        self.registry.reset()
        labels = self.registry.seed(SEED)
        for label in PACKAGES[:2]:
            arn = labels[label]
            self.registry.client_of(arn).update_model_package(ModelPackageArn=arn, **PIPELINE_FIELDS)
        self.labels = labels
        self.arns = [labels[p] for p in PACKAGES]
        self.stacks = {
            name: ControlledLifecycle(self.registry, self.receiver, labels, cold=False, timeout_ms=30_000,
                                      packages=self.arns, stack_id=STACK_ID.replace("local-demo", name))
            for name in STACKS
        }
        # Since no stack held a resource: each package then, what others changed since
        # (ARN, field or "metadata:KEY"), the keys listed for removal.
        self.before: dict[str, dict[str, Any]] = self.images()
        self.others_changed: set[tuple[str, str]] = set()
        self.removed_keys: set[str] = set()
        self.out_of_band: set[tuple[str, str]] = set()  # items edited out of band, until their setter's value is back
        self.failures: list[str] = []
        stats.COUNTS["lifecycle sequences run"] += 1

    def images(self) -> dict[str, dict[str, Any]]:
        return {arn: image(self.registry.client_of(arn).describe_model_package(ModelPackageName=arn))
                for arn in self.arns}

    # --- properties and trouble ---------------------------------------------------

    def _properties(self, package: str, metadata: dict[str, str], approval: str | None, overwrite: bool,
                    more: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = {"ModelPackageArn": package, "CustomerMetadataProperties": metadata,
                                 "OverwriteExistingMetadata": str(overwrite).lower(), **more}
        if approval is not None:
            props["ModelApprovalStatus"] = approval
        two = props.pop("TwoCalls", None)
        if two:
            props["InferenceSpecification"] = {"Containers": [{"Image": IMAGE.format(two)}]}
            props["SourceUri"] = f"s3://models/churn/{two}"
        self.removed_keys.update(props.get("CustomerMetadataPropertiesToRemove", []))
        return props

    def _arm(self, stack: ControlledLifecycle, trouble: Fault | str | None) -> bool:
        if trouble is None:
            return False
        if trouble == "late":
            stack.arm(late_by=30)
            stats.COUNTS["late events (past their ServiceTimeout)"] += 1
        else:
            assert isinstance(trouble, Fault)
            stack.arm(trouble)
            stats.COUNTS["events played with a fault armed"] += 1
        return True

    def _deliver(self, stack: ControlledLifecycle, delivery: str, armed: bool) -> None:
        stack.redeliver_next = "once" if armed else delivery
        if delivery != "once" and not armed:
            stats.COUNTS[f"events delivered twice ({delivery})"] += 1

    def _after(self, played: Played) -> None:
        if played.status == "SUCCESS" and played.event["RequestType"] != "Delete":
            stats.COUNTS["lifecycle Creates and Updates answered SUCCESS"] += 1

    # --- CloudFormation's events ------------------------------------------------------

    @precondition(lambda self: any(s.properties is None for s in self.stacks.values()))
    @rule(data=st.data(), package=st.sampled_from(PACKAGES), metadata=METADATA, approval=APPROVAL,
          overwrite=st.booleans(), more=MORE, delivery=DELIVERY, trouble=TROUBLE)
    def create(self, data: st.DataObject, package: str, metadata: dict[str, str], approval: str | None,
               overwrite: bool, more: dict[str, Any], delivery: str, trouble: Fault | str | None) -> None:
        name = data.draw(st.sampled_from([n for n, s in self.stacks.items() if s.properties is None]))
        stack = self.stacks[name]
        self._deliver(stack, delivery, self._arm(stack, trouble))
        self._after(stack.create(self._properties(package, metadata, approval, overwrite, more), None))

    @precondition(lambda self: any(s.properties is not None for s in self.stacks.values()))
    @rule(data=st.data(), metadata=METADATA, approval=APPROVAL, overwrite=st.booleans(), more=MORE,
          delivery=DELIVERY, trouble=TROUBLE)
    def update(self, data: st.DataObject, metadata: dict[str, str], approval: str | None, overwrite: bool,
               more: dict[str, Any], delivery: str, trouble: Fault | str | None) -> None:
        stack = self.stacks[data.draw(st.sampled_from([n for n, s in self.stacks.items() if s.properties]))]
        package = str(stack.properties["ModelPackageArn"])  # type: ignore[index]
        self._deliver(stack, delivery, self._arm(stack, trouble))
        self._after(stack.update(self._properties(package, metadata, approval, overwrite, more), None))

    @precondition(lambda self: any(s.properties is not None for s in self.stacks.values()))
    @rule(data=st.data(), package=st.sampled_from(PACKAGES), metadata=METADATA, approval=APPROVAL, more=MORE,
          trouble=TROUBLE)
    def replace(self, data: st.DataObject, package: str, metadata: dict[str, str], approval: str | None,
                more: dict[str, Any], trouble: Fault | str | None) -> None:
        stack = self.stacks[data.draw(st.sampled_from([n for n, s in self.stacks.items() if s.properties]))]
        self._arm(stack, trouble)
        self._after(stack.update(self._properties(package, metadata, approval, False, more), None))

    @precondition(lambda self: any(s.properties is not None for s in self.stacks.values()))
    @rule(data=st.data(), metadata=METADATA)
    def failing_update(self, data: st.DataObject, metadata: dict[str, str]) -> None:
        """An update CloudFormation accepts but the function refuses; the runner then
        plays the rollback, which must succeed."""
        stack = self.stacks[data.draw(st.sampled_from([n for n, s in self.stacks.items() if s.properties]))]
        package = str(stack.properties["ModelPackageArn"])  # type: ignore[index]
        stack.update({"ModelPackageArn": package, "CustomerMetadataProperties": metadata,
                      "ModelAprovalStatus": "Approved"}, "FAILED")

    @rule(package=st.sampled_from(PACKAGES), set_=st.dictionaries(PIPELINE_KEYS, VALUES, max_size=2),
          remove=st.lists(PIPELINE_KEYS, max_size=1), approval=st.one_of(st.none(), APPROVAL))
    def pipeline_edits(self, package: str, set_: dict[str, str], remove: list[str], approval: str | None) -> None:
        arn = self.labels[package]
        remove = [k for k in remove if k not in set_]
        current = self.registry.client_of(arn).describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        if approval is not None and (approval == current or not rules.approval_allowed(current, approval)):
            approval = None  # a person in the console can only make SageMaker's transitions
        if not (set_ or remove or approval):
            return
        self.stacks["cab"].pipeline(package, set_, remove, approval)
        stats.COUNTS["out-of-band edits between events"] += 1
        edited = [f"metadata:{key}" for key in [*set_, *remove]] + (["ModelApprovalStatus"] if approval else [])
        self.others_changed.update((arn, name) for name in edited)
        self.out_of_band.update((arn, name) for name in edited)

    @precondition(lambda self: any(s.properties is not None for s in self.stacks.values()))
    @rule(data=st.data(), delivery=DELIVERY, trouble=TROUBLE)
    def delete(self, data: st.DataObject, delivery: str, trouble: Fault | str | None) -> None:
        stack = self.stacks[data.draw(st.sampled_from([n for n, s in self.stacks.items() if s.properties]))]
        armed = self._arm(stack, trouble)
        self._deliver(stack, delivery, armed)
        properties, physical = stack.properties, stack.physical_id
        played = stack.delete(None if armed else "SUCCESS")
        if played.status != "SUCCESS":
            # DELETE_FAILED: the operator retries the stack's deletion, which must succeed.
            stats.COUNTS["failed deletes retried"] += 1
            stack.properties, stack.physical_id = properties, physical
            stack.delete("SUCCESS")
        self._whole_lifecycles()

    @precondition(lambda self: sum(s.properties is not None for s in self.stacks.values()) >= 2)
    @rule(order=st.permutations(STACKS), trouble=TROUBLE)
    def delete_every_stack(self, order: list[str], trouble: Fault | str | None) -> None:
        """Every stack deleted, in any order (the first Delete may get trouble)."""
        for name in order:
            stack = self.stacks[name]
            if stack.properties is None:
                continue
            armed = self._arm(stack, trouble)
            trouble = None
            properties, physical = stack.properties, stack.physical_id
            if stack.delete(None if armed else "SUCCESS").status != "SUCCESS":
                stats.COUNTS["failed deletes retried"] += 1
                stack.properties, stack.physical_id = properties, physical
                stack.delete("SUCCESS")
        self._whole_lifecycles()

    # --- the whole lifecycles ------------------------------------------------------------

    def _whole_lifecycles(self) -> None:
        """Once no stack holds a resource: each package is as before the first of them,
        and no record names any resource."""
        if any(stack.properties is not None for stack in self.stacks.values()):
            return
        stats.COUNTS["whole lifecycles checked (every stack deleted)"] += 1
        left = {(arn, item_name(item)) for arn, record in records(self.registry).items()
                for item, entry in record.ownership.entries.items() if entry.left is not None}
        for arn, after in self.images().items():
            before = self.before[arn]
            label = arn.rpartition(":")[2]
            for change in differences(before, after, released=True):
                name, _, detail = change.partition(": ")
                key = f"metadata:{name.removeprefix('metadata ')}" if name.startswith("metadata ") else name
                if (arn, key) in self.others_changed or (arn, name) in left:
                    continue
                if name.startswith("metadata ") and name.removeprefix("metadata ") in self.removed_keys:
                    continue
                if name in UNSETTABLE and before.get(name) is None:
                    continue
                self.failures.append(f"{label}: {name} was changed by the stacks and not given back: {detail}")
        named = managed(self.registry)
        if named:
            self.failures.append(f"records still name resources once every stack is deleted: {named}")
        self.before, self.others_changed, self.removed_keys = self.images(), set(), set()

    def teardown(self) -> None:
        for stack in self.stacks.values():
            stats.COUNTS["lifecycle events played"] += len(stack.played)  # rollbacks, redeliveries included
            stats.COUNTS["failed updates rolled back"] += sum(p.label == "update (rollback)" for p in stack.played)
            stats.COUNTS["rollbacks refused (a key changed meanwhile)"] += len(stack.refusals)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def nothing_of_others_is_lost(self) -> None:
        stats.COUNTS["invariant checks"] += 6  # the six invariants below
        declared = set().union(*(stack.declared for stack in self.stacks.values()))
        for stack in self.stacks.values():
            stack.declared |= declared
        assert self.stacks["cab"].lost_keys() == []

    @invariant()
    def every_check_held(self) -> None:
        assert [failure for stack in self.stacks.values() for failure in stack.failures] == []

    @invariant()
    def a_failed_event_leaves_each_package_as_it_found_it(self) -> None:
        assert [v for stack in self.stacks.values() for v in stack.violations] == []

    @invariant()
    def each_item_holds_what_its_last_setter_declares(self) -> None:
        problems = []
        for arn, record in records(self.registry).items():
            if record.lease is not None:
                continue  # an intent the next event on the package settles (a confirmation lost)
            live = self.registry.client_of(arn).describe_model_package(ModelPackageName=arn)
            for item, entry in record.ownership.entries.items():
                key = f"metadata:{item[1]}" if item[0] == "metadata" else item[1]
                setter = entry.setter
                if setter is None or holds(item, setter.value, live_value(live, item)):
                    self.out_of_band.discard((arn, key))
                elif (arn, key) not in self.out_of_band:
                    problems.append(f"{arn.rpartition(':')[2]} {item_name(item)}: live "
                                    f"{live_value(live, item)!r}, its setter declares {setter.value!r}")
        assert problems == []

    @invariant()
    def no_record_names_a_resource_as_manager_of_what_it_does_not_declare(self) -> None:
        by_resource = {stack.stack_id + "|" + stack.logical_id: stack for stack in self.stacks.values()}
        problems = []
        for arn, record in records(self.registry).items():
            if record.lease is not None:
                continue
            for item, entry in record.ownership.entries.items():
                for manager in entry.managers:
                    stack = by_resource.get(manager.resource)
                    props = (stack.properties or {}) if stack else {}
                    value = (props.get("CustomerMetadataProperties") or {}).get(item[1]) if item[0] == "metadata" \
                        else props.get(item[1])
                    if props.get("ModelPackageArn") != arn or value is None:
                        problems.append(f"{manager.resource.rpartition('/')[0].rpartition('/')[2]} manages "
                                        f"{item_name(item)} of {arn.rpartition(':')[2]}, which it does not declare")
        assert problems == []

    @invariant()
    def a_whole_lifecycle_gives_back_what_it_changed(self) -> None:
        assert self.failures == []


@pytest.fixture
def lifecycle_machine(registry: LocalRegistry, receiver: ResponseReceiver) -> type[ManyStacksOnePackage]:
    ManyStacksOnePackage.registry = registry
    ManyStacksOnePackage.receiver = receiver
    return ManyStacksOnePackage


def test_lifecycle_state_machine(lifecycle_machine: type[ManyStacksOnePackage]) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(lifecycle_machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=12, deadline=None,
        suppress_health_check=list(HealthCheck)))


def _stack(registry: LocalRegistry, receiver: ResponseReceiver, labels: dict[str, str], name: str,
           packages: list[str]) -> ControlledLifecycle:
    return ControlledLifecycle(registry, receiver, labels, cold=False, timeout_ms=30_000, packages=packages,
                               stack_id=STACK_ID.replace("local-demo", name))


def test_the_same_create_delivered_twice_at_once_answers_success_twice(registry: LocalRegistry,
                                                                        receiver: ResponseReceiver) -> None:
    labels = registry.seed(SEED)
    arn = labels["churn/2"]
    stack = _stack(registry, receiver, labels, "cab", [arn])
    stack.redeliver_next = "at once"
    played = stack.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                           "CustomerMetadataProperties": {"ticket": "CAB-1"}})
    answers = [r.json() for r in receiver.received if r.json()["RequestId"] == played.event["RequestId"]]
    assert [(a["Status"], a["PhysicalResourceId"]) for a in answers] == [("SUCCESS", arn), ("SUCCESS", arn)]
    assert stack.failures == []
    # The Delete (whichever answer CloudFormation took) gives the approval back.
    stack.delete("SUCCESS")
    assert stack.describe(arn)["ModelApprovalStatus"] == "Rejected"
    assert managed(registry) == []


def test_deleting_the_cab_stack_keeps_the_approval_prod_declares(registry: LocalRegistry,
                                                                 receiver: ResponseReceiver) -> None:
    labels = registry.seed(SEED)
    arn = labels["churn/2"]
    cab, prod = (_stack(registry, receiver, labels, name, [arn]) for name in ("cab", "prod"))
    cab.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                "CustomerMetadataProperties": {"ticket": "CAB-1"}})
    prod.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                 "CustomerMetadataProperties": {"env": "prod"}})
    cab.delete("SUCCESS")
    live = cab.describe(arn)
    assert live["ModelApprovalStatus"] == "Approved" and "ticket" not in live["CustomerMetadataProperties"]
    prod.delete("SUCCESS")
    live = prod.describe(arn)
    assert live["ModelApprovalStatus"] == "Rejected" and "env" not in live["CustomerMetadataProperties"]
