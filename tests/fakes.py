"""Test doubles shared by the tiers, importing no devkit."""

from __future__ import annotations

from model_package_resource.errors import PriorStateError
from model_package_resource.prior_state import Record, RecordKey
from model_package_resource.priors import Priors


class MemoryPriorState:
    """The prior-state table in memory: versioned records, conditional writes."""

    def __init__(self) -> None:
        self.records: dict[RecordKey, Record] = {}
        self.down: set[str] = set()  # operations that fail: "load", "save", "remove"

    def _check(self, operation: str) -> None:
        if operation in self.down:
            raise PriorStateError(f"prior-state: {operation} failed: ServiceUnavailable", "PRIOR_STATE_TABLE")

    def load(self, key: RecordKey) -> Record | None:
        self._check("load")
        return self.records.get(key)

    def save(self, key: RecordKey, priors: Priors, previous: Record | None) -> Record:
        self._check("save")
        assert self.records.get(key) == previous, "conditional write on a stale version"
        record = Record(priors, (previous.version if previous else 0) + 1)
        self.records[key] = record
        return record

    def remove(self, key: RecordKey, previous: Record) -> None:
        self._check("remove")
        assert self.records.get(key) == previous, "conditional delete on a stale version"
        del self.records[key]

    def release(self, key: RecordKey, previous: Record) -> None:
        self._check("release")
        assert self.records.get(key) == previous, "conditional write on a stale version"
        self.records[key] = Record(Priors(), previous.version + 1, released=True)

    def live_records(self) -> dict[RecordKey, Record]:
        """The records of resources not released."""
        return {k: r for k, r in self.records.items() if not r.released}
