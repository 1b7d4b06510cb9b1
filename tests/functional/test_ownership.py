"""Several resources on one package, through the whole invocation (plan, record,
transaction) with SageMaker and the record table in memory, SageMaker as strict as
the local registry. GIVEN stacks that create, update and delete resources on one
package in any order, THEN: each item holds what its last setter declares (or its
prior when no one manages it); the record names no resource as manager of an item
it stopped declaring; whatever order they are deleted in, the last Delete leaves the
package as before the first."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_package_resource.invocation import Outcome, run
from model_package_resource.ownership import holds, live_value, resource_key
from model_package_resource.request import parse_request
from model_package_resource.timing import Deadline
from tests.fakes import MemoryRecords, MemorySageMaker
from tests.helpers import ARN

URL = "https://bucket.s3.amazonaws.com/response?X-Amz-Date=20261130T000000Z&X-Amz-Signature=s"
PENDING = "PendingManualApproval"


def package(metadata: dict[str, str] | None = None, approval: str = PENDING) -> dict[str, Any]:
    return {"ModelPackageArn": ARN, "ModelPackageStatus": "Completed", "ModelApprovalStatus": approval,
            "CustomerMetadataProperties": dict(metadata or {})}


@dataclass
class Stacks:
    """CloudFormation's side: resources (stack, logical id) and what each declares."""

    sagemaker: MemorySageMaker
    records: MemoryRecords = field(default_factory=MemoryRecords)
    declared: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    answers: list[Outcome] = field(default_factory=list)
    count: int = 0

    @classmethod
    def on(cls, live: dict[str, Any]) -> Stacks:
        return cls(MemorySageMaker({ARN: copy.deepcopy(live)}))

    @property
    def live(self) -> dict[str, Any]:
        return self.sagemaker.packages[ARN]

    def event(self, kind: str, stack: str, logical: str, properties: dict[str, Any] | None,
              old: dict[str, Any] | None = None, request_id: str | None = None,
              signed: str | None = None, physical: str = ARN) -> Outcome:
        """One event; `signed`: its ResponseURL's X-Amz-Date (HHMMSS on the URL's day)."""
        self.count += 1
        url = URL.replace("T000000Z", f"T{signed}Z") if signed else URL
        event: dict[str, Any] = {
            "RequestType": kind, "RequestId": request_id or f"request-{self.count}",
            "StackId": f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack}/1",
            "LogicalResourceId": logical, "ResponseURL": URL,
            "ResourceProperties": {"ServiceToken": "token", "ModelPackageArn": ARN, **(properties or {})},
        }
        if old is not None:
            event["OldResourceProperties"] = {"ServiceToken": "token", "ModelPackageArn": ARN, **old}
        if kind != "Create":
            event["PhysicalResourceId"] = physical
        event["ResponseURL"] = url
        outcome = run(parse_request(event, url), Deadline.within(30), self.sagemaker.services(self.records))
        self.answers.append(outcome)
        return outcome

    def create(self, stack: str, properties: dict[str, Any], logical: str = "Approve") -> Outcome:
        outcome = self.event("Create", stack, logical, properties)
        if outcome.status == "SUCCESS":
            self.declared[(stack, logical)] = properties
        return outcome

    def update(self, stack: str, properties: dict[str, Any], logical: str = "Approve") -> Outcome:
        old = self.declared[(stack, logical)]
        outcome = self.event("Update", stack, logical, properties, old)
        if outcome.status == "SUCCESS":
            self.declared[(stack, logical)] = properties
        return outcome

    def delete(self, stack: str, logical: str = "Approve") -> Outcome:
        outcome = self.event("Delete", stack, logical, self.declared[(stack, logical)])
        if outcome.status == "SUCCESS":
            del self.declared[(stack, logical)]
        return outcome

    def setters_hold(self) -> list[str]:
        """Each managed item's live value is its last setter's declared value, and
        every manager still declares it."""
        problems = []
        for item, entry in self.records.ownership(ARN).entries.items():
            for manager in entry.managers:
                stack_logical = _stack_logical(manager.resource)
                props = self.declared.get(stack_logical, {})
                value = props.get(item[1]) if item[0] == "field" else props.get(
                    "CustomerMetadataProperties", {}).get(item[1])
                if value is None and not (item[1] == "ModelApprovalStatus" and props.get(item[1]) == PENDING):
                    problems.append(f"{stack_logical} manages {item} it does not declare")
            if entry.setter and not holds(item, entry.setter.value, live_value(self.live, item)):
                problems.append(f"{item}: live {live_value(self.live, item)!r}, setter declares {entry.setter.value!r}")
        return problems


def _stack_logical(resource: str) -> tuple[str, str]:
    stack_id, _, logical = resource.rpartition("|")
    return stack_id.split("/")[1], logical


def approval_as_before(before: str, after: str) -> bool:
    """As before, or as close as SageMaker allows (no way back to PendingManualApproval)."""
    return after == before or (before == PENDING and after == "Rejected")


# --- tables: two stacks on one package ---------------------------------------------------

CAB = {"ModelApprovalStatus": "Approved", "CustomerMetadataProperties": {"ticket": "CAB-1"}}
PROD = {"ModelApprovalStatus": "Approved", "CustomerMetadataProperties": {"env": "prod"}}


@pytest.mark.parametrize("first", ["cab", "prod"])
def test_deleting_one_of_two_stacks_keeps_the_approval_the_other_declares(first: str) -> None:
    # GIVEN a CAB stack and a prod stack that both approve the package
    stacks = Stacks.on(package({"pipeline": "p"}))
    stacks.create("cab", CAB)
    stacks.create("prod", PROD)
    # WHEN the first of them is deleted
    assert stacks.delete(first).status == "SUCCESS"
    # THEN the approval stays (the other still declares it); only the first's key goes
    assert stacks.live["ModelApprovalStatus"] == "Approved"
    gone, kept = ("ticket", "env") if first == "cab" else ("env", "ticket")
    assert gone not in stacks.live["CustomerMetadataProperties"]
    assert kept in stacks.live["CustomerMetadataProperties"]
    # AND the last Delete gives back what was there before both
    assert stacks.delete("prod" if first == "cab" else "cab").status == "SUCCESS"
    assert stacks.live["ModelApprovalStatus"] == "Rejected"  # no way back to Pending: released to Rejected
    assert stacks.live["CustomerMetadataProperties"] == {"pipeline": "p"}
    assert stacks.records.ownership(ARN).entries == {}


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_a_key_taken_over_is_given_back_in_either_order(order: tuple[str, str]) -> None:
    # GIVEN A sets owner=a (absent before), then B takes it over with OverwriteExistingMetadata
    stacks = Stacks.on(package({"pipeline": "p"}))
    stacks.create("a", {"CustomerMetadataProperties": {"owner": "a"}})
    stacks.create("b", {"CustomerMetadataProperties": {"owner": "b"}, "OverwriteExistingMetadata": "true"})
    assert stacks.live["CustomerMetadataProperties"]["owner"] == "b"
    # WHEN the first is deleted, THEN the key holds the remaining manager's value
    stacks.delete(order[0])
    assert stacks.live["CustomerMetadataProperties"].get("owner") == "a" if order[0] == "b" else "b"
    # WHEN the second is deleted, THEN the package is as before both
    stacks.delete(order[1])
    assert stacks.live["CustomerMetadataProperties"] == {"pipeline": "p"}


def test_a_different_value_of_an_item_another_stack_manages_is_a_conflict_naming_it() -> None:
    stacks = Stacks.on(package())
    stacks.create("cab", CAB)
    # WHEN prod declares the approval otherwise, THEN it fails before any call, naming the CAB stack
    outcome = stacks.create("prod", {"ModelApprovalStatus": "Rejected"})
    assert outcome.status == "FAILED" and outcome.calls == ()
    assert str(outcome.error).startswith("Ownership conflict at ModelApprovalStatus: managed by stack cab, resource Approve")
    # AND a metadata key too, unless OverwriteExistingMetadata takes it over
    outcome = stacks.create("prod", {"CustomerMetadataProperties": {"ticket": "OTHER"}})
    assert str(outcome.error).startswith("Metadata conflict at CustomerMetadataProperties.ticket: managed by stack cab")
    assert stacks.live["ModelApprovalStatus"] == "Approved"


def test_changing_a_shared_value_is_a_conflict_while_the_other_stack_declares_it() -> None:
    stacks = Stacks.on(package())
    stacks.create("cab", CAB)
    stacks.create("prod", PROD)
    outcome = stacks.update("cab", {**CAB, "ModelApprovalStatus": "Rejected"})
    assert outcome.status == "FAILED" and "managed by stack prod" in str(outcome.error)
    assert stacks.live["ModelApprovalStatus"] == "Approved"


def test_a_value_changed_out_of_band_is_left_with_a_warning_when_its_manager_leaves() -> None:
    stacks = Stacks.on(package())
    stacks.create("cab", CAB)
    stacks.sagemaker.packages[ARN]["CustomerMetadataProperties"]["ticket"] = "edited by hand"
    outcome = stacks.delete("cab")
    assert outcome.status == "SUCCESS"
    assert stacks.live["CustomerMetadataProperties"]["ticket"] == "edited by hand"
    assert any("ticket was changed since it was declared" in w for w in outcome.warnings)


def test_a_retained_resource_declared_again_starts_afresh() -> None:
    # GIVEN a resource that approved the package, then left the template with DeletionPolicy: Retain
    stacks = Stacks.on(package({"owner": "pipeline"}))
    stacks.create("cab", {"ModelApprovalStatus": "Approved"})
    # (no Delete is sent)
    # WHEN the same logical id is declared again (a new Create)
    outcome = stacks.create("cab", {"ModelApprovalStatus": "Approved", "CustomerMetadataProperties": {"owner": "ml"}})
    # THEN it is checked against live as any Create (owner holds another value)
    assert outcome.status == "FAILED" and str(outcome.error).startswith("Metadata conflict")
    outcome = stacks.create("cab", {"ModelApprovalStatus": "Approved"})
    assert outcome.status == "SUCCESS"
    # AND its Delete does not revoke the retained approval: the new resource never changed it
    assert stacks.delete("cab").status == "SUCCESS"
    assert stacks.live["ModelApprovalStatus"] == "Approved"


def test_a_redelivered_create_continues_and_answers_alike() -> None:
    stacks = Stacks.on(package())
    first = stacks.event("Create", "cab", "Approve", CAB, request_id="same")
    again = stacks.event("Create", "cab", "Approve", CAB, request_id="same")
    assert (first.status, first.physical_resource_id) == (again.status, again.physical_resource_id) == ("SUCCESS", ARN)
    assert again.calls == ()
    stacks.declared[("cab", "Approve")] = CAB
    stacks.delete("cab")
    assert stacks.live["ModelApprovalStatus"] == "Rejected"


def test_no_record_releases_nothing_with_a_warning_and_a_count() -> None:
    stacks = Stacks.on(package({"ticket": "CAB-1"}, approval="Approved"))
    stacks.declared[("cab", "Approve")] = CAB  # made before the record existed
    outcome = stacks.delete("cab")
    assert outcome.status == "SUCCESS" and outcome.calls == () and outcome.unrecorded == 1
    assert stacks.live["CustomerMetadataProperties"] == {"ticket": "CAB-1"}
    assert stacks.sagemaker.describes == 0


def test_a_lease_of_its_own_that_an_earlier_attempt_could_not_give_back_is_not_waited_for() -> None:
    # GIVEN a Create whose call meets a ConflictException, and whose lease cannot be given
    # back then (the table refuses that write once)
    stacks = Stacks.on(package())
    stacks.sagemaker.conflicts = 1
    stacks.records.refuse_once.add("commit")
    started = time.monotonic()
    outcome = stacks.create("cab", CAB)
    # THEN its next plan finds its own lease, settles it, and goes on at once
    assert outcome.status == "SUCCESS", outcome.error
    assert time.monotonic() - started < 5
    assert stacks.live["ModelApprovalStatus"] == "Approved"
    assert stacks.records.records[ARN].lease is None


# --- faults between the steps: a lost confirmation, a retained id, a refused revert ------------


def expire_lease(stacks: Stacks) -> None:
    """Time passes: a lease left behind (its event died, or could not confirm) expires."""
    record = stacks.records.records[ARN]
    if record.lease is not None:
        stacks.records.records[ARN] = replace(record, lease=replace(record.lease, expires=0.0))


def test_a_delete_whose_confirmation_is_lost_is_settled_whole_and_the_last_delete_restores() -> None:
    stacks = Stacks.on(package({"pipeline": "p"}))
    stacks.create("cab", CAB)
    stacks.create("prod", PROD)
    stacks.records.refuse_once.add("commit")  # the cab Delete's confirmation is not written
    outcome = stacks.delete("cab")
    assert outcome.status == "SUCCESS" and any("not confirmed" in w for w in outcome.warnings)
    expire_lease(stacks)
    # the next event settles the whole intent (every call landed): cab manages nothing
    assert stacks.delete("prod").status == "SUCCESS"
    assert stacks.live["ModelApprovalStatus"] == "Rejected"
    assert stacks.live["CustomerMetadataProperties"] == {"pipeline": "p"}
    assert stacks.records.ownership(ARN).entries == {}


def test_a_join_whose_confirmation_is_lost_still_keeps_the_approval_from_being_withdrawn() -> None:
    stacks = Stacks.on(package({"pipeline": "p"}))
    stacks.create("cab", CAB)
    stacks.records.refuse_once.add("commit")  # prod's confirmation is not written
    assert stacks.create("prod", PROD).status == "SUCCESS"
    expire_lease(stacks)
    stacks.delete("cab")
    assert stacks.live["ModelApprovalStatus"] == "Approved"  # prod declares it
    assert stacks.setters_hold() == []


def test_a_release_left_then_a_lost_confirmation_does_not_keep_the_deleted_stack_as_manager() -> None:
    stacks = Stacks.on(package())
    stacks.create("a", {"SourceUri": "s3://bucket/a", "CustomerMetadataProperties": {"k": "v"}})
    stacks.records.refuse_once.add("commit")
    outcome = stacks.delete("a")  # SourceUri "" is refused by the strict registry: left
    assert outcome.status == "SUCCESS" and outcome.left == 1
    expire_lease(stacks)
    assert stacks.create("b", {"CustomerMetadataProperties": {"env": "b"}}).status == "SUCCESS"
    entry = stacks.records.ownership(ARN).entry(("field", "SourceUri"))
    assert entry.managers == () and entry.left is not None  # left, and marked so
    assert stacks.create("c", {"SourceUri": "s3://bucket/c"}).status == "SUCCESS"  # no stack a to conflict with


def test_an_approval_retained_and_joined_by_another_stack_is_never_withdrawn() -> None:
    # GIVEN cab approved it, prod joined; cab's resource was retained, then declared again
    stacks = Stacks.on(package())
    stacks.create("cab", {"ModelApprovalStatus": "Approved"})
    stacks.create("prod", {"ModelApprovalStatus": "Approved"})
    stacks.declared.pop(("cab", "Approve"))  # DeletionPolicy: Retain: no Delete is sent
    assert stacks.create("cab", {"CustomerMetadataProperties": {"k": "v"}}).status == "SUCCESS"
    # WHEN every stack is deleted, THEN the retained approval stays: prod only joined it
    stacks.delete("cab")
    stacks.delete("prod")
    assert stacks.live["ModelApprovalStatus"] == "Approved"


def failed_create_delete(stacks: Stacks, stack: str, outcome: Outcome, properties: dict[str, Any]) -> Outcome:
    """CloudFormation's Delete of a Create that answered FAILED: its id, its properties."""
    event: dict[str, Any] = {
        "RequestType": "Delete", "RequestId": f"delete-{outcome.physical_resource_id}",
        "StackId": f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack}/1", "LogicalResourceId": "Approve",
        "ResponseURL": URL, "PhysicalResourceId": outcome.physical_resource_id,
        "ResourceProperties": {"ServiceToken": "token", "ModelPackageArn": ARN, **properties},
    }
    return run(parse_request(event, URL), Deadline.within(30), stacks.sagemaker.services(stacks.records))


def test_a_retained_resource_declared_again_whose_create_fails_after_its_lease_still_forgets_the_old() -> None:
    # GIVEN cab approved the package, then was retained (no Delete)
    stacks = Stacks.on(package())
    stacks.create("cab", {"ModelApprovalStatus": "Approved"})
    stacks.declared.pop(("cab", "Approve"))
    # WHEN the id is declared again and SageMaker refuses the new Create's one call
    declared = {"ModelApprovalStatus": "Approved", "CustomerMetadataProperties": {"ticket": "CAB-2"}}
    stacks.sagemaker.refuse.append(lambda request: "CustomerMetadataProperties" in request)
    failed = stacks.create("cab", declared)
    assert failed.status == "FAILED" and failed.physical_resource_id.startswith("failed-create/")
    stacks.sagemaker.refuse.clear()
    # THEN the Delete of its failed-create id releases nothing: the retained approval stays
    assert failed_create_delete(stacks, "cab", failed, declared).status == "SUCCESS"
    assert stacks.live["ModelApprovalStatus"] == "Approved"
    assert stacks.records.ownership(ARN).managed_by(resource_key(
        "arn:aws:cloudformation:eu-west-1:123456789012:stack/cab/1", "Approve")) == {}


def test_the_delete_of_a_failed_create_settles_another_events_intent_before_forgetting() -> None:
    # GIVEN cab set a key and was retained; prod approved, but its confirmation was lost
    stacks = Stacks.on(package({"pipeline": "p"}))
    stacks.create("cab", {"CustomerMetadataProperties": {"ticket": "CAB-1"}})
    stacks.declared.pop(("cab", "Approve"))
    stacks.records.refuse_once.add("commit")
    assert stacks.create("prod", PROD).status == "SUCCESS"
    expire_lease(stacks)
    # WHEN cab's id is declared again, that Create fails before any write (a conflict on
    # ticket), and CloudFormation deletes its failed-create id
    declared = {"CustomerMetadataProperties": {"ticket": "CAB-2"}}
    failed = stacks.create("cab", declared)
    assert failed.status == "FAILED"
    assert failed_create_delete(stacks, "cab", failed, declared).status == "SUCCESS"
    # THEN prod's intent was settled, not dropped: its Delete gives back what it changed
    assert stacks.delete("prod").status == "SUCCESS"
    assert stacks.live["ModelApprovalStatus"] == "Rejected"
    assert stacks.live["CustomerMetadataProperties"] == {"pipeline": "p", "ticket": "CAB-1"}


@pytest.mark.parametrize("declared_again", ["before the takeover", "after the takeover"])
def test_a_value_a_retained_resource_set_first_is_what_the_later_manager_gives_back(declared_again: str) -> None:
    # GIVEN cab set ticket (absent before), prod took it over, cab was retained and declared again
    stacks = Stacks.on(package())
    stacks.create("cab", {"CustomerMetadataProperties": {"ticket": "CAB-1"}})
    stacks.declared.pop(("cab", "Approve"))
    takeover = {"OverwriteExistingMetadata": True, "CustomerMetadataProperties": {"ticket": "PROD-1"}}
    if declared_again == "before the takeover":
        assert stacks.create("cab", {"ModelApprovalStatus": "Approved"}).status == "SUCCESS"
        assert stacks.create("prod", takeover).status == "SUCCESS"
    else:
        assert stacks.create("prod", takeover).status == "SUCCESS"
        assert stacks.create("cab", {"ModelApprovalStatus": "Approved"}).status == "SUCCESS"
    # WHEN prod leaves, THEN the retained value comes back, in either order
    assert stacks.delete("prod").status == "SUCCESS"
    assert stacks.live["CustomerMetadataProperties"] == {"ticket": "CAB-1"}


def test_pending_declared_again_is_refused_in_an_update_and_given_back_in_a_rollback() -> None:
    # GIVEN a resource that declared Pending on a Pending package, then approved it
    stacks = Stacks.on(package())
    stacks.create("cab", {"ModelApprovalStatus": PENDING})
    assert stacks.update("cab", {"ModelApprovalStatus": "Approved"}).status == "SUCCESS"
    # WHEN CloudFormation rolls that Update back (old and new swapped), THEN it succeeds:
    # the approval is given back as close as SageMaker allows
    rollback = stacks.event("Update", "cab", "Approve", {"ModelApprovalStatus": PENDING},
                            {"ModelApprovalStatus": "Approved"})
    assert rollback.status == "SUCCESS" and any("no way back" in w for w in rollback.warnings)
    assert stacks.live["ModelApprovalStatus"] == "Rejected"
    # GIVEN another resource that approved the package on its Create
    stacks = Stacks.on(package())
    stacks.create("prod", {"ModelApprovalStatus": "Approved"})
    sent = len(stacks.sagemaker.requests)
    # WHEN an ordinary Update declares Pending, THEN it is refused before any call
    outcome = stacks.update("prod", {"ModelApprovalStatus": PENDING})
    assert outcome.status == "FAILED" and "no way back to PendingManualApproval" in str(outcome.error)
    assert len(stacks.sagemaker.requests) == sent and stacks.live["ModelApprovalStatus"] == "Approved"
    # AND CloudFormation's rollback of that failed Update (swapped back) succeeds, changing nothing
    rollback = stacks.event("Update", "prod", "Approve", {"ModelApprovalStatus": "Approved"},
                            {"ModelApprovalStatus": PENDING})
    assert rollback.status == "SUCCESS" and stacks.live["ModelApprovalStatus"] == "Approved"


@pytest.mark.parametrize("delete_signed", ["000003", "000002"])  # a second later, or in the same second
def test_a_failed_create_delivered_again_after_its_delete_answers_failed_and_changes_nothing(
        delete_signed: str) -> None:
    # GIVEN prod's Create failed on a conflict with cab, and CloudFormation deleted its failed-create id
    stacks = Stacks.on(package())
    stacks.event("Create", "cab", "Approve", {"CustomerMetadataProperties": {"ticket": "CAB-1"}}, signed="000001")
    prod = {"CustomerMetadataProperties": {"ticket": "PROD-1"}}
    failed = stacks.event("Create", "prod", "Approve", prod, request_id="prod-create", signed="000002")
    assert failed.status == "FAILED" and str(failed.error).startswith("Metadata conflict")
    event = {"RequestType": "Delete", "RequestId": "prod-delete", "LogicalResourceId": "Approve",
             "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/prod/1",
             "PhysicalResourceId": failed.physical_resource_id,
             "ResourceProperties": {"ServiceToken": "token", "ModelPackageArn": ARN, **prod}}
    url = URL.replace("T000000Z", f"T{delete_signed}Z")
    assert run(parse_request({**event, "ResponseURL": url}, url), Deadline.within(30),
               stacks.sagemaker.services(stacks.records)).status == "SUCCESS"
    # AND cab left, so that no conflict remains
    stacks.declared[("cab", "Approve")] = {"CustomerMetadataProperties": {"ticket": "CAB-1"}}
    assert stacks.event("Delete", "cab", "Approve", stacks.declared.pop(("cab", "Approve")),
                        signed="000004").status == "SUCCESS"
    sent = len(stacks.sagemaker.requests)
    # WHEN Lambda delivers prod's Create again (same RequestId, signed as the first)
    again = stacks.event("Create", "prod", "Approve", prod, request_id="prod-create", signed="000002")
    # THEN it answers FAILED as the first did, and changes nothing: CloudFormation is done with it
    assert again.status == "FAILED" and str(again.error).startswith("Superseded")
    assert len(stacks.sagemaker.requests) == sent
    assert "ticket" not in stacks.live["CustomerMetadataProperties"]


def test_the_rollback_of_a_replacement_onto_a_package_approved_by_hand_is_not_refused() -> None:
    # GIVEN a resource declaring Pending on churn/1 (approved by hand since), replaced onto churn/2
    other = ARN.replace("/2", "/1")
    stacks = Stacks(MemorySageMaker({ARN: package(), other: {**package(), "ModelPackageArn": other}}))
    on_1 = {"ModelPackageArn": other, "ModelApprovalStatus": PENDING}
    on_2 = {"ModelPackageArn": ARN, "ModelApprovalStatus": PENDING}
    assert stacks.event("Create", "prod", "Approve", on_1, signed="000001").status == "SUCCESS"
    stacks.sagemaker.packages[other]["ModelApprovalStatus"] = "Approved"
    replaced = stacks.event("Update", "prod", "Approve", on_2, on_1, signed="000002", physical=other)
    assert replaced.status == "SUCCESS" and replaced.physical_resource_id == ARN
    # WHEN another resource fails and CloudFormation rolls it back (old and new swapped)
    rollback = stacks.event("Update", "prod", "Approve", on_1, on_2, signed="000003")
    # THEN it succeeds: the resource declared Pending on churn/1 before; the approval is left
    assert rollback.status == "SUCCESS", rollback.error
    assert stacks.sagemaker.packages[other]["ModelApprovalStatus"] == "Approved"
    assert any("no way back" in w for w in rollback.warnings)


def test_an_update_delivered_again_after_a_later_one_is_not_carried_out() -> None:
    # GIVEN two Updates of one resource, one after the other
    stacks = Stacks.on(package())
    v1, v2, v3 = ({"CustomerMetadataProperties": {"env": value}} for value in ("one", "two", "three"))
    stacks.event("Create", "prod", "Approve", v1, signed="000001")
    assert stacks.event("Update", "prod", "Approve", v2, v1, request_id="update-2", signed="000002").status == "SUCCESS"
    assert stacks.event("Update", "prod", "Approve", v3, v2, signed="000003").status == "SUCCESS"
    sent = len(stacks.sagemaker.requests)
    # WHEN Lambda delivers the first Update again, late
    again = stacks.event("Update", "prod", "Approve", v2, v1, request_id="update-2", signed="000002")
    # THEN it is not carried out: the package keeps what the later Update declared
    assert again.status == "FAILED" and str(again.error).startswith("Superseded")
    assert len(stacks.sagemaker.requests) == sent and stacks.live["CustomerMetadataProperties"] == {"env": "three"}
    # AND the later Update, delivered again, still answers as it did
    assert stacks.event("Update", "prod", "Approve", v3, v2, request_id="request-3", signed="000003").status == "SUCCESS"


def test_a_refused_call_mixing_a_declared_approval_and_a_release_sends_the_release_first() -> None:
    stacks = Stacks.on(package())
    stacks.create("a", {"SourceUri": "s3://bucket/a"})
    stacks.sagemaker.requests.clear()
    # the release of SourceUri ("") and the approval in one call, refused; split: the release first
    outcome = stacks.update("a", {"ModelApprovalStatus": "Approved"})
    assert outcome.status == "SUCCESS" and outcome.left == 1
    sent = [{k for k in r if k != "ModelPackageArn"} for r in stacks.sagemaker.requests]
    assert sent == [{"SourceUri", "ModelApprovalStatus"}, {"SourceUri"}, {"ModelApprovalStatus"}]


def test_a_key_renamed_at_the_limit_of_50_goes_in_one_call() -> None:
    stacks = Stacks.on(package({f"k{i}": "v" for i in range(49)}))
    stacks.create("a", {"CustomerMetadataProperties": {"old": "1"}})
    outcome = stacks.update("a", {"CustomerMetadataProperties": {"new": "1"}})
    assert outcome.status == "SUCCESS", outcome.error
    assert "new" in stacks.live["CustomerMetadataProperties"] and "old" not in stacks.live["CustomerMetadataProperties"]


def test_a_card_left_half_changed_by_a_failed_revert_is_given_back_by_the_delete() -> None:
    live = package()
    live["ModelCard"] = {"ModelCardStatus": "Draft", "ModelCardContent": '{"old": 1}'}
    stacks = Stacks.on(live)
    card = {"ModelCardStatus": "PendingReview", "ModelCardContent": '{"new": 1}'}
    stacks.sagemaker.refuse.append(lambda r: r.get("ModelCard", {}).get("ModelCardStatus") == "PendingReview")
    stacks.sagemaker.refuse.append(lambda r: r.get("ModelCard", {}).get("ModelCardContent") == '{"old": 1}')
    outcome = stacks.event("Create", "cab", "Approve", {"ModelCard": card, "CustomerMetadataProperties": {"k": "v"}})
    # the revert is narrowed: only the card's content is left changed
    assert outcome.status == "FAILED" and str(outcome.error).startswith(
        "Failed and not fully reverted at ModelCard: left changed: ModelCard;"), outcome.error
    assert stacks.live["CustomerMetadataProperties"] == {}
    stacks.sagemaker.refuse.clear()
    stacks.declared[("cab", "Approve")] = {"ModelCard": card}
    assert stacks.delete("cab").status == "SUCCESS"
    assert stacks.live["ModelCard"] == {"ModelCardStatus": "Draft", "ModelCardContent": '{"old": 1}'}


def test_a_plan_made_again_counts_its_releases_and_warnings_once() -> None:
    stacks = Stacks.on(package())
    stacks.create("cab", {"ModelApprovalStatus": "Approved", "CustomerMetadataProperties": {"ticket": "1", "k": "v"}})
    stacks.sagemaker.packages[ARN]["CustomerMetadataProperties"]["ticket"] = "edited"
    stacks.sagemaker.conflicts = 1
    outcome = stacks.delete("cab")
    assert outcome.status == "SUCCESS" and outcome.releases == 2
    assert len([w for w in outcome.warnings if "ticket was changed" in w]) == 1


def test_a_record_of_the_earlier_format_gives_back_its_own_prior() -> None:
    from model_package_resource.ownership import resource_key
    from model_package_resource.record import Legacy

    a = resource_key("arn:aws:cloudformation:eu-west-1:123456789012:stack/a/1", "Approve")
    stacks = Stacks.on(package({"pipeline": "p", "ticket": "CAB-1"}, approval="Approved"))
    stacks.records.legacy[(a, ARN)] = Legacy(a, 1, {"ModelApprovalStatus": PENDING}, {"ticket": None})
    stacks.declared[("a", "Approve")] = {"ModelApprovalStatus": "Approved",
                                         "CustomerMetadataProperties": {"ticket": "CAB-1"}}
    stacks.create("b", {"ModelApprovalStatus": "Approved", "CustomerMetadataProperties": {"env": "b"}})
    stacks.delete("a")  # folded: a manages what its old record shows, and gives it back
    stacks.delete("b")
    assert stacks.live["ModelApprovalStatus"] == "Rejected"
    assert stacks.live["CustomerMetadataProperties"] == {"pipeline": "p"}
    assert stacks.records.legacy == {}


# --- properties: any stacks, any order ------------------------------------------------------

KEYS = st.sampled_from(["ticket", "owner", "env"])
VALUES = st.sampled_from(["a", "b"])
DECLARATIONS = st.fixed_dictionaries({}, optional={
    "ModelApprovalStatus": st.sampled_from(["Approved", "Rejected"]),
    "CustomerMetadataProperties": st.dictionaries(KEYS, VALUES, max_size=2),
    "OverwriteExistingMetadata": st.sampled_from(["true", "false"]),
})
STACKS = ["s1", "s2", "s3"]


@settings(max_examples=150, deadline=None)
@given(
    live_metadata=st.dictionaries(st.sampled_from(["owner", "pipeline"]), VALUES, max_size=2),
    approval=st.sampled_from([PENDING, "Approved"]),
    steps=st.lists(st.tuples(st.sampled_from(["create", "update", "delete"]), st.sampled_from(STACKS), DECLARATIONS),
                   max_size=12),
    order=st.permutations(STACKS),
)
def test_any_stacks_in_any_order_leave_the_package_as_before(
    live_metadata: dict[str, str], approval: str, steps: list[tuple[str, str, dict[str, Any]]], order: list[str]
) -> None:
    before = package(live_metadata, approval)
    stacks = Stacks.on(before)
    for operation, stack, declaration in steps:
        exists = (stack, "Approve") in stacks.declared
        if operation == "create" and not exists:
            stacks.create(stack, declaration)
        elif operation == "update" and exists:
            outcome = stacks.update(stack, declaration)
            if outcome.status == "FAILED":  # CloudFormation rolls it back: old and new swapped
                rollback = stacks.event("Update", stack, "Approve", stacks.declared[(stack, "Approve")], declaration)
                assert rollback.status == "SUCCESS", rollback.error
        elif operation == "delete" and exists:
            assert stacks.delete(stack).status == "SUCCESS"
        assert stacks.setters_hold() == []
    for stack in order:
        if (stack, "Approve") in stacks.declared:
            assert stacks.delete(stack).status == "SUCCESS"
    after = stacks.live
    assert after["CustomerMetadataProperties"] == before["CustomerMetadataProperties"]
    assert approval_as_before(approval, after["ModelApprovalStatus"]), (approval, after["ModelApprovalStatus"])
    assert stacks.records.ownership(ARN).entries == {}
    assert all(a.status == "SUCCESS" or a.calls == () or a.reverts for a in stacks.answers)
    assert resource_key  # the record's keys are StackId|LogicalResourceId
