"""The documentation (docs/, mkdocs.yml, README.md): every example it shows is a
file that some page pulls in and that is checked by its kind, so that no example
can rot; the site builds offline and strictly (`make docs`, in `make test`); the
README fits on a few screens, starts with the two commands and shows the
example's declaration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.pages import DOCS, ROOT, includes, pages, snippet
from tests.deploy.test_templates import TEMPLATES

EXAMPLES = ROOT / "examples"
SNIPPETS = DOCS / "snippets"
README = ROOT / "README.md"


def example_files() -> list[Path]:
    """Every file under examples/ and docs/snippets/: what the pages may show."""
    return sorted(p for folder in (EXAMPLES, SNIPPETS) for p in folder.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def shown() -> dict[str, list[str]]:
    """Each file a page pulls in, with the pages that do."""
    found: dict[str, list[str]] = {}
    for path in pages():
        for included, _ in includes(path.read_text()):
            found.setdefault(included, []).append(str(path.relative_to(DOCS)))
    return found


def test_every_example_is_shown_by_some_page() -> None:
    shown_files = set(shown())
    assert [str(p.relative_to(ROOT)) for p in example_files() if str(p.relative_to(ROOT)) not in shown_files] == []


def test_every_snippet_a_page_pulls_in_is_an_example_file_and_its_section_exists() -> None:
    examples = {str(p.relative_to(ROOT)) for p in example_files()}
    for path in pages():
        for included, section in includes(path.read_text()):
            assert included in examples, f"{path.name} pulls in {included}: keep examples under examples/"
            assert snippet(included, section).strip(), f"{path.name}: {included}:{section} is empty"


def _kind(path: Path) -> str:
    relative = path.relative_to(ROOT)
    if relative.parent == Path("examples") and path.suffix == ".yaml":
        return "template"
    if relative.parent == Path("examples/policies") and path.suffix == ".json":
        return "policy"
    if path.name == ".cfnlintrc":
        return "cfnlintrc"
    if path.suffix == ".py":
        return "python"
    if relative.parent == Path("docs/snippets") and path.suffix == ".md":
        return "generated"
    return "unknown"


@pytest.mark.parametrize("path", example_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_is_checked_by_its_kind(path: Path) -> None:
    kind = _kind(path)
    assert kind != "unknown", f"{path}: no check knows this kind of example; add one here"
    if kind == "template":
        # cfn-lint with its own rules (tests/deploy/test_templates.py) and with this
        # project's rules (tests/lint/test_lint.py, examples/*.yaml), and the pre-commit hook
        assert path in TEMPLATES
        [hook] = [h for r in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
                  for h in r["hooks"] if h["id"] == "cfn-lint"]
        assert re.search(hook["files"], str(path.relative_to(ROOT)))
    elif kind == "policy":
        policy: dict[str, Any] = json.loads(path.read_text())
        assert policy["Version"] == "2012-10-17"
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow" and statement["Action"], statement
            assert "Resource" in statement or "Principal" in statement, statement
    elif kind == "cfnlintrc":
        # tests/lint/test_rule_package.py lints the consumer's template with it
        from tests.lint.test_rule_package import CONFIG

        assert path == CONFIG
        assert yaml.safe_load(path.read_text())["append_rules"] == ["cfn_lint_model_package"]
    elif kind == "python":
        completed = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", str(path)],
                                   capture_output=True, text=True, check=False)
        assert completed.returncode == 0, completed.stdout
    else:  # generated: tests/lint/test_lint.py checks each against its source (the schema, rules.py)
        assert path.name in ("property-reference.md", "sagemaker-rules.md")


def test_the_pages_carry_no_history() -> None:
    """History and investigation notes go to CHANGELOG.md, not the user's docs."""
    notes = ("found by the lifecycle state machine", "before the collector step", "what the build shipped before",
             "the former table", "(before)")
    found = [(p.name, note) for p in pages() for note in notes if note in p.read_text()]
    assert found == []


class _Loader(yaml.SafeLoader):
    """mkdocs.yml names a Python function (superfences' mermaid format) with a tag."""


_Loader.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda loader, suffix, node: suffix)


def mkdocs_config() -> dict[str, Any]:
    return dict(yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader))  # noqa: S506 - a SafeLoader


def test_site_builds_offline_and_strictly_and_every_page_is_in_the_nav() -> None:
    config = mkdocs_config()
    assert config["strict"] is True
    assert config["theme"]["font"] is False  # no Google fonts fetched
    assert config["plugins"] == ["search"]  # nothing that fetches
    [snippets] = [e["pymdownx.snippets"] for e in config["markdown_extensions"]
                  if isinstance(e, dict) and "pymdownx.snippets" in e]
    assert snippets["check_paths"] is True and snippets["url_download"] is False
    assert snippets["base_path"] == ["."]

    def nav_pages(items: list[Any]) -> list[str]:
        return [p for item in items for value in item.values()
                for p in (nav_pages(value) if isinstance(value, list) else [value])]

    in_nav = nav_pages(config["nav"])
    assert sorted(in_nav) == sorted(str(p.relative_to(DOCS)) for p in pages() if SNIPPETS not in p.parents)
    wanted = ["Getting started", "Declaring the resource", "What each event does", "Failure and rollback",
              "Ownership across stacks", "Central registry", "Organization rollout", "Linting", "Operating it",
              "Performance", "Reliability", "Development"]
    titles = json.dumps(config["nav"])
    assert [t for t in wanted if f'"{t}"' not in titles] == []


def test_makefile_builds_the_docs_strictly_in_make_test() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^docs: .*\n\t.*mkdocs build --strict$", makefile.replace("$(MKDOCS)", "mkdocs"), re.M)
    test_target = re.search(r"^test: (.*)$", makefile, re.M)
    assert test_target and "docs" in test_target.group(1).split()
    pins = [line for line in (ROOT / "requirements-docs.txt").read_text().splitlines() if line and line[0] != "#"]
    assert all("==" in line for line in pins)
    assert {line.split("==")[0].lower() for line in pins} >= {"mkdocs", "mkdocs-material", "pymdown-extensions"}


def test_readme_fits_on_a_few_screens_and_starts_with_the_two_commands() -> None:
    readme = README.read_text()
    assert len(readme.splitlines()) <= 100
    [first, *_] = re.findall(r"^```sh\n(.*?)^```", readme, re.M | re.S)
    assert [line.split("#")[0].strip() for line in first.splitlines()] == ["make demo", "make test"]
    assert "\ndemo: " in (ROOT / "Makefile").read_text()
    [getting_started, *_] = re.findall(r"^```sh\n(.*?)^```", (DOCS / "getting-started.md").read_text(), re.M | re.S)
    assert getting_started == first  # the site's Getting started says the same


def test_readme_declaration_is_the_examples() -> None:
    [declaration] = re.findall(r"^```yaml\n(.*?)^```", README.read_text(), re.M | re.S)
    assert declaration.rstrip("\n") == snippet("examples/declaration.yaml", "resource")


def test_readme_links_resolve() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text())
    local = [link for link in links if "://" not in link]
    assert local and [link for link in local if not (ROOT / link).exists()] == []
    assert {f"docs/{p.name}" for p in DOCS.glob("*.md")} <= set(local)
