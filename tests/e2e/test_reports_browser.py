"""The reports page in headless Chromium: the console started as ``gapdesk up`` starts it
(``python -m console``), on the hand-made database of tests/gapdesk/reports/conftest.py.

The page needs no Rasa, so only the console runs. The screenshot is a test artefact:
test-artifacts/reports-page.png.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gapdesk.accounts import create_user
from gapdesk.settings import Settings
from gapdesk.storage.store import Store
from gapdesk.supervisor import Service, free_ports, running
from tests.e2e.conftest import BrowserPage
from tests.gapdesk.reports.conftest import sample_engine

pytestmark = pytest.mark.e2e

PASSWORD = "a long supervisor password"
WEEK = "since=2026-11-02&until=2026-11-08"  # the sample's week
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A console alone on a loopback port, its database the report sample with a
    supervisor (sam) and an agent (dana)."""
    work: Path = tmp_path_factory.mktemp("reports-console")
    console_port, rasa_port = free_ports(2)  # nothing listens on Rasa's: the page needs none
    settings = Settings(
        database_url=f"sqlite:///{work / 'gapdesk.db'}",
        console_url=f"http://127.0.0.1:{console_port}",
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        var_dir=str(work / "var"),
        models_dir=str(work / "models"),
    )
    engine = sample_engine(settings.database_url)
    store = Store(engine)
    create_user(store, "sam", PASSWORD, "supervisor", display_name="Sam")
    create_user(store, "dana", PASSWORD, "agent", display_name="Dana")
    engine.dispose()
    console = Service(
        "console",
        [sys.executable, "-m", "console"],
        settings.console_url + "/health",
        {**os.environ, **settings.as_environ(), "PYTHONUNBUFFERED": "1"},
        work / "console.log",
    )
    with running([console], timeout=60):
        yield settings.console_url


def sign_in(browser: BrowserPage, console_url: str, username: str) -> None:
    page = browser.page
    page.goto(console_url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue")


def test_a_supervisor_reads_the_reports_page(console_url: str, open_page) -> None:
    supervisor = open_page()
    sign_in(supervisor, console_url, "sam")
    page = supervisor.page
    page.click("nav >> text=Reports")  # the navigation leads there: the last seven days
    page.wait_for_url("**/reports")
    page.goto(f"{console_url}/reports?{WEEK}")
    charts = page.locator(".report svg")
    charts.first.wait_for(state="visible", timeout=WAIT_MS)
    assert charts.count() >= 4  # per day, per channel, satisfaction, reliability, ...
    for index in range(charts.count()):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
    assert page.locator(".report .card b").first.inner_text() == "15"  # customer messages
    assert page.get_by_text("&lt;script&gt;").count() == 0  # escaped once, shown as text
    assert page.get_by_text("<script>alert(1)</script> my card").count() >= 1
    supervisor.screenshot("reports-page")

    link = page.locator("a.download").get_attribute("href") or ""
    download = page.request.get(console_url + link)  # with the page's sign-in cookie
    assert download.status == 200 and download.json()["volume"]["messages"] == 15

    page.select_option("select[name=channel]", "telegram")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/reports?*channel=telegram*")
    page.get_by_text("conversations on the channel telegram only").wait_for(timeout=WAIT_MS)
    assert page.locator(".report .card b").first.inner_text() == "4"
    assert supervisor.foreign_requests == []


def test_an_agent_is_refused(console_url: str, open_page) -> None:
    agent = open_page()
    sign_in(agent, console_url, "dana")
    assert agent.page.locator("nav a[href='/reports']").count() == 0
    response = agent.page.goto(f"{console_url}/reports?{WEEK}")
    assert response is not None and response.status == 403
    assert agent.page.get_by_text("This needs the supervisor role.").is_visible()
    assert agent.page.locator("svg").count() == 0
    assert agent.foreign_requests == []
