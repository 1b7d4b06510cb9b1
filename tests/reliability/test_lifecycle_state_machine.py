"""A lifecycle state machine against the local registry: create, updates with random
metadata and approval, a failed update and its rollback, replacement, the same
event delivered twice, the pipeline editing metadata out of band, delete.

After each step: no key the stack never declared is lost or changed; after each
success the package's managed state equals the declared state; a redelivered event
gets the same answer; every invocation got exactly one response."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from devkit.receiver import ResponseReceiver
from devkit.registry import LocalRegistry
from devkit.runner import Lifecycle, Played
from tests.helpers import EVENTS
from tests.reliability import stats

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
# Three versions as a pipeline leaves them (no waiting: that is tested elsewhere).
SEED = EVENTS.parent / "tests" / "reliability" / "registry.yaml"
PACKAGES = ["churn/1", "churn/2", "churn/3"]
# The stack's keys overlap the pipeline's (owner, accuracy): conflicts happen.
STACK_KEYS = st.sampled_from(["ticket", "approved-by", "evaluation", "owner", "accuracy"])
PIPELINE_KEYS = st.sampled_from(["pipeline-execution", "accuracy", "owner", "drift", "ticket"])
VALUES = st.sampled_from(["a", "b", "c"])
METADATA = st.dictionaries(STACK_KEYS, VALUES, max_size=4)
APPROVAL = st.sampled_from(["Approved", "Rejected", "PendingManualApproval"])


class ResourceLifecycle(RuleBasedStateMachine):
    registry: LocalRegistry
    receiver: ResponseReceiver

    def __init__(self) -> None:
        super().__init__()
        self.registry.reset()
        labels = self.registry.seed(SEED)
        self.stack = Lifecycle(self.registry, self.receiver, labels, cold=False, timeout_ms=30_000)
        stats.COUNTS["lifecycle sequences run"] += 1

    def _properties(self, package: str, metadata: dict[str, str], approval: str, overwrite: bool) -> dict[str, Any]:
        return {"ModelPackageArn": package, "ModelApprovalStatus": approval, "CustomerMetadataProperties": metadata,
                "OverwriteExistingMetadata": str(overwrite).lower()}

    def _check_declared_state(self, played: Played) -> None:
        if played.status != "SUCCESS" or self.stack.properties is None:
            return
        props = self.stack.properties
        live = self.stack.describe(props["ModelPackageArn"])
        metadata = live.get("CustomerMetadataProperties") or {}
        for key, value in props["CustomerMetadataProperties"].items():
            assert metadata.get(key) == value, (key, metadata)
        assert live["ModelApprovalStatus"] == props["ModelApprovalStatus"]

    @precondition(lambda self: self.stack.properties is None)
    @rule(package=st.sampled_from(PACKAGES), metadata=METADATA, approval=APPROVAL, overwrite=st.booleans(),
          redeliver=st.booleans())
    def create(self, package: str, metadata: dict[str, str], approval: str, overwrite: bool, redeliver: bool) -> None:
        played = self.stack.create(self._properties(package, metadata, approval, overwrite), None, redeliver)
        self._check_declared_state(played)

    @precondition(lambda self: self.stack.properties is not None)
    @rule(metadata=METADATA, approval=APPROVAL, overwrite=st.booleans(), redeliver=st.booleans())
    def update(self, metadata: dict[str, str], approval: str, overwrite: bool, redeliver: bool) -> None:
        package = str(self.stack.properties["ModelPackageArn"])  # type: ignore[index]
        played = self.stack.update(self._properties(package, metadata, approval, overwrite), None, redeliver)
        self._check_declared_state(played)

    @precondition(lambda self: self.stack.properties is not None)
    @rule(package=st.sampled_from(PACKAGES), metadata=METADATA, approval=APPROVAL)
    def replace(self, package: str, metadata: dict[str, str], approval: str) -> None:
        played = self.stack.update(self._properties(package, metadata, approval, False), None)
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
          remove=st.lists(PIPELINE_KEYS, max_size=1))
    def pipeline_edits(self, package: str, set_: dict[str, str], remove: list[str]) -> None:
        remove = [k for k in remove if k not in set_]
        if set_ or remove:
            self.stack.pipeline(package, set_, remove)

    @precondition(lambda self: self.stack.properties is not None)
    @rule(redeliver=st.booleans())
    def delete(self, redeliver: bool) -> None:
        self.stack.delete("SUCCESS", redeliver)

    def teardown(self) -> None:
        stats.COUNTS["lifecycle events played"] += len(self.stack.played)  # rollbacks, redeliveries included
        stats.COUNTS["failed updates rolled back"] += sum(p.label == "update (rollback)" for p in self.stack.played)
        stats.COUNTS["rollbacks refused (a key changed meanwhile)"] += len(self.stack.refusals)

    @invariant()
    def nothing_of_others_is_lost(self) -> None:
        assert self.stack.lost_keys() == []

    @invariant()
    def every_check_held(self) -> None:
        assert self.stack.failures == []


@pytest.fixture
def lifecycle_machine(registry: LocalRegistry, receiver: ResponseReceiver) -> type[ResourceLifecycle]:
    ResourceLifecycle.registry = registry
    ResourceLifecycle.receiver = receiver
    return ResourceLifecycle


def test_lifecycle_state_machine(lifecycle_machine: type[ResourceLifecycle]) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(lifecycle_machine, settings=settings(
        max_examples=1000 if LONG else 15, stateful_step_count=10, deadline=None,
        suppress_health_check=list(HealthCheck)))
