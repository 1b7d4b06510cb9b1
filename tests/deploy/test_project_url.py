"""The repository's address is defined once, in pyproject.toml's [project.urls]
Repository (OWNER there is a placeholder until the repository is published). Every
other file that names it carries a copy, kept equal here: the lint rules (their
own package, which cannot read pyproject.toml), the generated schema, template.yaml's
application metadata, mkdocs.yml and the docs' install line."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from devkit.schema import repository_url

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
# An address of this repository on GitHub, whoever its owner.
ADDRESS = re.compile(r"https://github\.com/[^/\s\"'#)]+/model-package-resource\b")


def project_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def test_the_address_is_defined_once_in_pyproject() -> None:
    assert ADDRESS.fullmatch(REPOSITORY)
    assert repository_url() == REPOSITORY


def test_every_copy_of_the_address_is_pyprojects() -> None:
    copies: dict[str, set[str]] = {}
    for path in project_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for found in ADDRESS.findall(text):
            copies.setdefault(found, set()).add(str(path.relative_to(ROOT)))
    others = {address: sorted(files) for address, files in copies.items() if address != REPOSITORY}
    assert others == {}, f"set these to pyproject.toml's Repository, {REPOSITORY}"
    assert {"lint/rules/ModelPackageProperties.py", "lint/rules/ServiceTimeoutMissing.py", "mkdocs.yml",
            "template.yaml", "docs/linting.md", "lint/rules/schemas/custom-modelpackage.json"} <= copies[REPOSITORY]


@pytest.mark.parametrize("rule", ["ModelPackageProperties", "ServiceTimeoutMissing"])
def test_each_lint_rules_source_url_is_a_heading_of_the_docs(rule: str) -> None:
    import importlib

    module = importlib.import_module(f"lint.rules.{rule}")
    rule_class = getattr(module, rule)
    assert module.REPOSITORY == REPOSITORY
    url = rule_class.source_url
    match = re.fullmatch(re.escape(REPOSITORY) + r"/blob/main/(docs/[\w-]+\.md)#([\w-]+)", url)
    assert match, url
    page = (ROOT / match.group(1)).read_text()
    headings = {re.sub(r"[^\w\s-]", "", h.lower()).strip().replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", page, re.M)}
    assert match.group(2) in headings, (url, headings)


def test_the_docs_say_plainly_that_owner_is_a_placeholder() -> None:
    if "/OWNER/" not in REPOSITORY:
        return
    linting = (ROOT / "docs" / "linting.md").read_text()
    development = (ROOT / "docs" / "development.md").read_text()
    assert "OWNER is a placeholder" in linting and "OWNER is a placeholder" in development
    assert "placeholder" in (ROOT / "pyproject.toml").read_text()
