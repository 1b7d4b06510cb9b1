"""The rules both ways a consumer enables them: the package installed from lint/
(`append_rules: [cfn_lint_model_package]`, here with a configured type name: the
docs' example examples/lint/.cfnlintrc) and the directory (`append_rules:
[path/to/lint/rules]`), each through the cfn-lint command in a consumer's directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = Path(__file__).resolve().parent / "consumer"
CONFIG = ROOT / "examples" / "lint" / ".cfnlintrc"  # the example of the docs' Linting page
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lint/ built as pip builds it (hatchling, pinned in requirements-dev.txt; offline)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "--no-index", str(ROOT / "lint"), "-w", str(out)],
                   check=True, capture_output=True)
    [built] = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def site(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-index", "--target", str(target), str(wheel)], check=True, capture_output=True)
    return target


def cfn_lint(cwd: Path, *args: str, pythonpath: Path | None = None) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    completed = subprocess.run([CFN_LINT, "--format", "json", *args], cwd=cwd, env=env,
                               capture_output=True, text=True, check=False)
    assert completed.returncode in (0, 2, 4, 6), completed.stderr  # 2 errors, 4 warnings, 6 both
    found = json.loads(completed.stdout or "[]")
    return sorted(({"rule": f["Rule"]["Id"], "resource": f["Location"]["Path"][1]} for f in found
                   if f["Rule"]["Id"].startswith("W9") or f["Rule"]["Id"].startswith("E9")),
                  key=lambda f: (f["resource"], f["rule"]))


def test_wheel_ships_the_rules_and_the_schema(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {"cfn_lint_model_package/__init__.py", "cfn_lint_model_package/ModelPackageProperties.py",
                "cfn_lint_model_package/ServiceTimeoutMissing.py", "cfn_lint_model_package/PendingApprovalDeclared.py",
                "cfn_lint_model_package/schemas/custom-modelpackage.json"} <= names
        shipped = z.read("cfn_lint_model_package/schemas/custom-modelpackage.json")
    assert shipped == (ROOT / "lint" / "rules" / "schemas" / "custom-modelpackage.json").read_bytes()
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_module_form_with_a_configured_type_name(site: Path) -> None:
    # The docs' .cfnlintrc: append_rules: [cfn_lint_model_package] and
    # resource_types: [Custom::ApproveModel] for both rules.
    assert cfn_lint(CONSUMER, "--config-file", str(CONFIG), "template.yaml", pythonpath=site) == [
        {"rule": "E9000", "resource": "Approve"},   # ModelApprovalStatus: approved
        {"rule": "W9001", "resource": "Approve"},   # no ServiceTimeout
    ]  # Governed is valid; Custom::ModelPackage is not a configured type here


def test_module_form_is_what_the_package_provides(site: Path) -> None:
    # Without the package on the path cfn-lint cannot import the module: the
    # findings above come from the installed package, not from the repository.
    completed = subprocess.run([CFN_LINT, "--config-file", str(CONFIG), "template.yaml"], cwd=CONSUMER,
                               capture_output=True, text=True, check=False, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert completed.returncode != 0 and "cfn_lint_model_package" in completed.stdout + completed.stderr


def test_directory_form_checks_the_default_type(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text((CONSUMER / "template.yaml").read_text())
    assert cfn_lint(tmp_path, "--append-rules", str(ROOT / "lint" / "rules"), "--regions", "eu-west-1",
                    "--", "template.yaml") == [
        {"rule": "E9000", "resource": "OtherTeams"},  # Anything is no property; no ServiceTimeout
        {"rule": "W9001", "resource": "OtherTeams"},
    ]


def test_directory_form_with_a_configured_type_name(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text((CONSUMER / "template.yaml").read_text())
    (tmp_path / ".cfnlintrc").write_text(
        CONFIG.read_text().replace("cfn_lint_model_package", str(ROOT / "lint" / "rules")))
    assert cfn_lint(tmp_path, "template.yaml") == [
        {"rule": "E9000", "resource": "Approve"}, {"rule": "W9001", "resource": "Approve"}]
