"""What the resource remembers of a package: the value each field and metadata key
had before the resource first changed it (None: it was absent). Pure data; the
prior-state table (prior_state.py) stores it, the planner reads and writes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Priors:
    fields: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str | None] = field(default_factory=dict)

    def with_changes(
        self,
        fields: Mapping[str, Any] | None = None,
        metadata: Mapping[str, str | None] | None = None,
        released_fields: frozenset[str] = frozenset(),
        released_keys: frozenset[str] = frozenset(),
    ) -> Priors:
        """These priors with new ones added (a prior already held is kept: it is
        the value from before the resource's *first* change) and released ones
        dropped."""
        new_fields = {**(fields or {}), **self.fields}
        new_metadata = {**(metadata or {}), **self.metadata}
        return replace(
            self,
            fields={k: v for k, v in new_fields.items() if k not in released_fields},
            metadata={k: v for k, v in new_metadata.items() if k not in released_keys},
        )

    def is_empty(self) -> bool:
        return not self.fields and not self.metadata
