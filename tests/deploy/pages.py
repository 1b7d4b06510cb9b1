"""The documentation's pages as a reader gets them: docs/NAME.md with its snippets
(`--8<-- "path"`, `--8<-- "path:section"`) pulled in as pymdownx.snippets pulls
them in with mkdocs.yml's settings (paths from the repository's root, a section
dedented, section markers dropped). The tests that check what a page says read it
through here, so that they read the examples' files themselves."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# An include: a line holding only the scissors and a quoted path, maybe indented.
INCLUDE = re.compile(r'^(?P<indent>[ \t]*)-{1,}8<-{1,}[ \t]+"(?P<path>[^":]+)(?::(?P<section>[a-z][-_0-9a-z]*))?"[ \t]*$',
                     re.M | re.I)
MARKER = re.compile(r"-{1,}8<-{1,}[ \t]+\[[ \t]*(?P<kind>start|end)[ \t]*:[ \t]*(?P<name>[a-z][-_0-9a-z]*)[ \t]*\]", re.I)


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def includes(text: str) -> list[tuple[str, str | None]]:
    """The (path, section) of every snippet a text pulls in, in order."""
    return [(m.group("path"), m.group("section")) for m in INCLUDE.finditer(text)]


def snippet(path: str, section: str | None) -> str:
    lines = (ROOT / path).read_text().splitlines()
    if section:
        start = next(i for i, line in enumerate(lines) if (m := MARKER.search(line))
                     and (m.group("kind"), m.group("name")) == ("start", section))
        end = next(i for i, line in enumerate(lines) if i > start and (m := MARKER.search(line))
                   and (m.group("kind"), m.group("name")) == ("end", section))
        lines = textwrap.dedent("\n".join(lines[start + 1:end])).splitlines()
    return "\n".join(line for line in lines if not MARKER.search(line))


def expand(text: str) -> str:
    return INCLUDE.sub(lambda m: textwrap.indent(snippet(m.group("path"), m.group("section")), m.group("indent")),
                       text)


def page(name: str) -> str:
    """docs/NAME.md with its snippets in place."""
    return expand((DOCS / name).read_text())


def section(text: str, title: str) -> str:
    """The text under a `## title` heading, up to the next heading of that level."""
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of a language (a title or other attributes may follow it)."""
    return re.findall(rf"^```{language}(?:[ \t][^\n]*)?\n(.*?)^```", text, re.M | re.S)
