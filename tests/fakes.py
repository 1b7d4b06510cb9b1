"""Test doubles shared by the tiers, importing no devkit."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from model_package_resource.errors import PriorStateError, RecordChanged
from model_package_resource.ownership import Ownership
from model_package_resource.record import Lease, Legacy, Record


class MemoryRecords:
    """The record table in memory: a record per package, conditional writes on its
    version (RecordChanged carries what is held), records of the earlier format."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.legacy: dict[tuple[str, str], Legacy] = {}
        self.down: set[str] = set()  # operations that fail: "read", "write", "lease", "commit"
        self.lost: set[str] = set()  # writes that land, then fail as if their answer was lost
        self.refuse_once: set[str] = set()  # operations that fail once each
        self.writes: list[Record] = []

    def _check(self, operation: str) -> None:
        if operation in self.refuse_once:
            self.refuse_once.discard(operation)
            raise PriorStateError(f"prior-state: {operation} failed: ServiceUnavailable", "PRIOR_STATE_TABLE")
        if operation in self.down:
            raise PriorStateError(f"prior-state: {operation} failed: ServiceUnavailable", "PRIOR_STATE_TABLE")

    def read(self, package: str, resource: str | None = None) -> Record:
        self._check("read")
        record = self.records.get(package, Record(package))
        legacy = self.legacy.get((resource, package)) if resource is not None else None
        return replace(record, legacy=legacy)

    def write(self, record: Record, ownership: Ownership, lease: Lease | None, writer: str, *,
              final: bool = False) -> Record:
        kind = "lease" if lease is not None else "commit"
        self._check("write")
        self._check(kind)
        held = self.records.get(record.package)
        if (held.version if held else 0) != record.version:
            raise RecordChanged("the record changed meanwhile", held)
        written = Record(record.package, record.version + 1, ownership, lease, writer)
        self.records[record.package] = written
        self.writes.append(written)
        if kind in self.lost:
            self.lost.discard(kind)
            raise PriorStateError("PutItem failed: InternalServerError", "PRIOR_STATE_TABLE", maybe_applied=True)
        return written

    def remove_legacy(self, legacy: Legacy, package: str) -> None:
        self._check("remove")
        self.legacy.pop((legacy.resource, package), None)

    def ownership(self, package: str) -> Ownership:
        record = self.records.get(package)
        return record.ownership if record else Ownership()


class MemorySageMaker:
    """SageMaker's model packages in memory, as strict as the local registry: each
    UpdateModelPackage goes through rules.apply(strict=True); a refusal is
    SageMaker's ValidationException (Refused). `refuse` lists request predicates
    answered with a refusal (a rule SageMaker may hold that we do not know)."""

    def __init__(self, packages: dict[str, dict[str, Any]] | None = None) -> None:
        self.packages: dict[str, dict[str, Any]] = packages or {}
        self.requests: list[dict[str, Any]] = []
        self.describes = 0
        self.refuse: list[Callable[[Mapping[str, Any]], bool]] = []
        self.conflicts = 0  # the next UpdateModelPackage calls answered with a ConflictException

    def gateway(self, package: Any, role: Any, deadline: Any, request: Any) -> MemoryGateway:
        return MemoryGateway(self, package.arn)

    def services(self, records: MemoryRecords) -> Any:
        from model_package_resource.invocation import Services

        return Services(sagemaker=self.gateway, records=lambda deadline: records)


class MemoryGateway:
    def __init__(self, sagemaker: MemorySageMaker, arn: str) -> None:
        self.sagemaker, self.arn = sagemaker, arn

    def describe(self, *, reverting: bool = False) -> dict[str, Any] | None:
        self.sagemaker.describes += 1
        live = self.sagemaker.packages.get(self.arn)
        return copy.deepcopy(live) if live is not None else None

    def describe_ready(self) -> dict[str, Any]:
        from model_package_resource.errors import PackageNotFound

        live = self.describe()
        if live is None:
            raise PackageNotFound(f"{self.arn} does not exist", "ModelPackageArn")
        return live

    def update(self, request: Mapping[str, Any], *, reverting: bool = False) -> None:
        from model_package_resource import rules
        from model_package_resource.errors import ConcurrentUpdate, Refused

        self.sagemaker.requests.append(dict(request))
        path = ", ".join(k for k in request if k != "ModelPackageArn")
        if self.sagemaker.conflicts > 0 and not reverting:
            self.sagemaker.conflicts -= 1
            raise ConcurrentUpdate("UpdateModelPackage failed: ConflictException: another update", path)
        if any(refuses(request) for refuses in self.sagemaker.refuse):
            raise Refused("UpdateModelPackage refused: ValidationException: refused by the test", path)
        try:
            self.sagemaker.packages[self.arn] = rules.apply(self.sagemaker.packages[self.arn], request, strict=True)
        except rules.Refusal as refusal:
            raise Refused(f"UpdateModelPackage refused: ValidationException: {refusal}", path) from None
