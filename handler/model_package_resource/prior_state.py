"""The prior-state table (DynamoDB): one record per resource (StackId and
LogicalResourceId) and package, holding `Priors`. Versioned: every write is
conditional on the version read, so two events never overwrite each other's
record unseen. The table's name comes from PRIOR_STATE_TABLE (template.yaml sets
it with !Ref); the client calls the function's own region."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import clients
from .errors import PriorStateError, TimedOut
from .priors import Priors

if TYPE_CHECKING:
    from .timing import Budget

TABLE_VARIABLE = "PRIOR_STATE_TABLE"
# The record's format: a record of a newer format is refused, never misread.
FORMAT = 1
# How long a released record stays: longer than CloudFormation can redeliver a Delete
# (its ServiceTimeout, at most an hour) and Lambda retry an invocation (6 hours).
RELEASED_KEPT_SECONDS = 24 * 3600


@dataclass(frozen=True)
class RecordKey:
    resource: str  # "StackId|LogicalResourceId"
    package_arn: str

    @classmethod
    def of(cls, stack_id: str, logical_id: str, package_arn: str) -> RecordKey:
        return cls(f"{stack_id}|{logical_id}", package_arn)

    def item_key(self) -> dict[str, Any]:
        return {"ResourceKey": {"S": self.resource}, "ModelPackageArn": {"S": self.package_arn}}


@dataclass(frozen=True)
class Record:
    priors: Priors
    version: int
    # Released by a Delete: kept (until DynamoDB's TTL removes it) so that a
    # redelivered Delete knows there is nothing left to give back.
    released: bool = False


class PriorStateTable:
    def __init__(
        self,
        budget: Budget,
        table: str | None = None,
        region: str | None = None,
        make_client: Callable[..., Any] | None = None,
    ) -> None:
        self.table = table if table is not None else os.environ.get(TABLE_VARIABLE, "")
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.budget = budget
        self.make_client = make_client or clients.client

    def load(self, key: RecordKey) -> Record | None:
        item = self._call("GetItem", "get_item", Key=key.item_key(), ConsistentRead=True).get("Item")
        if not item:
            return None
        version = int(item.get("Format", {}).get("N", "0"))
        if version > FORMAT:
            raise PriorStateError(
                f"the record in {self.table} was written by a newer version of the function "
                f"(format {version}); deploy that version or later",
                "PRIOR_STATE_TABLE",
            )
        try:
            data = json.loads(item["Priors"]["S"])
            priors = Priors(fields=dict(data.get("fields", {})), metadata=dict(data.get("metadata", {})))
            return Record(priors, int(item["Version"]["N"]), released="ExpiresAt" in item)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise PriorStateError(f"the record in {self.table} cannot be read: {type(error).__name__}") from None

    def save(self, key: RecordKey, priors: Priors, previous: Record | None) -> Record:
        """Write `priors`, provided the record is still `previous` (None: absent)."""
        version = (previous.version if previous else 0) + 1
        item = {
            **key.item_key(),
            "Version": {"N": str(version)},
            "Format": {"N": str(FORMAT)},
            "Priors": {"S": json.dumps({"fields": priors.fields, "metadata": priors.metadata}, sort_keys=True)},
        }
        self._call("PutItem", "put_item", Item=item, **_expecting(previous))
        return Record(priors, version)

    def remove(self, key: RecordKey, previous: Record) -> None:
        self._call("DeleteItem", "delete_item", Key=key.item_key(), **_expecting(previous))

    def release(self, key: RecordKey, previous: Record) -> None:
        """After a Delete's release: the record emptied and marked released, with the
        time DynamoDB's TTL removes it (template.yaml: TimeToLiveSpecification)."""
        item = {
            **key.item_key(),
            "Version": {"N": str(previous.version + 1)},
            "Format": {"N": str(FORMAT)},
            "Priors": {"S": json.dumps({"fields": {}, "metadata": {}})},
            "ExpiresAt": {"N": str(int(time.time()) + RELEASED_KEPT_SECONDS)},
        }
        self._call("PutItem", "put_item", Item=item, **_expecting(previous))

    def _call(self, operation: str, method: str, **params: Any) -> dict[str, Any]:
        if not self.table:
            raise PriorStateError(
                f"no table is configured: set {TABLE_VARIABLE} (template.yaml sets it to the PriorStateTable)",
                TABLE_VARIABLE,
            )
        try:
            client = self.make_client("dynamodb", self.region, self.budget)
            call = getattr(client, method)
            response: dict[str, Any] = call(TableName=self.table, **params, **{clients.BUDGET: self.budget})
        except Exception as error:
            if isinstance(error, TimedOut):
                raise
            # A transport error (ConnectionClosedError, a read timeout) has no response.
            code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code") or type(error).__name__
            if code == "ConditionalCheckFailedException":
                detail = "the record changed meanwhile (another event for this resource?); retry"
            else:
                detail = f"{operation} failed: {code}"
            raise PriorStateError(f"{self.table}: {detail}", TABLE_VARIABLE) from error
        return response


def _expecting(previous: Record | None) -> dict[str, Any]:
    if previous is None:
        return {"ConditionExpression": "attribute_not_exists(ResourceKey)"}
    return {
        "ConditionExpression": "#v = :v",
        "ExpressionAttributeNames": {"#v": "Version"},
        "ExpressionAttributeValues": {":v": {"N": str(previous.version)}},
    }


def restore(table: Any, key: RecordKey, written: Record, previous: Record | None) -> None:
    """Undo a `save` that wrote `written` on any prior-state table (this one or a
    test's): the previous record back, released if it was, or none."""
    if previous is None:
        table.remove(key, written)
    elif previous.released:
        table.release(key, written)
    else:
        table.save(key, previous.priors, written)
