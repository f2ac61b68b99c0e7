"""``docs/settings.md``, generated from the settings table (:meth:`Settings.table`).

Regenerate it with ``python -m gapdesk.settings_doc --write`` (or redirect the output:
``python -m gapdesk.settings_doc > docs/settings.md``); ``tests/test_docs.py`` fails
while the file differs from :func:`render`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gapdesk.settings import Settings

DOC_PATH = Path("docs/settings.md")
REGENERATE = "python -m gapdesk.settings_doc --write"

_INTRO = f"""\
# Settings

Every setting is an environment variable (or a `NAME=value` line in a `.env` file in
the working directory; the environment wins). `gapdesk --help` lists them too.

This page is generated from the settings table in `gapdesk/settings.py`
(`Settings.table()`); do not edit it by hand. After changing a setting, regenerate
it with `{REGENERATE}`
(or `python -m gapdesk.settings_doc > docs/settings.md`); `tests/test_docs.py` fails
while it is stale.
"""


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _default(value: Any) -> str:
    return "(empty)" if value == "" else f"`{_cell(str(value))}`"


def render() -> str:
    """The whole of ``docs/settings.md``: an intro and one table row per setting."""
    lines = [_INTRO, "| variable | default | what it does |", "|---|---|---|"]
    for name, default, help_text in Settings.table():
        lines.append(f"| `{name}` | {_default(default)} | {_cell(help_text)} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gapdesk.settings_doc",
        description="Print docs/settings.md, generated from gapdesk's settings table.",
    )
    parser.add_argument(
        "--write", action="store_true", help=f"write {DOC_PATH} instead of printing it"
    )
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOC_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {DOC_PATH}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
