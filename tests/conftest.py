"""Shared fixtures: real databases for storage tests, and service detection.

PostgreSQL and Redis tests run against the servers on 127.0.0.1. Each test gets its
own database (or key prefix) and removes it afterwards. Where a server is not
reachable (a laptop without it) those tests are skipped and the run says so in one
line; in CI (CI=true) an unreachable server is an error instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from gapdesk.storage.scratch import scratch_database
from tests.services import leave_out, left_out, require_service

POSTGRES_ADMIN_URL = os.environ.get(
    "GAPDESK_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if left_out:
        services = "; ".join(f"{name} ({why})" for name, why in sorted(left_out.items()))
        terminalreporter.write_line(f"service tests left out: {services}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    server = make_url(POSTGRES_ADMIN_URL)
    require_service("postgresql", server.host or "127.0.0.1", server.port or 5432)
    with scratch_database(POSTGRES_ADMIN_URL, "test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """Each storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gapdesk.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that runs Rasa's code must say so: `make check` runs before .venv-rasa
    exists, and leaves out only the tests marked rasa_env or e2e."""
    unmarked = [
        item.nodeid
        for item in items
        if "rasa_python" in getattr(item, "fixturenames", ())
        and not {"rasa_env", "e2e"} & {marker.name for marker in item.iter_markers()}
    ]
    if unmarked:
        raise pytest.UsageError(f"mark these rasa_env (they need .venv-rasa): {unmarked}")


@pytest.fixture
def rasa_python() -> Path:
    """Rasa's own interpreter (.venv-rasa), for tests that run Rasa's code."""
    python = Path(__file__).resolve().parents[1] / ".venv-rasa" / "bin" / "python"
    if not python.exists():
        leave_out("rasa environment", f"{python} not found (`make install` builds it)")
    return python


@pytest.fixture
def redis_available() -> None:
    require_service("redis", REDIS_HOST, REDIS_PORT)
