"""The prior-state table through DynamoDB's own API (the registry's table, made from
template.yaml's declaration): what a record holds, a record of a newer format refused,
a write that lost a race refused, and the released record a Delete leaves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devkit.registry import LocalRegistry
from devkit.runner import STACK_ID, Lifecycle


def items(registry: LocalRegistry) -> list[dict[str, Any]]:
    client = registry.client(account="123456789012", service="dynamodb")
    return list(client.scan(TableName=registry.table_name, ConsistentRead=True)["Items"])


def put(registry: LocalRegistry, item: dict[str, Any]) -> None:
    registry.client(account="123456789012", service="dynamodb").put_item(TableName=registry.table_name, Item=item)


def test_a_create_records_the_priors_of_what_it_changes(lifecycle: Lifecycle, registry: LocalRegistry,
                                                        labels: dict[str, str]) -> None:
    lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                      "CustomerMetadataProperties": {"ticket": "CAB-1"}})
    [item] = items(registry)
    assert item["ResourceKey"]["S"] == f"{STACK_ID}|{lifecycle.logical_id}"
    assert item["ModelPackageArn"]["S"] == labels["churn/2"]
    assert (item["Version"]["N"], item["Format"]["N"]) == ("1", "1")
    assert json.loads(item["Priors"]["S"]) == {"fields": {"ModelApprovalStatus": "PendingManualApproval"},
                                               "metadata": {"ticket": None}}


def test_a_record_of_a_newer_format_is_refused_before_any_change(lifecycle: Lifecycle, registry: LocalRegistry,
                                                                 labels: dict[str, str]) -> None:
    put(registry, {"ResourceKey": {"S": f"{STACK_ID}|{lifecycle.logical_id}"},
                   "ModelPackageArn": {"S": labels["churn/2"]}, "Version": {"N": "7"}, "Format": {"N": "2"},
                   "Priors": {"S": "{}"}})
    played = lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved"}, expect="FAILED")
    assert played.response["Reason"].startswith(  # type: ignore[index]
        "Prior-state table error at PRIOR_STATE_TABLE: the record in model-package-resource-PriorStateTable "
        "was written by a newer version of the function (format 2)")
    assert "UpdateModelPackage" not in played.calls
    assert lifecycle.describe(labels["churn/2"])["ModelApprovalStatus"] == "PendingManualApproval"


def test_a_delete_leaves_its_record_released_for_the_tables_ttl(lifecycle: Lifecycle,
                                                                registry: LocalRegistry) -> None:
    lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved"})
    lifecycle.delete()
    [item] = items(registry)
    assert json.loads(item["Priors"]["S"]) == {"fields": {}, "metadata": {}}
    assert int(item["ExpiresAt"]["N"]) > 0 and item["Version"]["N"] == "2"


def test_a_write_that_lost_a_race_is_refused_naming_the_table(registry: LocalRegistry,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from model_package_resource.clients import clear
    from model_package_resource.errors import PriorStateError
    from model_package_resource.prior_state import PriorStateTable, RecordKey
    from model_package_resource.priors import Priors
    from model_package_resource.timing import Budget

    for name, value in registry.environment().items():
        monkeypatch.setenv(name, value)
    clear()
    table = PriorStateTable(Budget.within(30))
    key = RecordKey.of(STACK_ID, "Race", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/2")
    first = table.save(key, Priors(metadata={"ticket": None}), None)
    table.save(key, Priors(), first)  # another event wrote meanwhile
    with pytest.raises(PriorStateError, match="the record changed meanwhile"):
        table.save(key, Priors(fields={"ModelApprovalStatus": "Rejected"}), first)
    with pytest.raises(PriorStateError, match="the record changed meanwhile"):
        table.save(key, Priors(), None)  # a Create that found no record, too late
    clear()
