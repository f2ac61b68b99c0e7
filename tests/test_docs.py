"""The README and docs/ agree with the code and with each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gapdesk.settings import Settings
from gapdesk.settings_doc import REGENERATE, render

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

# [text](target) outside code: inline code and fenced blocks are dropped first.
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# In prose (code left out: test names, variables), "session" is fine only as a product
# term: the widget's session persistence, the console's session cookie. Anything else
# reads like a development session, which a reader cannot know.
_TECHNICAL_SESSION = re.compile(r"session persistence|session cookie", re.I)


def _prose(path: Path) -> str:
    return _CODE.sub("", _FENCE.sub("", path.read_text(encoding="utf-8")))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_settings_doc_is_generated_from_the_settings_table() -> None:
    written = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert written == render(), f"docs/settings.md is stale: run `{REGENERATE}`"


def test_every_setting_the_readme_names_is_in_the_settings_table() -> None:
    names = {name for name, _, _ in Settings.table()}
    named = set(re.findall(r"GAPDESK_[A-Z0-9_]+", README.read_text(encoding="utf-8")))
    families = {n for n in named if n.endswith("_")}  # GAPDESK_COST_* names several
    assert named - families, "the README names no setting"
    assert named - families <= names, f"not settings: {sorted(named - families - names)}"
    for family in families:
        assert any(name.startswith(family) for name in names), f"no setting is {family}*"


def test_the_readme_defaults_are_the_settings_defaults() -> None:
    defaults = {name: default for name, default, _ in Settings.table()}
    for line in README.read_text(encoding="utf-8").splitlines():
        row = re.match(r"\| `(GAPDESK_[A-Z0-9_]+)` \| ([^|]+) \|", line)
        if row:
            name, shown = row.groups()
            expected = "(empty)" if defaults[name] == "" else f"`{defaults[name]}`"
            assert shown.strip() == expected, f"README gives the wrong default for {name}"


def test_the_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < 200, f"README.md has {lines} lines: move details to docs/"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_point_to_existing_files_and_headings(page: Path) -> None:
    broken = []
    for target in _LINK.findall(_prose(page)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        missing_heading = anchor and linked.suffix == ".md" and anchor not in _anchors(linked)
        if not linked.exists() or missing_heading:
            broken.append(target)
    assert broken == [], f"{_name(page)}: broken links {broken}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_the_tests_a_page_cites_exist(page: Path) -> None:
    missing = []
    for path, function in re.findall(r"(tests/[\w/]+\.py)(?:::(\w+))?", page.read_text("utf-8")):
        source = ROOT / path
        if not source.is_file() or (
            function and not re.search(rf"def {function}\(", source.read_text("utf-8"))
        ):
            missing.append(f"{path}::{function}" if function else path)
    assert missing == [], f"{_name(page)} cites tests that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_no_page_refers_to_issues_or_development_sessions(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"issue #|(?<![\w&])#\d+\b", text, re.I), f"{_name(page)} cites an issue"
    assert not re.search(r"session", _TECHNICAL_SESSION.sub("", _prose(page)), re.I), (
        f"{_name(page)} mentions a session: say what was measured, when, with which command"
    )


def test_the_slug_matches_githubs() -> None:
    assert _slug("Another bot: Bitext's online shop") == "another-bot-bitexts-online-shop"
    assert _slug("Network and ports") == "network-and-ports"
