"""The report from end to end: read the period, compute every view, write the files.

``build_report`` returns one JSON-ready dictionary (no NaN, times as ISO strings);
``write_report_files`` writes it as ``report.json`` beside the self-contained
``report.html`` rendered from the same dictionary, so both always say the same.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from gapdesk.reports import breakdowns, model_views, views
from gapdesk.reports.frames import load_frames
from gapdesk.reports.information import information
from gapdesk.reports.outcomes import annotate_turns
from gapdesk.reports.render import render_html
from gapdesk.reports.segments import segments
from gapdesk.reports.unmet_needs import unmet_needs

HTML_FILE = "report.html"
JSON_FILE = "report.json"


def build_report(
    engine: Engine,
    since: datetime,
    until: datetime,
    generated_at: datetime | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Every view of the period ``[since, until)`` of the database behind ``engine``;
    with a ``channel``, of the conversations on that channel only."""
    frames = load_frames(engine, since, until, channel=channel)
    outcomes = annotate_turns(frames)
    report = {
        "period": {"since": frames.period.since, "until": frames.period.until},
        "generated_at": generated_at or datetime.now(UTC),
        "has_traffic": bool(len(outcomes)),
        "channel": frames.channel,  # the filter: None for every channel
        "channels": list(frames.channels),  # the period's channels, whatever the filter
        "volume": views.volume(outcomes),
        "containment": views.containment(outcomes, frames),
        "escalation": views.escalation(outcomes, frames),
        "missed_gaps": views.missed_gaps(outcomes),
        "by_intent": breakdowns.by_intent(outcomes),
        "by_answer": breakdowns.by_answer(outcomes),
        "satisfaction": views.satisfaction(frames),
        "waiting_times": views.waiting_times(frames),
        "reliability": model_views.reliability(outcomes, frames),
        "model_versions": model_views.model_versions(outcomes, frames),
        "control_group": model_views.control_group(outcomes, frames),
        "information": information(outcomes),
        "unmet_needs": unmet_needs(outcomes, frames),
        "segments": segments(outcomes, frames),
    }
    safe: dict[str, Any] = json_safe(report)
    return safe


def write_report_files(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.json`` into ``out_dir`` (created if needed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / HTML_FILE, out_dir / JSON_FILE
    text = json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False)
    json_path.write_text(text + "\n", encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return html_path, json_path


def json_safe(value: Any) -> Any:
    """``value`` made of JSON's types only: NaN, infinities and missing values become
    ``None``, numpy and pandas scalars plain Python, times and dates ISO strings."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):  # pandas.Timestamp is a datetime
        return None if pd.isna(value) else value.isoformat()
    if pd.isna(value):
        return None
    return str(value)
