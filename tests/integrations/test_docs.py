"""The README is an entry page and docs/ its reference: every relative link, anchor and named path resolves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 220
# A parser, not regexes, so links inside code blocks and `inline code` are not taken for links.
PARSER = MarkdownIt("commonmark").enable("table")


def tokens_of(page: Path) -> list[Token]:
    return PARSER.parse(page.read_text(encoding="utf-8"))


def inline_children(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from token.children or []


def github_slug(heading: str, seen: dict[str, int]) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def anchors_of(page: Path) -> set[str]:
    tokens = tokens_of(page)
    seen: dict[str, int] = {}
    # An inline token's content is the heading's source; its text children drop the backticks and link syntax.
    return {github_slug("".join(c.content for c in tokens[i + 1].children or [] if c.type in ("text", "code_inline")),
                        seen)
            for i, token in enumerate(tokens) if token.type == "heading_open"}


def relative_links(page: Path) -> Iterator[str]:
    for token in inline_children(tokens_of(page)):
        href = token.attrGet("href") if token.type == "link_open" else None
        if isinstance(href, str) and not urlsplit(href).scheme and not href.startswith("//"):
            yield href


def broken_links(page: Path) -> list[str]:
    problems = []
    for href in relative_links(page):
        parts = urlsplit(href)
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not target.exists():
            problems.append(f"{page.relative_to(ROOT)}: {href}: no such file")
        elif parts.fragment and target.suffix == ".md" and unquote(parts.fragment) not in anchors_of(target):
            problems.append(f"{page.relative_to(ROOT)}: {href}: no heading with that anchor in {target.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken_links(page) == []


# A path into the repository as prose names it (`harness/load/arrivals.py`, tests/run/): moved code leaves it stale.
REPO_PATH = re.compile(r"(?<![\w/.])((?:harness|tests|benchmarks|scenarios|examples|docker|\.ci)/[\w/.-]*\w)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_named_exists(page: Path) -> None:
    named = set(REPO_PATH.findall(page.read_text(encoding="utf-8")))
    assert sorted(path for path in named if not (ROOT / path).exists()) == []


def test_the_readme_stays_an_entry_page() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines; move reference material into docs/"


def test_every_docs_page_is_on_the_readme_map() -> None:
    linked = {(README.parent / unquote(urlsplit(h).path)).resolve() for h in relative_links(README)}
    assert [p.name for p in PAGES[1:] if p.resolve() not in linked] == []


def test_slugs_follow_github() -> None:
    seen: dict[str, int] = {}
    assert github_slug("Early stopping (`--until-decided`)", seen) == "early-stopping---until-decided"
    assert github_slug("A/A check: two identical variants", seen) == "aa-check-two-identical-variants"
    assert github_slug("Notes", seen) == "notes"
    assert github_slug("Notes", seen) == "notes-1"
