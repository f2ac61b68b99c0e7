"""The console's reports page: the report's views for supervisors, filtered by dates and
channel, on the hand-made database of tests/gapdesk/reports/conftest.py (whose figures
are worked out there by hand)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from starlette.testclient import TestClient

from console import report_pages
from gapdesk.reports.build import build_report
from gapdesk.reports.render import render_html
from gapdesk.storage.store import Store
from tests.console.conftest import sign_in
from tests.gapdesk.reports.conftest import SCRIPT, SINCE, UNTIL, fill_sample

WEEK = "since=2026-11-02&until=2026-11-08"  # SINCE to UNTIL: the sample's week


@pytest.fixture
def sample_store(console_store: Store) -> Store:
    fill_sample(console_store)
    return console_store


@pytest.fixture
def supervisor(app_factory, sample_store: Store) -> TestClient:
    client: TestClient = app_factory()
    sign_in(client, "supervisor")
    return client


def _text(html: str) -> str:
    """The page with its runs of white space as one space, as a browser shows it."""
    return " ".join(html.split())


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "generated_at"}


def test_a_supervisor_sees_the_figures_and_charts_of_the_period(supervisor, sample_store) -> None:
    page = supervisor.get(f"/reports?{WEEK}")
    assert page.status_code == 200
    html = _text(page.text)
    assert '<a href="/reports">Reports</a>' in html  # the console's navigation
    assert 'value="2026-11-02"' in html and 'value="2026-11-08"' in html
    assert "From 2026-11-02 00:00 UTC to 2026-11-09 00:00 UTC" in html
    assert "<b>5</b> of 10 conversations contained (50.0 %)" in html
    assert "Precision <b>50.0 %</b>: of 2 judged hand-overs, 1 a real gap" in html
    assert "<b>5</b> of 11 answers missed (45.5 %)" in html
    # The standalone page's charts (per day, per channel, satisfaction, reliability, ...)
    standalone = render_html(build_report(sample_store.engine, SINCE, UNTIL))
    assert html.count("<svg") == standalone.count("<svg") >= 4
    options = re.findall(r'<option value="(\w*)"', html)
    assert options == ["", "rest", "socketio", "telegram"]  # the week's channels
    assert f'href="/reports/report.json?{WEEK.replace("&", "&amp;")}"' in html
    # The standalone page's own head (its CSP, its styles) stays out of the console's page.
    assert "<!doctype" not in html[20:].lower() and "default-src 'none'" not in html


def test_admins_see_it_too_agents_are_refused_strangers_sign_in(app_factory, sample_store) -> None:
    admin = app_factory()
    sign_in(admin, "admin")
    assert admin.get(f"/reports?{WEEK}").status_code == 200
    agent = app_factory()
    sign_in(agent, "agent")
    for path in (f"/reports?{WEEK}", f"/reports/report.json?{WEEK}"):
        refused = agent.get(path)
        assert refused.status_code == 403 and "This needs the supervisor role." in refused.text
    assert '<a href="/reports">' not in agent.get("/queue").text  # no link to it either
    stranger = app_factory()
    response = stranger.get(f"/reports?{WEEK}")
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == "/login?next=%2Freports%3Fsince%3D2026-11-02%26until%3D2026-11-08"
    )
    api = stranger.get("/reports/report.json", headers={"accept": "application/json"})
    assert api.status_code == 401 and api.json() == {"error": "Please sign in."}


MUST_BE_A_DATE = "must be a date as YYYY-MM-DD (for example 2026-11-02), not"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-13-01", f"'since' {MUST_BE_A_DATE} '2026-13-01'."),
        ("until=last+week", f"'until' {MUST_BE_A_DATE} 'last week'."),
        ("since=2026-11-02T10:00", f"'since' {MUST_BE_A_DATE} '2026-11-02T10:00'."),
        ("since=2026-11-09&until=2026-11-02", "'since' (2026-11-09) is after 'until' (2026-11-02)"),
        ("until=9999-12-31", "'until' must be before 9999-12-31."),
        ("since=<script>x</script>", f"'since' {MUST_BE_A_DATE} '<script>x</script>'."),
    ],
    ids=["month-13", "words", "date-time", "reversed", "last-day", "script"],
)
def test_a_date_it_cannot_read_is_a_400_with_a_message(supervisor, query, message) -> None:
    page = supervisor.get(f"/reports?{query}")
    assert page.status_code == 400
    shown = re.findall(r'<p class="notice error" role="alert">(.*?)</p>', page.text)
    assert len(shown) == 1 and message in unescape(shown[0])
    assert "<svg" not in page.text and "<script>x" not in page.text  # shown escaped
    assert 'action="/reports"' in page.text  # the form is there to correct it
    download = supervisor.get(f"/reports/report.json?{query}")
    assert download.status_code == 400 and download.json() == {"error": unescape(shown[0])}


def test_the_widest_period_is_read_without_error(supervisor) -> None:
    page = supervisor.get("/reports?since=0001-01-01&until=9999-12-30")
    assert page.status_code == 200
    assert "<b>16</b><span>customer messages</span>" in _text(page.text)  # with c0's, before


def test_without_dates_it_shows_the_last_seven_days(supervisor) -> None:
    today = datetime.now(UTC).date()
    page = supervisor.get("/reports")
    assert page.status_code == 200
    first = (today - timedelta(days=6)).isoformat()
    assert f'name="since" value="{first}"' in page.text
    assert f'name="until" value="{today}"' in page.text
    assert "No traffic in this period" in page.text  # the sample is of 2026-11
    report = supervisor.get("/reports/report.json").json()
    assert report["period"]["since"] == f"{first}T00:00:00+00:00"
    assert report["period"]["until"] == f"{today + timedelta(days=1)}T00:00:00+00:00"


def test_the_channel_filter_changes_the_figures(supervisor) -> None:
    page = supervisor.get(f"/reports?{WEEK}&channel=telegram")
    assert page.status_code == 200
    html = _text(page.text)
    assert "(end excluded), conversations on the channel telegram only;" in html
    assert '<option value="telegram" selected>telegram</option>' in html
    # c3 and c4 only: t3 is rephrased by t4 (missed), t5 is followed by t6's hand-over.
    assert "<b>4</b><span>customer messages</span>" in html
    assert "<b>1</b> of 2 conversations contained (50.0 %)" in html
    assert "<b>2</b> of 3 answers missed (66.7 %)" in html
    assert "No data for this view: no conversation was rated in the period." in html
    assert "channel=telegram" in html  # the download link keeps the filter
    rest = supervisor.get(f"/reports/report.json?{WEEK}&channel=rest").json()
    assert rest["channel"] == "rest" and rest["channels"] == ["rest", "socketio", "telegram"]
    assert rest["volume"]["messages"] == 3 and rest["satisfaction"]["ratings"] == 1  # c8's 3
    nowhere = supervisor.get(f"/reports?{WEEK}&channel=fax")
    assert "No traffic in this period" in nowhere.text
    assert '<option value="fax" selected>fax</option>' in nowhere.text  # the choice stays


def test_customer_messages_and_the_query_are_escaped(supervisor) -> None:
    html = _text(supervisor.get(f"/reports?{WEEK}").text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; my card" in html  # SCRIPT, an example
    assert SCRIPT not in html
    assert re.findall(r"<script\b[^>]*>", html) == ['<script src="/static/console.js" defer>']
    hostile = supervisor.get(f"/reports?{WEEK}&channel=%3Cscript%3Ealert(2)%3C/script%3E").text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in hostile and "<script>alert" not in hostile


def test_the_download_is_the_report_json_of_the_same_filters(supervisor, sample_store) -> None:
    for query, channel in ((WEEK, None), (f"{WEEK}&channel=telegram", "telegram")):
        download = supervisor.get(f"/reports/report.json?{query}")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/json"
        assert download.headers["content-disposition"] == 'attachment; filename="report.json"'
        expected = build_report(sample_store.engine, SINCE, UNTIL, channel=channel)
        assert _comparable(download.json()) == _comparable(expected)


def test_the_report_is_built_off_the_event_loop(supervisor, monkeypatch) -> None:
    threads_with_a_loop: list[bool] = []
    build = report_pages._build

    def watched(*args: Any) -> dict[str, Any]:
        try:
            asyncio.get_running_loop()
            threads_with_a_loop.append(True)
        except RuntimeError:
            threads_with_a_loop.append(False)
        return build(*args)

    monkeypatch.setattr(report_pages, "_build", watched)
    assert supervisor.get(f"/reports?{WEEK}").status_code == 200
    assert supervisor.get(f"/reports/report.json?{WEEK}").status_code == 200
    assert threads_with_a_loop == [False, False]
