"""The ``gapdesk`` entry point: every command group, a fast start, one error boundary."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from gapdesk.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[3]


def test_every_command_group_is_registered_in_the_order_help_lists_them() -> None:
    [commands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert list(commands.choices) == [
        *("data", "train", "models", "db", "demo", "up", "score", "conversations"),
        *("benchmark", "figures", "users", "labels", "signals", "retrain", "report", "needs"),
        "chat",
    ]


def test_building_the_parser_loads_neither_scikit_learn_nor_the_database() -> None:
    # `gapdesk --help` and `gapdesk chat` start without the gap model or SQLAlchemy;
    # the handlers that need them import them.
    code = (
        "import gapdesk.cli, sys; gapdesk.cli.build_parser(); "
        "assert 'sklearn' not in sys.modules; "
        "heavy = {'sklearn', 'spacy', 'matplotlib', 'sqlalchemy', 'alembic'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_a_library_error_is_one_line_on_stderr_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # so no .env of the working directory is read
    monkeypatch.setenv("GAPDESK_GAP_SCORING", "sometimes")
    assert main(["up"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "gapdesk: GAPDESK_GAP_SCORING must be on or off\n"
    assert captured.out == ""


def test_ctrl_c_is_exit_code_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(settings: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("gapdesk.cli.up.up", interrupted)
    assert main(["up"]) == 130
