"""Figures the reliability suite gathers as it runs; `make reliability` prints them."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

COUNTS: Counter[str] = Counter()
FAULTS: list[dict[str, Any]] = []
REPORT = Path(__file__).resolve().parents[2] / ".reliability" / "report.json"


def write(exitstatus: int) -> None:
    if not os.environ.get("RELIABILITY_REPORT"):
        return
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps({"counts": dict(COUNTS), "faults": FAULTS, "exitstatus": int(exitstatus)}, indent=2))
