"""The report page: self-contained, escaped, and saying in words what has no data."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from gapdesk.reports.build import build_report
from gapdesk.reports.render import render_html
from tests.gapdesk.reports.conftest import SINCE, UNTIL

EMPTY_VIEWS = 14  # every section of the page has its own "no data" sentence


def _page(engine: Engine, since: datetime = SINCE, until: datetime = UNTIL) -> str:
    """The page with its runs of white space as one space, as a browser shows it."""
    return " ".join(render_html(build_report(engine, since, until)).split())


@pytest.fixture
def sample_html(sample: Engine) -> str:
    return _page(sample)


@pytest.fixture
def empty_html(empty: Engine) -> str:
    return _page(empty)


@pytest.mark.parametrize("page", ["sample_html", "empty_html"])
def test_the_page_refers_to_nothing_outside_itself(page: str, request: pytest.FixtureRequest):
    html = request.getfixturevalue(page)
    assert not re.search(r"https?:|//[\w.-]+\.\w", html), "an address in the page"
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.I)
    assert "@import" not in html and "@font-face" not in html
    assert set(re.findall(r"url\(([^)]*)\)", html)) <= set(re.findall(r"url\((#[\w-]+)\)", html))
    assert set(re.findall(r'href="([^"]*)"', html)) == {
        h for h in re.findall(r'href="([^"]*)"', html) if h.startswith("#")
    }
    assert "default-src 'none'" in html  # the browser refuses any request anyway


def test_customer_messages_are_escaped(sample_html: str) -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt; my card" in sample_html
    assert "<script" not in sample_html.lower()


def test_the_sample_page_shows_its_figures_and_charts(sample_html: str) -> None:
    assert sample_html.count("<svg") == 4  # per day, per channel, satisfaction, reliability
    assert "<b>5</b> of 10 conversations contained (50.0 %)" in sample_html
    assert "Precision <b>50.0 %</b>: of 2 judged hand-overs, 1 a real gap" in sample_html
    assert "<b>5</b> of 11 answers missed (45.5 %)" in sample_html
    assert "ECE <b>0.550</b> on <b>3</b> labelled turns" in sample_html
    assert "No data for this view" not in sample_html


def test_every_view_of_an_empty_database_says_it_has_no_data(empty_html: str) -> None:
    assert "No traffic in this period" in empty_html
    sentences = re.findall(r'<p class="empty">(.*?)</p>', empty_html, re.S)
    assert len(sentences) == EMPTY_VIEWS
    assert all(s.startswith(("No data for this view", "No comparison")) for s in sentences)
    assert "<svg" not in empty_html  # no blank charts


def test_a_period_with_traffic_but_no_ratings_says_so(sample: Engine) -> None:
    day = datetime(2026, 11, 6, tzinfo=UTC)  # only t13, a hand-over nobody answered yet
    html = _page(sample, day, datetime(2026, 11, 7, tzinfo=UTC))
    assert "No data for this view: no conversation was rated in the period." in html
    assert "No precision: nobody judged a hand-over of the period yet." in html
    assert "1 still without an agent's reply." in html
