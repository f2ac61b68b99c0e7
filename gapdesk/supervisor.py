"""``gapdesk up``: start the Rasa server, the action server and the console; stop them
together.

Used by ``make run`` and by the end-to-end tests, so that what the tests start is
what users start.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import httpx

from gapdesk.engine import rasa as rasa_engine
from gapdesk.engine.channels import TELEGRAM, rasa_credentials, write_rasa_credentials
from gapdesk.engine.client import RasaClient
from gapdesk.engine.secrets import jwt_secret, telegram_secret_token, webhook_token
from gapdesk.errors import EngineError
from gapdesk.models_dir import current_models
from gapdesk.policy import intent_overrides
from gapdesk.settings import Settings
from gapmodel.errors import ConfigurationError, GapdeskError

if TYPE_CHECKING:
    from gapdesk.serving import RasaModelFollower

logger = logging.getLogger(__name__)


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    env: dict[str, str]
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.log_path is None:
            self.process = subprocess.Popen(self.command, env=self.env)
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as output:  # the child keeps its own handle
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EngineError(f"{self.name} exited with code {self.process.returncode}")
            try:
                if httpx.get(self.health_url, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise EngineError(f"{self.name} did not become ready within {timeout:.0f} s")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the process; safe to call twice."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (all bound at once, so never the same)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _port(url: str) -> int:
    return urlsplit(url).port or 80


def lock_store_env(redis_url: str, prefix: str = "gapdesk") -> dict[str, str]:
    """Variables for the lock_store section of bot/endpoints.yml.

    ``redis://[[user]:password@]host[:port][/db]``, or ``rediss://`` for TLS. Rasa reads
    every ``${VAR}`` of that section as a string, whatever the lock store type, so each
    variable is always set, and "no" is the empty string: redis-py sends no AUTH for an
    empty user and password, and ``ssl=""`` is false where ``"false"`` would be true.
    """
    if not redis_url:
        return {
            "GAPDESK_LOCK_STORE_TYPE": "in_memory",
            "GAPDESK_LOCK_STORE_HOST": "",
            "GAPDESK_LOCK_STORE_PORT": "0",
            "GAPDESK_LOCK_STORE_DB": "0",
            "GAPDESK_LOCK_STORE_USERNAME": "",
            "GAPDESK_LOCK_STORE_PASSWORD": "",
            "GAPDESK_LOCK_STORE_USE_SSL": "",
            "GAPDESK_LOCK_STORE_PREFIX": prefix,
        }
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss"):
        # The message leaves the URL out: it may carry the password.
        raise ConfigurationError(
            f"GAPDESK_LOCK_STORE_URL must start with redis:// or rediss://, not {parts.scheme!r}"
        )
    return {
        "GAPDESK_LOCK_STORE_TYPE": "redis",
        "GAPDESK_LOCK_STORE_HOST": parts.hostname or "127.0.0.1",
        "GAPDESK_LOCK_STORE_PORT": str(parts.port or 6379),
        "GAPDESK_LOCK_STORE_DB": parts.path.strip("/") or "1",
        # Percent-decoded, as redis-py's own from_url does: "p%40ss" is the password "p@ss".
        "GAPDESK_LOCK_STORE_USERNAME": unquote(parts.username or ""),
        "GAPDESK_LOCK_STORE_PASSWORD": unquote(parts.password or ""),
        "GAPDESK_LOCK_STORE_USE_SSL": "true" if parts.scheme == "rediss" else "",
        "GAPDESK_LOCK_STORE_PREFIX": prefix,
    }


def build_services(
    settings: Settings,
    log_dir: Path | None = None,
    rasa_model: Path | None = None,
    console: bool = True,
) -> list[Service]:
    """The action server, the Rasa server and (unless ``console=False``) the console,
    configured from ``settings``.

    Rasa runs the current trained model unless ``rasa_model`` names another one.
    """
    current = current_models(settings.models_path)
    if not current:
        raise EngineError("no trained bot: run `gapdesk train` (or `make run`)")
    if settings.intent_costs_file:  # a malformed file stops the start, with its reason
        intent_overrides(Path(settings.intent_costs_file))
    actions_url = f"http://127.0.0.1:{settings.action_server_port}"
    env = {**os.environ, **settings.as_environ()}
    env.update(
        {
            "GAPDESK_ACTION_ENDPOINT": f"{actions_url}/webhook",
            "GAPDESK_TRACKER_STORE_URL": settings.tracker_store_url,
            "GAPDESK_TRACKER_DIALECT": settings.tracker_store_url.split(":")[0].split("+")[0],
            "OMP_NUM_THREADS": "1",  # per-message inference: one thread is faster here
            "PYTHONUNBUFFERED": "1",
            # rasa-sdk listens on every interface unless told otherwise; its webhook has
            # no authentication, so only Rasa on this machine may reach it.
            "SANIC_HOST": "127.0.0.1",
        }
    )
    env.update(lock_store_env(settings.lock_store_url, settings.lock_store_prefix))
    from gapdesk.storage.store import make_sqlite_folder  # SQLAlchemy: only when starting

    make_sqlite_folder(settings.tracker_store_url)  # Rasa's own SQLite file
    actions = Service(
        "action server",
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
         "--port", str(settings.action_server_port)],
        f"{actions_url}/health",
        env,
        log_dir / "actions.log" if log_dir else None,
    )  # fmt: skip
    rasa_env = {
        **rasa_engine.rasa_env(),
        **{k: v for k, v in env.items() if k.startswith("GAPDESK_")},
    }
    rasa_env["OMP_NUM_THREADS"] = "1"
    # Secrets travel in the environment, which only this user can read; bot/serve.py
    # hands the JWT secret to Rasa, bot/channels.py checks the webhook token.
    rasa_env["GAPDESK_RASA_JWT_SECRET"] = jwt_secret(settings.rasa_jwt_secret, settings.var_path)
    rasa_env["GAPDESK_WEBHOOK_TOKEN"] = webhook_token(settings.webhook_token, settings.var_path)
    credentials = rasa_credentials(settings)
    if TELEGRAM in credentials:
        rasa_env["GAPDESK_TELEGRAM_SECRET_TOKEN"] = telegram_secret_token(
            settings.telegram_secret_token, settings.var_path
        )
    rasa = Service(
        "Rasa server",
        rasa_engine.rasa_command(
            [
                "run", "--enable-api",
                "--model", str(rasa_model or current["rasa_model"]),
                "--endpoints", "bot/endpoints.yml",
                "--credentials", str(write_rasa_credentials(credentials, settings.var_path)),
                "--port", str(_port(settings.rasa_url)),
                "--interface", urlsplit(settings.rasa_url).hostname or "127.0.0.1",
                # the widget page is served by the console: its origin may call Rasa
                "--cors", _origin(settings.console_url),
            ],
            module="bot.serve",
        ),
        settings.rasa_url + "/",
        rasa_env,
        log_dir / "rasa.log" if log_dir else None,
    )  # fmt: skip
    services = [actions, rasa]
    if console:
        services.append(
            Service(
                "console",
                [sys.executable, "-m", "console"],
                settings.console_url.rstrip("/") + "/health",
                env,
                log_dir / "console.log" if log_dir else None,
            )
        )
    return services


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@contextmanager
def running(services: list[Service], timeout: float = 180.0) -> Iterator[list[Service]]:
    """Start every service, wait until each answers, and stop them all on exit."""
    try:
        for service in services:
            service.start()
        for service in services:
            service.wait_healthy(timeout)
        yield services
    finally:
        # A second Ctrl-C must not interrupt the stopping and leave a server behind.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for service in reversed(services):
                service.stop()
        finally:
            signal.signal(signal.SIGINT, previous)


def _first_admin_hint(settings: Settings) -> str:
    """How to create the first console account, when there is none yet."""
    from gapdesk.accounts import list_users
    from gapdesk.storage.store import Store, make_engine

    try:
        if list_users(Store(make_engine(settings.database_url))):
            return ""
    except GapdeskError:
        return ""
    return (
        "  no console account yet: create the first admin with\n"
        "    .venv/bin/gapdesk users create --role admin --name 'Your Name' yourname\n"
    )


def _stop_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def follow_models(settings: Settings) -> RasaModelFollower:
    """Keep the Rasa server on the registry's current Rasa model (promotions and
    rollbacks reach it within ``GAPDESK_MODEL_POLL_SECONDS``, through Rasa's API)."""
    # SQLAlchemy: only when starting (the CLI's parser imports this module)
    from gapdesk.registry import Registry
    from gapdesk.serving import RasaModelFollower, rasa_model_file
    from gapdesk.storage.store import Store, make_engine

    registry = Registry(Store(make_engine(settings.database_url)), settings.models_path)
    started_with = Path(current_models(settings.models_path)["rasa_model"])
    return RasaModelFollower(
        RasaClient.from_settings(settings, timeout=300),  # a model takes a while to load
        started_with,
        lambda: rasa_model_file(registry),
        settings.model_poll_seconds,
    )


def up(settings: Settings) -> int:
    """Run in the foreground until Ctrl-C or a service dies."""
    services = build_services(settings)
    # Ctrl-C and `kill` both stop everything cleanly (set explicitly: a process started
    # in the background by a script inherits an ignored SIGINT).
    signal.signal(signal.SIGINT, _stop_signal)
    signal.signal(signal.SIGTERM, _stop_signal)
    follower = follow_models(settings)
    try:
        with running(services):
            if settings.model_poll_seconds > 0:
                follower.start()
            return _serve(settings, services, follower)
    except KeyboardInterrupt:
        print("\nstopped gapdesk.", flush=True)
        return 0
    finally:
        follower.stop()


def _serve(settings: Settings, services: list[Service], follower: RasaModelFollower) -> int:
    """Say where everything listens, then wait until Ctrl-C or a service dies; the
    follower stops before the services do (no model load sent to a stopping Rasa)."""
    try:
        print(
            "\ngapdesk is running:\n"
            f"  Rasa server     {settings.rasa_url}  (socket.io: /socket.io; REST: "
            "/webhooks/rest/webhook, with the token of GAPDESK_WEBHOOK_TOKEN or "
            "var/webhook_token)\n"
            f"  action server   http://127.0.0.1:{settings.action_server_port}\n"
            f"  web widget      {settings.console_url}/  (a demonstration page with the chat)\n"
            f"  console         {settings.console_url}/queue  (agents and supervisors)\n"
            "  chat in a terminal: .venv/bin/gapdesk chat\n"
            f"{_first_admin_hint(settings)}"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while all(s.process and s.process.poll() is None for s in services):
            time.sleep(1)
        dead = [s.name for s in services if s.process and s.process.poll() is not None]
        logger.error("%s stopped unexpectedly; stopping everything", ", ".join(dead))
        return 1
    finally:
        follower.stop()
