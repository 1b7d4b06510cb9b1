"""The layout's promises, read from the source: the unit tier imports no devkit,
and nothing edits sys.path but the programs that play Lambda's task root."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# They put a code directory (the built artifact) on the path as Lambda puts /var/task:
# that is what they run or test.
TASK_ROOTS = {ROOT / p for p in ("devkit/lambda_process.py", "bench/cold_start.py", "bench/coldpath.py",
                                 "tests/deploy/test_artifact.py", "tests/deploy/test_templates.py")}


def top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_unit_tier_and_the_root_conftest_import_no_devkit() -> None:
    files = [*sorted((ROOT / "tests" / "unit").glob("*.py")), ROOT / "tests" / "conftest.py",
             ROOT / "tests" / "helpers.py", ROOT / "tests" / "fakes.py"]
    assert [f.name for f in files if "devkit" in top_level_imports(f)] == []


def test_nothing_edits_sys_path_but_the_task_root_players() -> None:
    edits = []
    for folder in ("handler", "devkit", "bench", "tests", "tools", "lint"):
        for path in (ROOT / folder).rglob("*.py"):
            if path in TASK_ROOTS or path == Path(__file__):
                continue
            if "sys.path.insert" in path.read_text() or "sys.path[:0]" in path.read_text():
                edits.append(str(path.relative_to(ROOT)))
    assert edits == []
