"""The report as one self-contained HTML page, rendered on the server with Jinja2.

The page is built from the report dictionary alone (the same one written to
``report.json``), so the page and the file never disagree. Autoescaping is on for
every value; the charts (gapdesk.reports.charts) are the only markup let through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, StrictUndefined

from gapdesk.reports import charts
from gapdesk.reports.page import PAGE

TABLE_ROWS = 20  # the page's longest tables; report.json holds every row
MISSING = "—"


def render_html(report: dict[str, Any]) -> str:
    """The HTML page of ``report`` (as :func:`gapdesk.reports.build.build_report` makes it)."""
    environment = Environment(
        autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )
    environment.filters.update(pct=percent, fixed=fixed, minutes=minutes, moment=moment)
    template = environment.from_string(PAGE)
    return template.render(**report, charts=report_charts(report), limit=TABLE_ROWS)


def report_charts(report: dict[str, Any]) -> dict[str, str | None]:
    """Each chart's SVG, or ``None`` where its view has no data."""
    volume = report["volume"]
    return {
        "per_day": charts.per_day_chart(volume["per_day"]),
        "per_channel": charts.per_channel_chart(volume["per_channel"]),
        "satisfaction": charts.satisfaction_chart(report["satisfaction"]["per_day"]),
        "reliability": charts.reliability_chart(report["reliability"]["bins"]),
    }


def percent(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.1f} %"


def fixed(value: float | None, digits: int = 2) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def minutes(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1f} min"


def moment(iso_time: str) -> str:
    """An ISO time of the report as a reader wants it: to the minute, in UTC."""
    return datetime.fromisoformat(iso_time).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
