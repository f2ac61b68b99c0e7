"""The whole report: JSON-safe values, the two files, and no error without traffic."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from gapdesk.errors import StorageError
from gapdesk.reports.build import build_report, json_safe, write_report_files
from gapdesk.storage.store import make_engine
from tests.gapdesk.reports.conftest import SINCE, UNTIL

QUIET_SINCE = datetime(2027, 1, 4, tzinfo=UTC)
QUIET_UNTIL = datetime(2027, 1, 11, tzinfo=UTC)


def _counts(report: dict) -> list[int]:
    return [
        report["volume"]["messages"],
        report["volume"]["conversations"],
        report["containment"]["conversations"],
        report["escalation"]["hand_overs"],
        report["missed_gaps"]["answered"],
        report["satisfaction"]["ratings"],
        report["waiting_times"]["escalations"],
        report["reliability"]["labels"],
        len(report["by_intent"]) + len(report["by_answer"]) + len(report["model_versions"]),
    ]


def test_an_empty_database_gives_a_report_of_zeros(empty: Engine, tmp_path: Path) -> None:
    report = build_report(empty, SINCE, UNTIL)
    assert report["has_traffic"] is False
    assert _counts(report) == [0] * 9
    assert report["containment"]["rate"] is None  # nothing to divide by: null, not NaN
    assert report["reliability"]["version"] is None
    assert report["control_group"]["both_ran"] is False
    html_path, json_path = write_report_files(report, tmp_path / "out")
    assert json.loads(json_path.read_text("utf-8")) == report
    assert "No traffic in this period" in html_path.read_text("utf-8")


def test_a_period_without_traffic_says_so(sample: Engine, tmp_path: Path) -> None:
    report = build_report(sample, QUIET_SINCE, QUIET_UNTIL)
    assert report["has_traffic"] is False
    assert _counts(report) == [0] * 9
    assert report["reliability"]["version"] == "gap-new"  # the registry still knows it
    html = write_report_files(report, tmp_path)[0].read_text("utf-8")
    assert "No traffic in this period" in html
    assert "nobody labelled a turn that version gap-new scored" in html


def test_the_report_is_plain_json_with_iso_times(sample: Engine, tmp_path: Path) -> None:
    report = build_report(sample, SINCE, UNTIL, generated_at=datetime(2026, 11, 9, tzinfo=UTC))
    text = write_report_files(report, tmp_path)[1].read_text("utf-8")
    assert "NaN" not in text and "Infinity" not in text
    loaded = json.loads(text)
    assert loaded["period"] == {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
    assert loaded["generated_at"] == "2026-11-09T00:00:00+00:00"
    assert loaded["containment"]["rate"] == 0.5


def test_json_safe_turns_every_odd_value_into_json() -> None:
    value = {
        1: [np.int64(3), np.float64("nan"), math.inf, pd.NaT, pd.NA, np.bool_(True)],
        "when": (pd.Timestamp("2026-11-02", tz="UTC"), date(2026, 11, 2)),
    }
    assert json_safe(value) == {
        "1": [3, None, None, None, None, True],
        "when": ["2026-11-02T00:00:00+00:00", "2026-11-02"],
    }


def test_a_database_without_tables_is_a_storage_error_that_says_what_to_do(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'none.db'}")
    with pytest.raises(StorageError, match="gapdesk db upgrade"):
        build_report(engine, SINCE, UNTIL)
