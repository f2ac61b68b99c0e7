"""``gapdesk up``: start the Rasa server, the action server and the console, restart
the one that dies, stop them together.

Used by ``make run`` and by the end-to-end tests, so that what the tests start is
what users start. How processes are started, stopped and restarted is
:mod:`gapdesk.supervision`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from gapdesk.engine import rasa as rasa_engine
from gapdesk.engine.channels import TELEGRAM, rasa_credentials, write_rasa_credentials
from gapdesk.engine.client import RasaClient
from gapdesk.engine.secrets import jwt_secret, telegram_secret_token, webhook_token
from gapdesk.errors import EngineError
from gapdesk.models_dir import current_models
from gapdesk.policy import intent_overrides
from gapdesk.settings import Settings
from gapdesk.supervision import Service, Supervisor, exit_status, running
from gapmodel.errors import ConfigurationError, GapdeskError

if TYPE_CHECKING:
    from gapdesk.serving import RasaModelFollower

logger = logging.getLogger(__name__)


# The services, by the name `gapdesk up --service` takes.
ACTIONS, RASA, CONSOLE = "action server", "Rasa server", "console"
SERVICE_NAMES = {"actions": ACTIONS, "rasa": RASA, "console": CONSOLE}


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
        ACTIONS,
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
         "--port", str(settings.action_server_port)],
        f"{actions_url}/health",
        env,
        log_dir / "actions.log" if log_dir else None,
        address=("127.0.0.1", settings.action_server_port),
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
    rasa_host = urlsplit(settings.rasa_url).hostname or "127.0.0.1"
    rasa = Service(
        RASA,
        rasa_engine.rasa_command(
            [
                "run", "--enable-api",
                "--model", str(rasa_model or current["rasa_model"]),
                "--endpoints", "bot/endpoints.yml",
                "--credentials", str(write_rasa_credentials(credentials, settings.var_path)),
                "--port", str(_port(settings.rasa_url)),
                "--interface", rasa_host,
                # the widget page is served by the console: its origin may call Rasa
                "--cors", _origin(settings.console_url),
            ],
            module="bot.serve",
        ),
        settings.rasa_url + "/",
        rasa_env,
        log_dir / "rasa.log" if log_dir else None,
        address=(rasa_host, _port(settings.rasa_url)),
    )  # fmt: skip
    services = [actions, rasa]
    if console:
        console_address = urlsplit(settings.console_url)  # as console/__main__.py binds
        services.append(
            Service(
                CONSOLE,
                [sys.executable, "-m", "console"],
                settings.console_url.rstrip("/") + "/health",
                env,
                log_dir / "console.log" if log_dir else None,
                address=(console_address.hostname or "127.0.0.1", console_address.port or 8000),
            )
        )
    return services


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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


def follow_models(settings: Settings, rasa: Service) -> RasaModelFollower:
    """Keep the Rasa server ``rasa`` on the registry's current Rasa model (promotions
    and rollbacks reach it within ``GAPDESK_MODEL_POLL_SECONDS``, through its API)."""
    # SQLAlchemy: only when starting (the CLI's parser imports this module)
    from gapdesk.registry import Registry
    from gapdesk.serving import RasaModelFollower, rasa_model_file
    from gapdesk.storage.store import Store, make_engine

    registry = Registry(Store(make_engine(settings.database_url)), settings.models_path)
    started_with = Path(rasa.command[rasa.command.index("--model") + 1])
    client = RasaClient.from_settings(settings, timeout=300)  # a model takes a while to load
    if rasa.address is not None:  # this instance, not a load balancer: every one must load it
        client.base_url = f"http://{rasa.address[0]}:{rasa.address[1]}"
    return RasaModelFollower(
        client,
        started_with,
        lambda: rasa_model_file(registry),
        settings.model_poll_seconds,
    )


def up(settings: Settings) -> int:
    """Run every service in the foreground until Ctrl-C or ``kill``, restarting one that
    dies. With more than one Rasa instance or action server, behind HAProxy."""
    if settings.rasa_instances > 1 or settings.action_servers > 1:
        from gapdesk.balancer import scaled_services  # it builds on this module

        return _run(settings, scaled_services(settings), supervise=True)
    return _run(settings, build_services(settings), supervise=True)


def up_one(settings: Settings, service: str) -> int:
    """Run only ``service`` (a key of :data:`SERVICE_NAMES`) until it is stopped (0) or
    dies (1), for a supervisor of its own to restart it: systemd (deploy/systemd/)."""
    name = SERVICE_NAMES[service]
    services = [s for s in build_services(settings) if s.name == name]
    return _run(settings, services, supervise=False)


def _run(settings: Settings, services: list[Service], supervise: bool) -> int:
    """Start ``services``, serve until stopped, stop them; the exit code."""
    followers = {s.name: follow_models(settings, s) for s in services if s.name.startswith(RASA)}
    stopping = threading.Event()
    # While starting, a stop interrupts the wait for the services (set explicitly: a
    # process started in the background by a script inherits an ignored SIGINT).
    _on_stop_signals(_interrupt)
    try:
        with running(services):
            # From here the loop stops between its steps, never half-way through a restart.
            _on_stop_signals(lambda signum, frame: stopping.set())
            code = _serve(settings, services, followers, stopping, supervise)
    except KeyboardInterrupt:
        code = 0
    print("\nstopped gapdesk.", flush=True)
    return code


def _on_stop_signals(handler: Callable[[int, FrameType | None], None]) -> None:
    # SIGHUP too: services in groups of their own no longer get the terminal's hangup.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _serve(
    settings: Settings,
    services: list[Service],
    followers: dict[str, RasaModelFollower],
    stopping: threading.Event,
    supervise: bool,
) -> int:
    """Serve until ``stopping`` is set; the followers stop before the services do (no
    model load sent to a stopping Rasa)."""
    if settings.model_poll_seconds > 0:
        for follower in followers.values():
            follower.start()
    try:
        if not supervise:
            return _until_one_dies(services, stopping)
        print(_banner(settings), flush=True)
        Supervisor(services, before_restart=_serve_followed_model(followers)).run(stopping)
        return 0
    finally:
        for follower in followers.values():
            follower.stop()


def _until_one_dies(services: list[Service], stopping: threading.Event) -> int:
    """0 when ``stopping`` is set, 1 as soon as a service has died."""
    while not stopping.wait(1.0):
        for service in services:
            if service.process is not None and service.process.poll() is not None:
                status = exit_status(service.process.returncode)
                logger.error("%s died (%s); stopping", service.name, status)
                return 1
    return 0


def _serve_followed_model(followers: dict[str, RasaModelFollower]) -> Callable[[Service], None]:
    """A restarted Rasa loads the model it served before, which its follower knows;
    otherwise it would come back with the model ``gapdesk up`` started with, and the
    follower, believing it already serves the current one, would not correct it."""

    def before_restart(service: Service) -> None:
        follower = followers.get(service.name)
        if follower is not None and follower.path is not None:
            service.command[service.command.index("--model") + 1] = str(follower.path)

    return before_restart


def _banner(settings: Settings) -> str:
    return (
        "\ngapdesk is running:\n"
        f"  Rasa server     {settings.rasa_url}  (socket.io: /socket.io; REST: "
        "/webhooks/rest/webhook, with the token of GAPDESK_WEBHOOK_TOKEN or "
        "var/webhook_token)\n"
        f"  action server   http://127.0.0.1:{settings.action_server_port}\n"
        f"  web widget      {settings.console_url}/  (a demonstration page with the chat)\n"
        f"  console         {settings.console_url}/queue  (agents and supervisors)\n"
        "  chat in a terminal: .venv/bin/gapdesk chat\n"
        f"{_first_admin_hint(settings)}"
        "A service that dies is restarted. Press Ctrl-C to stop.\n"
    )
