"""Unit tests of gapdesk.supervisor and gapdesk.supervision: the lock store settings
handed to Rasa; stopping, restarting and port checks with small real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from gapdesk import supervision
from gapdesk.errors import EngineError
from gapdesk.supervision import (
    Backoff,
    Service,
    Supervisor,
    check_ports,
    group_members,
    port_holder,
    port_in_use,
    running,
)
from gapdesk.supervisor import RASA, _serve_followed_model, free_ports, lock_store_env
from gapmodel.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = ROOT / "bot" / "endpoints.yml"


def _lock_store_section(env: dict[str, str]) -> dict[str, str]:
    """bot/endpoints.yml's lock_store section with ``env`` filled in, as Rasa reads it:
    every ``${VAR}`` value becomes a string."""
    section = yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8"))["lock_store"]
    return {
        key: re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], str(value))
        for key, value in section.items()
    }


def test_no_url_means_in_memory_locks() -> None:
    env = lock_store_env("")
    assert env["GAPDESK_LOCK_STORE_TYPE"] == "in_memory"
    assert env["GAPDESK_LOCK_STORE_PASSWORD"] == ""


def test_a_plain_url_has_no_credentials_and_no_tls() -> None:
    env = lock_store_env("redis://cache.internal:6380/3")
    assert env["GAPDESK_LOCK_STORE_TYPE"] == "redis"
    assert env["GAPDESK_LOCK_STORE_HOST"] == "cache.internal"
    assert env["GAPDESK_LOCK_STORE_PORT"] == "6380"
    assert env["GAPDESK_LOCK_STORE_DB"] == "3"
    # Empty, not "None" or "false": Rasa passes the strings on, and only "" is falsy.
    assert env["GAPDESK_LOCK_STORE_USERNAME"] == ""
    assert env["GAPDESK_LOCK_STORE_PASSWORD"] == ""
    assert env["GAPDESK_LOCK_STORE_USE_SSL"] == ""


def test_the_password_of_the_url_is_passed_on() -> None:
    env = lock_store_env("redis://:secret@127.0.0.1:6379/1")
    assert env["GAPDESK_LOCK_STORE_PASSWORD"] == "secret"
    assert env["GAPDESK_LOCK_STORE_USERNAME"] == ""
    assert env["GAPDESK_LOCK_STORE_DB"] == "1"


def test_rediss_means_tls_and_credentials_are_percent_decoded() -> None:
    env = lock_store_env("rediss://locks:p%40ss%2Fw0rd@redis.example.com/2")
    assert env["GAPDESK_LOCK_STORE_USE_SSL"] == "true"
    assert env["GAPDESK_LOCK_STORE_USERNAME"] == "locks"
    assert env["GAPDESK_LOCK_STORE_PASSWORD"] == "p@ss/w0rd"
    assert env["GAPDESK_LOCK_STORE_PORT"] == "6379"


def test_another_scheme_is_refused_without_echoing_the_password() -> None:
    with pytest.raises(ConfigurationError, match="redis://") as raised:
        lock_store_env("http://:secret@127.0.0.1:6379/1")
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize("url", ["", "redis://:secret@127.0.0.1:6379/1"])
def test_every_variable_of_the_lock_store_section_is_set(url: str) -> None:
    # Rasa refuses to start on an unset ${VAR} anywhere in endpoints.yml, in-memory or not.
    env = lock_store_env(url)
    section = _lock_store_section(env)  # a KeyError names a variable left unset
    assert set(re.findall(r"\$\{(\w+)\}", ENDPOINTS.read_text(encoding="utf-8"))) >= set(env)
    if url:
        assert section["password"] == "secret"
        assert section["use_ssl"] == ""


_RASA_LOCK_CHECK = """
import json, os, sys
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import read_endpoint_config

results = {}
for name, env in json.loads(sys.argv[1]).items():
    os.environ.update(env)
    try:
        store = LockStore.create(read_endpoint_config(sys.argv[2], "lock_store"))
        store.issue_ticket("gapdesk-lock-check")
        store.delete_lock("gapdesk-lock-check")
        results[name] = "ok"
    except Exception as exc:
        results[name] = str(exc)
print(json.dumps(results))
"""


@pytest.mark.rasa_env
def test_rasa_reads_the_credentials_and_locks_in_redis(
    redis_available: None, rasa_python: Path
) -> None:
    """Rasa's own RedisLockStore, fed through bot/endpoints.yml, against the local Redis.

    The local server has no password, so a password reaching it is refused with
    Redis's "called without any password configured": proof it was sent.
    """
    prefix = f"gapdeskcheck{uuid.uuid4().hex[:8]}"  # alphanumeric, as Rasa requires
    cases = {
        "no_password": lock_store_env("redis://127.0.0.1:6379/1"),
        "password": lock_store_env("redis://:secret@127.0.0.1:6379/1"),
    }
    for env in cases.values():
        env["GAPDESK_LOCK_STORE_PREFIX"] = prefix
    other_endpoints = {  # the rest of endpoints.yml must expand too; never contacted
        "GAPDESK_ACTION_ENDPOINT": "http://127.0.0.1:9/webhook",
        "GAPDESK_TRACKER_DIALECT": "sqlite",
        "GAPDESK_TRACKER_STORE_URL": "sqlite:///unused.db",
    }
    completed = subprocess.run(
        [str(rasa_python), "-c", _RASA_LOCK_CHECK, json.dumps(cases), str(ENDPOINTS)],
        env={**os.environ, **other_endpoints},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert results["no_password"] == "ok"
    assert "without any password configured" in results["password"]


# -- processes --------------------------------------------------------------------------

# A small HTTP server, as a Sanic worker is: it holds the port and answers health checks.
SERVER = """
import http.server, signal, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

if sys.argv[2] == "ignore-sigterm":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
# A service's main process that forks the server and waits, as Sanic's manager does.
MAIN = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", *sys.argv[1:]])
time.sleep(3600)
"""


def _web_service(tmp_path: Path, server_mode: str = "plain") -> Service:
    [port] = free_ports(1)
    return Service(
        "web",
        [sys.executable, "-c", MAIN, SERVER, str(port), server_mode],
        f"http://127.0.0.1:{port}/",
        dict(os.environ),
        tmp_path / "web.log",
        address=("127.0.0.1", port),
    )


def _server_pid(service: Service) -> int:
    """The grandchild: the process of the service's group that is not its main one."""
    assert service.process is not None
    [server] = [pid for pid in group_members(service.process.pid) if pid != service.process.pid]
    return server


def _alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's zombie waits for init, which may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _wait_for(condition: Callable[[], bool], step: Callable[[], Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        step()


def test_stopping_a_service_ends_its_grandchild_and_frees_the_port(tmp_path: Path) -> None:
    service = _web_service(tmp_path)
    assert service.address is not None
    with running([service], timeout=30):
        server = _server_pid(service)
        assert port_in_use(*service.address)
    assert not _alive(server)
    assert not port_in_use(*service.address)


def test_a_group_that_ignores_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    service = _web_service(tmp_path, "ignore-sigterm")
    assert service.address is not None
    with running([service], timeout=30):
        server = _server_pid(service)
        started = time.monotonic()
        service.stop(timeout=0.5)
        assert time.monotonic() - started >= 0.5  # SIGTERM first, SIGKILL only then
        assert not _alive(server)
        assert not port_in_use(*service.address)


def _kill_and_see_it_restarted(supervisor: Supervisor, service: Service) -> float:
    """SIGKILL the service's main process, as from outside; the seconds until the
    supervisor started it again. The orphaned server must be gone by then."""
    state = supervisor.state(service.name)
    assert service.process is not None
    killed, orphan, restarts = service.process.pid, _server_pid(service), state.restarts
    os.kill(killed, signal.SIGKILL)  # the orphan keeps holding the port
    died = time.monotonic()
    _wait_for(lambda: state.restarts > restarts, supervisor.check, timeout=10)
    waited = time.monotonic() - died
    assert not _alive(orphan)
    assert service.process.pid != killed
    _wait_for(lambda: state.healthy_since is not None, supervisor.check, timeout=30)
    return waited


def test_a_killed_service_is_restarted_with_growing_delays_and_its_orphan_ended(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = _web_service(tmp_path)
    backoff = Backoff(first=0.2, cap=0.4, reset_after=60)
    with running([service], timeout=30):
        supervisor = Supervisor([service], backoff, poll_seconds=0.02, stop_timeout=2)
        waits = [_kill_and_see_it_restarted(supervisor, service) for _ in range(3)]
        assert supervisor.state("web").restarts == 3
    assert all(waited >= delay for waited, delay in zip(waits, (0.2, 0.4, 0.4), strict=True))
    deaths = [r for r in caplog.records if getattr(r, "service", None) == "web"]
    assert [r.delay for r in deaths] == [0.2, 0.4, 0.4]  # type: ignore[attr-defined]
    assert "web died (signal SIGKILL)" in deaths[0].getMessage()
    assert "restarts so far: 2" in deaths[-1].getMessage()


@pytest.fixture
def crashing_service(tmp_path: Path) -> Iterator[Service]:
    """A service whose every start dies at once, with exit code 3."""
    [port] = free_ports(1)
    service = Service(
        "crasher",
        [sys.executable, "-c", "import sys; sys.exit(3)"],
        f"http://127.0.0.1:{port}/",
        dict(os.environ),
        tmp_path / "crasher.log",
    )
    service.start()
    yield service
    service.stop(timeout=1)


def test_a_service_that_keeps_dying_is_retried_with_capped_delays(
    crashing_service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = Supervisor(
        [crashing_service], Backoff(first=0.01, cap=0.04, reset_after=60), poll_seconds=0.005
    )
    supervisor.start()
    try:
        _wait_for(lambda: supervisor.state("crasher").restarts >= 6, lambda: time.sleep(0.01), 30)
    finally:
        supervisor.stop()
    deaths = [r for r in caplog.records if getattr(r, "service", None) == "crasher"]
    assert [r.delay for r in deaths[:6]] == [0.01, 0.02, 0.04, 0.04, 0.04, 0.04]  # type: ignore[attr-defined]
    assert "crasher died (exit code 3)" in deaths[0].getMessage()
    assert "restarts so far: 5" in deaths[5].getMessage()


def test_the_delay_starts_again_after_a_healthy_while() -> None:
    backoff = Backoff(first=1, cap=60, reset_after=120)
    assert backoff.next(0, healthy_for=0) == 1
    assert backoff.next(8, healthy_for=5) == 16
    assert backoff.next(32, healthy_for=5) == 60
    assert backoff.next(60, healthy_for=120) == 1


def test_a_restarted_rasa_serves_the_model_the_follower_last_served() -> None:
    follower = SimpleNamespace(path=Path("bot-promoted.tar.gz"))
    rasa = Service(RASA, ["rasa", "run", "--model", "bot-first.tar.gz", "--port", "5005"], "", {})
    other = Service("action server", ["rasa_sdk", "--model", "kept"], "", {})
    before_restart = _serve_followed_model({RASA: follower})  # type: ignore[dict-item]
    before_restart(rasa)
    before_restart(other)
    assert rasa.command == ["rasa", "run", "--model", "bot-promoted.tar.gz", "--port", "5005"]
    assert other.command == ["rasa_sdk", "--model", "kept"]


# -- ports ------------------------------------------------------------------------------


@pytest.fixture
def held_port(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A port that another process listens on."""
    [port] = free_ports(1)
    holder = subprocess.Popen([sys.executable, "-c", SERVER, str(port), "plain"])
    try:
        _wait_for(lambda: port_in_use("127.0.0.1", port), lambda: time.sleep(0.05), 30)
        yield port, holder
    finally:
        holder.kill()
        holder.wait()


def test_the_holder_of_a_port_is_named_with_its_pid_and_command(
    held_port: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, holder = held_port
    assert port_holder(port).startswith(f"pid {holder.pid}: {sys.executable} -c ")
    assert "http.server" in port_holder(port)


def test_a_busy_port_stops_the_start_before_any_service_starts(
    held_port: tuple[int, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port, holder = held_port
    service = Service(
        "action server", [sys.executable, "-c", "pass"], f"http://127.0.0.1:{port}/health",
        dict(os.environ), address=("127.0.0.1", port),
    )  # fmt: skip
    with pytest.raises(EngineError) as raised, running([service], timeout=5):
        pass
    assert f"port {port} (action server) is already in use by pid {holder.pid}: " in str(
        raised.value
    )
    assert service.process is None


def test_a_holder_whose_sockets_cannot_be_read_is_another_users(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(supervision, "_socket_inodes", lambda pid: set())  # as for root's
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_holder(port) == f"another user's process (uid {os.getuid()})"
        with pytest.raises(EngineError, match="another user's process"):
            check_ports([Service("console", [], "", {}, address=("127.0.0.1", port))])
