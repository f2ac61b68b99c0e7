"""``gapdesk report``: the period's arguments and the two files it writes."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gapdesk.cli import main
from gapdesk.cli.report import since_moment, until_moment
from tests.gapdesk.reports.conftest import sample_engine

NOW = datetime(2026, 11, 9, 12, 30, tzinfo=UTC)


def test_since_reads_a_span_before_now_or_an_iso_date() -> None:
    assert since_moment("7d", NOW) == NOW - timedelta(days=7)
    assert since_moment("24h", NOW) == NOW - timedelta(hours=24)
    assert since_moment("2026-11-02", NOW) == datetime(2026, 11, 2, tzinfo=UTC)
    assert since_moment("2026-11-02T10:00:00+01:00", NOW) == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert since_moment("2026-11-02T10:00", NOW) == datetime(2026, 11, 2, 10, tzinfo=UTC)


def test_until_includes_a_whole_date_and_excludes_a_time() -> None:
    assert until_moment("2026-11-08") == datetime(2026, 11, 9, tzinfo=UTC)
    assert until_moment("2026-11-08T06:00:00Z") == datetime(2026, 11, 8, 6, tzinfo=UTC)


@pytest.mark.parametrize("text", ["7 days", "last week", "2026-13-01", "d7"])
def test_a_period_it_cannot_read_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="neither 7d/24h nor an ISO date"):
        since_moment(text, NOW)


def test_the_command_writes_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    sample_engine(url).dispose()
    monkeypatch.chdir(tmp_path)  # so no .env of the working directory is read
    monkeypatch.setenv("GAPDESK_DATABASE_URL", url)
    out = tmp_path / "report"
    assert (
        main(["report", "--since", "2026-11-02", "--until", "2026-11-08", "--out", str(out)]) == 0
    )
    assert "15 messages in 10 conversations" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["period"]["until"] == "2026-11-09T00:00:00+00:00"
    assert (out / "report.html").read_text("utf-8").startswith("<!doctype html>")


def test_an_empty_period_is_one_line_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GAPDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'gapdesk.db'}")
    args = ["report", "--since", "2026-11-08", "--until", "2026-11-01", "--out", str(tmp_path)]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("gapdesk: the period is empty")
