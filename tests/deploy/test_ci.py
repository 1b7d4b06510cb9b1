"""The ecosystem's files: the GitHub Actions workflows, ci.yml (make test) and
docs.yml (make docs, published to GitHub Pages), validated offline against
check-jsonschema's vendored GitHub-workflow schema; and the pre-commit hooks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
DOCS_WORKFLOW = ROOT / ".github" / "workflows" / "docs.yml"
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"
BIN = Path(sys.executable).parent


def check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize("workflow", [WORKFLOW, DOCS_WORKFLOW], ids=lambda p: p.name)
def test_workflow_is_valid_against_the_vendored_github_workflow_schema(workflow: Path) -> None:
    completed = check_workflow(workflow)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest"))
    assert check_workflow(broken).returncode != 0


def test_workflow_runs_the_readme_test_command_on_python313() -> None:
    workflow: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    [setup] = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert setup["with"]["python-version"] == "3.13"
    readme_command = re.search(r"^(make test)\s+#", (ROOT / "README.md").read_text(), re.M)
    assert readme_command
    assert [s["run"] for s in steps if "run" in s] == [readme_command.group(1)]
    assert steps.index(setup) < next(i for i, s in enumerate(steps) if "run" in s)
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")  # what this project's CI runs too


def test_docs_workflow_builds_with_make_docs_and_publishes_the_site_to_pages() -> None:
    workflow: dict[str, Any] = yaml.safe_load(DOCS_WORKFLOW.read_text())
    assert workflow[True]["push"]["branches"] == ["main"]  # `on:` is YAML 1.1's true
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    [setup] = [s for s in build["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    assert setup["with"]["python-version"] == "3.13"
    assert [s["run"] for s in build["steps"] if "run" in s] == ["make docs"]
    test_target = re.search(r"^test: (.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert test_target and "docs" in test_target.group(1).split()  # make test builds them too: pull requests do
    [upload] = [s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    site_dir = re.search(r"^site_dir: (\S+)$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert site_dir and upload["with"]["path"] == site_dir.group(1)
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert workflow["permissions"] == {"contents": "read"}
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]


def test_pre_commit_config_parses_and_names_the_local_hooks() -> None:
    completed = subprocess.run([str(BIN / "pre-commit"), "validate-config", str(PRE_COMMIT)],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    config: dict[str, Any] = yaml.safe_load(PRE_COMMIT.read_text())
    [repo] = config["repos"]
    assert repo["repo"] == "local"
    hooks = {hook["id"]: hook for hook in repo["hooks"]}
    assert set(hooks) == {"ruff", "mypy", "cfn-lint"}
    for hook in hooks.values():
        # a local tool of .venv, nothing that pre-commit would download
        assert hook["language"] == "unsupported" and hook["entry"].startswith(".venv/bin/"), hook
        assert "additional_dependencies" not in hook
    assert re.search(hooks["cfn-lint"]["files"], "template.yaml")
    assert re.search(hooks["cfn-lint"]["files"], "examples/consumer.yaml")
    assert not re.search(hooks["cfn-lint"]["files"], "tests/lint/fixtures/bad/planted_mistakes.yaml")


def test_cfn_lint_hook_runs_offline(tmp_path: Path) -> None:
    completed = subprocess.run([str(BIN / "pre-commit"), "run", "cfn-lint", "--all-files"], cwd=ROOT,
                               capture_output=True, text=True, check=False,
                               env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path), "PATH": f"{BIN}:{os.environ['PATH']}"})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Passed" in completed.stdout
