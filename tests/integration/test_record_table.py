"""The record table through DynamoDB's own API (the registry's table, made from
template.yaml's declaration): what a package's record holds, a record of a newer
format refused, a conditional write that loses a race (and wins on the next plan),
a write whose answer was lost, a lease held by another event, an intent never
confirmed, and a record of the earlier format folded in on first touch."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devkit.registry import Fault, LocalRegistry
from devkit.runner import STACK_ID, Lifecycle
from model_package_resource.ownership import Entry, Manager, Ownership, ResourceInfo, resource_key
from model_package_resource.record import Lease, Record, dumps, encode_lease, encode_ownership
from model_package_resource.table import PACKAGE_RECORD, RecordTable
from model_package_resource.timing import Deadline

ME = resource_key(STACK_ID, "ApproveModel")
APPROVAL = ("field", "ModelApprovalStatus")


def items(registry: LocalRegistry) -> list[dict[str, Any]]:
    client = registry.client(account="123456789012", service="dynamodb")
    return list(client.scan(TableName=registry.table_name, ConsistentRead=True)["Items"])


def put(registry: LocalRegistry, item: dict[str, Any]) -> None:
    registry.client(account="123456789012", service="dynamodb").put_item(TableName=registry.table_name, Item=item)


@pytest.fixture
def table(registry: LocalRegistry, monkeypatch: pytest.MonkeyPatch) -> RecordTable:
    from model_package_resource.clients import clear

    for name, value in registry.environment().items():
        monkeypatch.setenv(name, value)
    clear()
    return RecordTable(Deadline.within(30))


def test_a_create_leaves_the_packages_record_confirmed(lifecycle: Lifecycle, registry: LocalRegistry,
                                                       labels: dict[str, str]) -> None:
    played = lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                               "CustomerMetadataProperties": {"ticket": "CAB-1"}})
    # One read, the lease with its intent before the call, the confirmation after it.
    assert (played.calls.get("BatchGetItem"), played.calls.get("PutItem")) == (1, 2)
    [item] = items(registry)
    assert (item["ResourceKey"]["S"], item["ModelPackageArn"]["S"]) == (PACKAGE_RECORD, labels["churn/2"])
    assert (item["Version"]["N"], item["Format"]["N"]) == ("2", "2")
    assert "Lease" not in item and "ExpiresAt" not in item
    ownership = json.loads(item["Ownership"]["S"])
    assert ownership["entries"] == {
        "field:ModelApprovalStatus": {"managers": [[ME, "Approved", True]], "prior": "PendingManualApproval"},
        "metadata:ticket": {"managers": [[ME, "CAB-1", True]], "prior": None},
    }
    assert ownership["resources"][ME]["last"]["status"] == "SUCCESS"


def test_an_update_that_changes_nothing_reads_once_and_writes_nothing(lifecycle: Lifecycle) -> None:
    props = {"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved"}
    lifecycle.create(props)
    played = lifecycle.update({**props, "ServiceTimeout": "600"})
    assert played.calls.get("BatchGetItem") == 1 and "PutItem" not in played.calls


def test_a_record_of_a_newer_format_is_refused_before_any_change(lifecycle: Lifecycle, registry: LocalRegistry,
                                                                 labels: dict[str, str]) -> None:
    put(registry, {"ResourceKey": {"S": PACKAGE_RECORD}, "ModelPackageArn": {"S": labels["churn/2"]},
                   "Version": {"N": "7"}, "Format": {"N": "3"}, "Ownership": {"S": "{}"}})
    played = lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved"}, expect="FAILED")
    assert played.response["Reason"].startswith(  # type: ignore[index]
        "Prior-state table error at PRIOR_STATE_TABLE: the record in model-package-resource-PriorStateTable "
        "was written by a newer version of the function (format 3)")
    assert "UpdateModelPackage" not in played.calls and "DescribeModelPackage" not in played.calls
    assert lifecycle.describe(labels["churn/2"])["ModelApprovalStatus"] == "PendingManualApproval"


def test_the_last_delete_leaves_the_record_idle_for_the_tables_ttl(lifecycle: Lifecycle,
                                                                   registry: LocalRegistry) -> None:
    lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved"})
    lifecycle.delete()
    [item] = items(registry)
    assert json.loads(item["Ownership"]["S"])["entries"] == {}
    assert int(item["ExpiresAt"]["N"]) > time.time()


def test_a_write_that_lost_a_race_carries_what_the_table_holds_and_the_next_plan_wins(table: RecordTable) -> None:
    from model_package_resource.errors import RecordChanged

    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/2"
    read = table.read(arn)
    assert read.version == 0
    # another event writes first
    theirs = Ownership({APPROVAL: Entry((Manager("other|Approve", "Approved"),))})
    table.write(read, theirs, None, "their-invocation")
    with pytest.raises(RecordChanged, match="the record changed meanwhile") as lost:
        table.write(read, Ownership(), None, "my-invocation")
    current = lost.value.current
    assert isinstance(current, Record) and current.version == 1 and current.ownership == theirs
    # planned again from a fresh read: wins
    again = table.read(arn)
    written = table.write(again, theirs, None, "my-invocation")
    assert written.version == 2


def test_a_write_whose_answer_was_lost_is_found_landed(table: RecordTable, registry: LocalRegistry) -> None:
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/2"
    registry.inject(Fault("lost", "PutItem", 1))
    # The PutItem lands, its answer is lost; the retry's condition fails on our own write.
    written = table.write(table.read(arn), Ownership(), None, "my-invocation")
    assert written.version == 1 and table.read(arn).writer == "my-invocation"


def test_an_event_waits_while_another_holds_the_lease_then_plans_again(
        lifecycle: Lifecycle, registry: LocalRegistry, labels: dict[str, str], table: RecordTable) -> None:
    arn = labels["churn/2"]
    other = resource_key(STACK_ID, "Other")
    intent = Ownership({APPROVAL: Entry((Manager(other, "Approved"),), prior="PendingManualApproval")},
                       {other: ResourceInfo(created="x")})
    lease = Lease("someone-else", "x", other, time.time() + 2.0, intent, {APPROVAL: "Approved"})
    put(registry, {"ResourceKey": {"S": PACKAGE_RECORD}, "ModelPackageArn": {"S": arn}, "Version": {"N": "1"},
                   "Format": {"N": "2"}, "Writer": {"S": "someone-else"},
                   "Ownership": {"S": dumps(encode_ownership(Ownership()))},
                   "Lease": {"S": encode_lease(lease)}})
    started = time.monotonic()
    played = lifecycle.create({"ModelPackageArn": "churn/2", "CustomerMetadataProperties": {"ticket": "CAB-1"}})
    assert played.status == "SUCCESS" and time.monotonic() - started >= 1.5
    assert played.calls["BatchGetItem"] >= 2  # read, waited, read again
    # The other event's intent never landed (approval still Pending): dropped when settled.
    record = table.read(arn)
    assert APPROVAL not in record.ownership.entries and other not in {
        m.resource for e in record.ownership.entries.values() for m in e.managers}


def test_an_intent_never_confirmed_is_settled_from_the_live_package(
        lifecycle: Lifecycle, registry: LocalRegistry, labels: dict[str, str], table: RecordTable) -> None:
    # GIVEN an event that leased the record, made its call, and died before confirming
    arn = labels["churn/2"]
    other = resource_key(STACK_ID, "Other")
    registry.client_of(arn).update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    intent = Ownership({APPROVAL: Entry((Manager(other, "Approved"),), prior="PendingManualApproval")},
                       {other: ResourceInfo(created="x")})
    lease = Lease("dead", "x", other, time.time() - 1, intent, {APPROVAL: "Approved"})
    put(registry, {"ResourceKey": {"S": PACKAGE_RECORD}, "ModelPackageArn": {"S": arn}, "Version": {"N": "1"},
                   "Format": {"N": "2"}, "Writer": {"S": "dead"},
                   "Ownership": {"S": dumps(encode_ownership(Ownership()))}, "Lease": {"S": encode_lease(lease)}})
    # WHEN the next event on the package comes
    lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved"})
    # THEN what landed is confirmed: the dead event's resource manages the approval it set
    record = table.read(arn)
    assert record.lease is None
    assert [m.resource for m in record.ownership.entries[APPROVAL].managers] == [other, ME]
    assert record.ownership.entries[APPROVAL].prior == "PendingManualApproval"


def test_a_record_of_the_earlier_format_is_folded_in_on_first_touch(
        lifecycle: Lifecycle, registry: LocalRegistry, labels: dict[str, str], table: RecordTable) -> None:
    # GIVEN a resource made by the previous version: its own record holds the priors only
    arn = labels["churn/2"]
    props = {"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
             "CustomerMetadataProperties": {"ticket": "CAB-1"}}
    registry.client_of(arn).update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved",
                                                 CustomerMetadataProperties={"ticket": "CAB-1"})
    put(registry, {"ResourceKey": {"S": ME}, "ModelPackageArn": {"S": arn}, "Version": {"N": "1"},
                   "Format": {"N": "1"}, "Priors": {"S": json.dumps({
                       "fields": {"ModelApprovalStatus": "PendingManualApproval"}, "metadata": {"ticket": None}})}})
    lifecycle.properties, lifecycle.physical_id = lifecycle._resolve(props), arn
    # WHEN its next Update comes, THEN the record is folded into the package's, and the old one goes
    lifecycle.update({**props, "ServiceTimeout": "600"})
    keys = sorted(item["ResourceKey"]["S"] for item in items(registry))
    assert keys == [PACKAGE_RECORD]
    record = table.read(arn)
    assert record.ownership.entries[("metadata", "ticket")].prior is None
    # AND its Delete gives back what the old record shows it changed
    lifecycle.delete()
    live = lifecycle.describe(arn)
    assert "ticket" not in (live.get("CustomerMetadataProperties") or {})
    assert live["ModelApprovalStatus"] == "Rejected"  # no way back to PendingManualApproval


def test_a_packages_record_is_one_whatever_the_case_its_arn_is_written_in(table: RecordTable,
                                                                         registry: LocalRegistry) -> None:
    # GIVEN a template naming the package with its group's capitals (SageMaker's own ARNs,
    # in its EventBridge events too, are in lower case)
    declared = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/ChurnModel/2"
    ownership = Ownership({APPROVAL: Entry((Manager(ME, "Approved", True),), prior="PendingManualApproval")})
    table.write(Record(declared), ownership, None, "writer-1")
    # THEN the record is found under either spelling, and is the same one
    for spelling in (declared, declared.lower()):
        found = table.read(spelling)
        assert (found.version, found.ownership) == (1, ownership)
    [item] = items(registry)
    assert item["ModelPackageArn"]["S"] == declared.lower()
    # AND a second resource spelling it otherwise writes that record, not one of its own
    table.write(table.read(declared.lower()), Ownership(), None, "writer-2")
    assert table.read(declared).version == 2 and len(items(registry)) == 1
