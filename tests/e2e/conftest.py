"""End-to-end fixtures: the real Rasa server and action server on loopback ports.

They run the trained bank bot (``make test`` trains it first) exactly as
``gapdesk up`` starts it, each bot with its own database, tracker store and ports.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from gapdesk.demo.bank import DemoBank
from gapdesk.engine.client import RasaClient
from gapdesk.models_dir import current_models
from gapdesk.settings import Settings
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.store import Store, make_engine
from gapdesk.supervision import Supervisor
from gapdesk.supervisor import Service, build_services, free_ports, running
from tests.services import leave_out

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


@dataclass
class RunningBot:
    settings: Settings
    client: RasaClient
    store: Store
    services: list[Service]
    log_dir: Path
    context: Any
    supervisor: Supervisor | None = None  # restarts a service that dies (supervised=True)

    def stop(self) -> None:
        if self.supervisor is not None:  # no restart while the services stop
            self.supervisor.stop()
        self.context.__exit__(None, None, None)

    def say(self, conversation_id: str, text: str) -> list[dict[str, Any]]:
        return self.client.say(conversation_id, text)

    def conversation(self, conversation_id: str, turns: int, timeout: float = 10.0) -> dict:
        """The stored conversation once it has ``turns`` turns (the recorder is async)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.store.conversation(conversation_id)
            if found and len(found["turns"]) >= turns:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{conversation_id}: expected {turns} turns, found {found}")
            time.sleep(0.2)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)


BotFactory = Callable[..., RunningBot]


class QuietHandler(BaseHTTPRequestHandler):
    """A stand-in service's request handler that keeps the test output clean."""

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def stand_in_service(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` serving on a free loopback port, as a provider's or a business's own
    service would; yields its base URL."""
    [port] = free_ports(1)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()  # the listening socket too


@pytest.fixture(scope="session")
def trained_models() -> dict[str, str]:
    current = current_models(ROOT / "models")
    if not current:
        pytest.fail("no trained bot in models/: run `make test` (or `gapdesk train`) first")
    return current


@pytest.fixture(scope="session")
def start_bot(
    trained_models: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotFactory]:
    """Start a bot with the given setting overrides; everything stops at session end.

    ``prepare_database=False`` leaves the database alone (for an unreachable one);
    ``supervised=True`` restarts a service that dies, as ``gapdesk up`` does, on a
    background thread until the bot stops.
    """
    bots: list[RunningBot] = []

    def start(
        prepare_database: bool = True, supervised: bool = False, **overrides: Any
    ) -> RunningBot:
        work = tmp_path_factory.mktemp("bot")
        rasa_port, actions_port, console_port = free_ports(3)
        settings = Settings(
            database_url=f"sqlite:///{work / 'gapdesk.db'}",
            tracker_store_url=f"sqlite:///{work / 'trackers.db'}",
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            action_server_port=actions_port,
            console_url=f"http://127.0.0.1:{console_port}",
            models_dir=str(ROOT / "models"),
            var_dir=str(work / "var"),
        )
        settings = replace(settings, **overrides)
        if prepare_database:
            upgrade(settings.database_url)
            DemoBank(make_engine(settings.database_url)).seed()
        services = build_services(settings, log_dir=work / "logs")
        context = running(services, timeout=240)
        context.__enter__()
        bot = RunningBot(
            settings,
            RasaClient.from_settings(settings),
            Store(make_engine(settings.database_url)),
            services,
            work / "logs",
            context,
            Supervisor(services) if supervised else None,
        )
        bots.append(bot)
        if bot.supervisor is not None:
            bot.supervisor.start()
        return bot

    yield start
    for bot in reversed(bots):
        bot.stop()


@pytest.fixture(scope="session")
def bot(start_bot: BotFactory) -> RunningBot:
    """The bank bot on SQLite, shared by the tests that only talk to it."""
    return start_bot()


@pytest.fixture
def conversation_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


# -- browsers -------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (`make test` installs it)
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium driven by Playwright (never `playwright install`: GUIDE).

    Module-scoped: while Playwright's synchronous API runs, its event loop occupies the
    thread, and later tests that call asyncio.run() must not find it there.
    """
    if not CHROMIUM.exists():
        leave_out("browser", f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass
class BrowserPage:
    """A page in its own browser context that notes every request leaving loopback."""

    page: Any
    foreign_requests: list[str]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Callable[..., BrowserPage]]:
    contexts = []

    def open_(viewport: tuple[int, int] = (1280, 900)) -> BrowserPage:
        context = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        foreign: list[str] = []

        def guard(route: Any) -> None:
            host = urlsplit(route.request.url).hostname
            if route.request.url.startswith("data:") or host in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                foreign.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        # WebSockets bypass routing: check where socket.io connects, too.
        page.on(
            "websocket",
            lambda socket: (
                None
                if urlsplit(socket.url).hostname in ("127.0.0.1", "localhost")
                else foreign.append(socket.url)
            ),
        )
        return BrowserPage(page, foreign)

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def wait_for_rows(bot: RunningBot) -> Callable[..., list[Any]]:
    """Poll the bot's database until ``query(session)`` returns rows (the recorder is async)."""

    def wait(query: Callable[[Any], Any], timeout: float = 15.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            with bot.store.session() as session:
                rows = list(query(session))
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.2)

    return wait
