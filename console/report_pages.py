"""The reports page: the figures of ``gapdesk report`` in the console, for supervisors.

``GET /reports?since=YYYY-MM-DD&until=YYYY-MM-DD&channel=NAME`` shows the report of the
UTC days ``since`` to ``until`` (both included; the last seven days by default) and
``GET /reports/report.json`` with the same query gives its ``report.json``. The page
embeds the body of the report's own standalone page (gapdesk.reports.render), so the
console and ``report.html`` show the same views, escaped the same way: that page is
rendered by an autoescaping Jinja2 environment where the charts' SVG is the only markup
let through. Reading the database (pandas) and drawing the charts (matplotlib) run in a
worker thread, never on the event loop.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.auth import ConsoleUser, requires
from console.pages import render

DEFAULT_DAYS = 7  # the period shown without dates: the last seven UTC days, today included
CHANNEL_LIMIT = 64  # characters, as the conversations table stores a channel
_WEEK = timedelta(days=DEFAULT_DAYS - 1)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# matplotlib's style context is process-wide: one report's charts are drawn at a time.
_DRAWING = threading.Lock()


class QueryError(ValueError):
    """A query the page cannot read; its message is shown to the supervisor."""


@dataclass(frozen=True)
class ReportQuery:
    """Whole UTC days from ``first_day`` to ``last_day`` (included), and a channel."""

    first_day: date
    last_day: date
    channel: str | None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first_day, datetime.min.time(), UTC)

    @property
    def until(self) -> datetime:
        """The midnight after ``last_day``: the report's period excludes its end."""
        return datetime.combine(self.last_day, datetime.min.time(), UTC) + timedelta(days=1)

    def params(self) -> dict[str, str]:
        """The query string's values, as the filter form sends them."""
        found = {"since": self.first_day.isoformat(), "until": self.last_day.isoformat()}
        return found | ({"channel": self.channel} if self.channel else {})


def read_query(params: QueryParams, today: date) -> ReportQuery:
    """The page's filters; missing dates give the last ``DEFAULT_DAYS`` days to ``today``.

    Raises :class:`QueryError` for a date that is not ``YYYY-MM-DD`` or a period whose
    start is after its end.
    """
    last_day = _day(params.get("until"), "until", today)
    if last_day == date.max:  # the midnight after it does not exist
        raise QueryError(f"'until' must be before {date.max}.")
    week_before = last_day - _WEEK if last_day - date.min >= _WEEK else date.min
    first_day = _day(params.get("since"), "since", week_before)
    if first_day > last_day:
        raise QueryError(
            f"The period is empty: 'since' ({first_day}) is after 'until' ({last_day})."
        )
    channel = params.get("channel", "").strip()[:CHANNEL_LIMIT] or None
    return ReportQuery(first_day, last_day, channel)


def _day(text: str | None, name: str, default: date) -> date:
    text = (text or "").strip()
    if not text:
        return default
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        shown = text[:40]
        raise QueryError(
            f"'{name}' must be a date as YYYY-MM-DD (for example 2026-11-02), not {shown!r}."
        ) from None


def _build(engine: Engine, query: ReportQuery) -> dict[str, Any]:
    from gapdesk.reports.build import build_report  # pandas: only when a report is made

    return build_report(engine, query.since, query.until, channel=query.channel)


def _build_and_draw(engine: Engine, query: ReportQuery) -> tuple[dict[str, Any], Markup]:
    """The report and the body of its standalone page (charts drawn inside)."""
    from gapdesk.reports.render import render_html

    report = _build(engine, query)
    with _DRAWING:
        html = render_html(report)
    return report, Markup(_body(html))  # escaped by render_html's autoescaping


def _body(html: str) -> str:
    """What is between the page's ``<body>`` and ``</body>`` tags. Both are written by
    the template itself: a customer's text holding them is escaped (``&lt;body&gt;``)."""
    start = html.index("<body>") + len("<body>")
    return html[start : html.rindex("</body>")]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.store.engine
    return engine


@requires("supervisor")
async def reports_page(request: Request, user: ConsoleUser) -> Response:
    """The report of the period and channel asked for, with the filter form."""
    params = request.query_params
    try:
        query = read_query(params, datetime.now(UTC).date())
    except QueryError as exc:
        channel = params.get("channel", "").strip()[:CHANNEL_LIMIT]
        context = {
            "error": str(exc),
            "form": {key: params.get(key, "")[:CHANNEL_LIMIT] for key in ("since", "until")},
            "channel": channel,
            "channels": [channel] if channel else [],
            "body": None,
            "json_url": None,
        }
        return render(request, "reports.html", context, status_code=400)
    report, body = await run_in_threadpool(_build_and_draw, _engine(request), query)
    channels = list(report["channels"])
    if query.channel and query.channel not in channels:
        channels.append(query.channel)  # keep the choice shown, even without traffic
    context = {
        "error": "",
        "form": query.params(),
        "channel": query.channel or "",
        "channels": channels,
        "body": body,
        "json_url": "/reports/report.json?" + urlencode(query.params()),
    }
    return render(request, "reports.html", context)


@requires("supervisor")
async def report_json(request: Request, user: ConsoleUser) -> Response:
    """``report.json`` of the same query as the page (a download)."""
    try:
        query = read_query(request.query_params, datetime.now(UTC).date())
    except QueryError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    report = await run_in_threadpool(_build, _engine(request), query)
    return JSONResponse(
        report, headers={"content-disposition": 'attachment; filename="report.json"'}
    )
