"""Files generated from the pinned botocore's model and committed: write them, or
check that the committed copy is current."""

from __future__ import annotations

from pathlib import Path


def write_or_check(path: Path, text: str, command: str, check: bool) -> int:
    if check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is out of date with botocore's model: run python -m devkit {command}")
            return 1
        print(f"{path} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path} ({len(text):,} bytes)")
    return 0
