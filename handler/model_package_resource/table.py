"""The record table (DynamoDB): one record per package, under the key
(ResourceKey "#package", ModelPackageArn in lower case: SageMaker writes its ARNs
in lower case, in its EventBridge events too, while a template may name the package
with the group's capitals), written only conditionally on the version read. Records
of the earlier format (one per resource and package, keyed by
"StackId|LogicalResourceId") are read beside it in the same call and folded in on
first touch. The table's name comes from PRIOR_STATE_TABLE (template.yaml sets it
with !Ref); the client calls the function's own region."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import clients
from .errors import PriorStateError, RecordChanged, TimedOut, aws_error
from .ownership import Ownership
from .record import (
    FORMAT,
    LEGACY_FORMAT,
    Lease,
    Legacy,
    Record,
    decode_lease,
    decode_ownership,
    dumps,
    encode_lease,
    encode_ownership,
)

if TYPE_CHECKING:
    from .timing import Deadline

TABLE_VARIABLE = "PRIOR_STATE_TABLE"
PACKAGE_RECORD = "#package"  # the ResourceKey of a package's record; a resource's holds its StackId
# An idle record (nothing managed, every resource gone) stays this long, then
# DynamoDB's TTL removes it: longer than CloudFormation redelivers a Delete (its
# ServiceTimeout, at most an hour) and Lambda retries an invocation (6 hours).
IDLE_KEPT_SECONDS = 24 * 3600
# BatchGetItem may leave keys unprocessed (throttled): asked again this many times.
UNPROCESSED_ROUNDS = 3


class RecordTable:
    def __init__(
        self,
        deadline: Deadline,
        table: str | None = None,
        region: str | None = None,
        make_client: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table if table is not None else os.environ.get(TABLE_VARIABLE, "")
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.deadline = deadline
        self.make_client = make_client or clients.client
        self.clock = clock

    def read(self, package: str, resource: str | None = None, *, final: bool = False) -> Record:
        """The package's record (version 0 when there is none), with the resource's
        record of the earlier format, if any: one strongly consistent read."""
        keys = [_record_key(package)] + ([_key(resource, package)] if resource else [])
        items: list[Mapping[str, Any]] = []
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(UNPROCESSED_ROUNDS):
            response = self._call("BatchGetItem", "batch_get_item", final=final, RequestItems=request)
            items += response.get("Responses", {}).get(self.table, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise PriorStateError(f"{self.table}: BatchGetItem left keys unprocessed", TABLE_VARIABLE)
        record = Record(package)
        legacy = None
        for item in items:
            if item.get("ResourceKey", {}).get("S") == PACKAGE_RECORD:
                record = self._decode(item, package)
            elif resource is not None:
                legacy = self._legacy(item, resource)
        return Record(record.package, record.version, record.ownership, record.lease, record.writer, legacy)

    def records(self) -> Iterator[Record]:
        """Every package's record, page by page (a Scan): for the drift report, run
        with an operator's credentials. The function itself never scans."""
        params: dict[str, Any] = {
            "FilterExpression": "ResourceKey = :package",
            "ExpressionAttributeValues": {":package": {"S": PACKAGE_RECORD}},
            "ConsistentRead": True,
        }
        while True:
            response = self._call("Scan", "scan", **params)
            for item in response.get("Items", []):
                yield self._decode(item, item.get("ModelPackageArn", {}).get("S", ""))
            if not response.get("LastEvaluatedKey"):
                return
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def write(
        self, record: Record, ownership: Ownership, lease: Lease | None, writer: str, *, final: bool = False
    ) -> Record:
        """Write the package's record, provided it is still `record` (by version;
        absent for version 0). RecordChanged carries what the table holds now. A write
        whose answer was lost is found by its `writer`: a retry that finds it landed
        (its condition then fails on our own write) is a success. `final`: the last
        write of an event (no revert can follow it), which may use the time kept for one."""
        version = record.version + 1
        item: dict[str, Any] = {
            **_record_key(record.package),
            "Format": {"N": str(FORMAT)},
            "Version": {"N": str(version)},
            "Writer": {"S": writer},
            "Ownership": {"S": dumps(encode_ownership(ownership))},
        }
        if lease is not None:
            item["Lease"] = {"S": encode_lease(lease)}
        elif ownership.idle:
            item["ExpiresAt"] = {"N": str(int(self.clock()) + IDLE_KEPT_SECONDS)}
        written = Record(record.package, version, ownership, lease, writer)
        try:
            self._call("PutItem", "put_item", Item=item, ReturnValuesOnConditionCheckFailure="ALL_OLD",
                       final=final, **_expecting(record.version))
        except RecordChanged as changed:
            now = changed.current
            if isinstance(now, Record) and now.writer == writer and now.version == version:
                return written  # our own write, found by a retry of it
            raise
        except PriorStateError as error:
            if not error.maybe_applied:
                raise
            found = self.read(record.package, final=final)  # the answer was lost: did it land?
            if found.writer == writer and found.version == version:
                return written
            raise
        return written

    def remove_legacy(self, legacy: Legacy, package: str) -> None:
        """Delete a folded record of the earlier format, if unchanged since read."""
        self._call("DeleteItem", "delete_item", Key=_key(legacy.resource, package),
                   ConditionExpression="#v = :v", ExpressionAttributeNames={"#v": "Version"},
                   ExpressionAttributeValues={":v": {"N": str(legacy.version)}})

    def _decode(self, item: Mapping[str, Any], package: str) -> Record:
        self._check_format(item)
        if item.get("ModelPackageArn", {}).get("S", "").lower() != package.lower():
            raise PriorStateError(f"the record in {self.table} names another package", TABLE_VARIABLE)
        try:
            lease = decode_lease(item["Lease"]["S"]) if "Lease" in item else None
            return Record(
                package,
                int(item["Version"]["N"]),
                decode_ownership(json.loads(item["Ownership"]["S"])),
                lease,
                item.get("Writer", {}).get("S", ""),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise PriorStateError(f"the record in {self.table} cannot be read: {type(error).__name__}") from None

    def _legacy(self, item: Mapping[str, Any], resource: str) -> Legacy:
        self._check_format(item)
        try:
            data = json.loads(item["Priors"]["S"])
            return Legacy(resource, int(item["Version"]["N"]), dict(data.get("fields", {})),
                          dict(data.get("metadata", {})), released="ExpiresAt" in item)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise PriorStateError(f"the record in {self.table} cannot be read: {type(error).__name__}") from None

    def _check_format(self, item: Mapping[str, Any]) -> None:
        found = int(item.get("Format", {}).get("N", str(LEGACY_FORMAT)))
        if found > FORMAT:
            raise PriorStateError(
                f"the record in {self.table} was written by a newer version of the function "
                f"(format {found}); deploy that version or later",
                TABLE_VARIABLE,
            )

    def _call(self, operation: str, method: str, *, final: bool = False, **params: Any) -> dict[str, Any]:
        if not self.table:
            raise PriorStateError(
                f"no table is configured: set {TABLE_VARIABLE} (template.yaml sets it to the PriorStateTable)",
                TABLE_VARIABLE,
            )
        if "TableName" not in params and operation != "BatchGetItem":
            params["TableName"] = self.table
        try:
            deadline = self.deadline.for_revert() if final else self.deadline
            client = self.make_client("dynamodb", self.region, deadline)
            response: dict[str, Any] = getattr(client, method)(**params, **{clients.DEADLINE: deadline})
        except TimedOut:
            raise
        except Exception as error:
            code, _, status = aws_error(error)
            if code == "ConditionalCheckFailedException":
                old = getattr(error, "response", {}).get("Item")
                package = params.get("Item", {}).get("ModelPackageArn", {}).get("S", "")
                current = self._decode(old, package) if old and package else None
                raise RecordChanged(
                    f"{self.table}: the record changed meanwhile (another event on this package)", current,
                    TABLE_VARIABLE,
                ) from error
            # No answer, or a server error: a write may have landed.
            unknown = status is None or status >= 500
            raise PriorStateError(
                f"{self.table}: {operation} failed: {code}", TABLE_VARIABLE, maybe_applied=unknown
            ) from error
        return response


def _key(resource: str, package: str) -> dict[str, Any]:
    """A record of the earlier format: under the ARN as its resource declared it."""
    return {"ResourceKey": {"S": resource}, "ModelPackageArn": {"S": package}}


def _record_key(package: str) -> dict[str, Any]:
    """A package's record: under its ARN in lower case."""
    return _key(PACKAGE_RECORD, package.lower())


def _expecting(version: int) -> dict[str, Any]:
    """The write's condition: the record is still the version read (none: absent)."""
    if version == 0:
        return {"ConditionExpression": "attribute_not_exists(ResourceKey)"}
    return {
        "ConditionExpression": "#v = :v",
        "ExpressionAttributeNames": {"#v": "Version"},
        "ExpressionAttributeValues": {":v": {"N": str(version)}},
    }
