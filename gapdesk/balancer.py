"""Scale-out: several Rasa instances and action servers behind HAProxy.

One command starts, on one host, what a production deployment runs on several:

* ``rasa_instances`` Rasa servers and ``action_servers`` action servers, each on its own
  loopback port, sharing gapdesk's database and Rasa's tracker store (PostgreSQL) and
  Rasa's Redis lock store, so that two instances never process one conversation at once;
* HAProxy (Debian's package) in front of both: customers and the console reach Rasa at
  ``GAPDESK_RASA_URL``; every Rasa reaches "the action server" at
  ``http://127.0.0.1:GAPDESK_ACTION_SERVER_PORT``, which HAProxy spreads over them.

HAProxy checks each server's health every second and stops sending to one that fails
two checks. A request whose connection was refused is tried on another server; one
that reached a server is never sent twice (a customer message would be answered twice).
The socket.io widget keeps to one Rasa per customer address: its long-polling transport
must reach the server that holds its session.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from gapdesk.errors import EngineError
from gapdesk.settings import Settings
from gapdesk.supervisor import Service, build_services, free_ports
from gapmodel.errors import ConfigurationError

HAPROXY = "haproxy"


@dataclass(frozen=True)
class Backend:
    """One server HAProxy sends to."""

    name: str
    port: int


def haproxy_config(
    rasa_port: int, actions_port: int, rasa: list[Backend], actions: list[Backend]
) -> str:
    """HAProxy's configuration: a Rasa frontend and an action-server frontend."""

    def servers(backends: list[Backend], check: str) -> str:
        lines = [f"    option httpchk GET {check}", "    http-check expect status 200"]
        lines += [
            f"    server {b.name} 127.0.0.1:{b.port} check inter 1s fall 2 rise 2" for b in backends
        ]
        return "\n".join(lines)

    return f"""# Written by gapdesk at every start (gapdesk/balancer.py): edit the settings instead.
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout tunnel 1h
    # Only a refused connection is retried elsewhere: a request a server received may
    # have changed a conversation, and must not be replayed.
    retries 2
    retry-on conn-failure
    option redispatch

frontend rasa
    bind 127.0.0.1:{rasa_port}
    use_backend rasa_by_address if {{ path_beg /socket.io }}
    default_backend rasa

backend rasa
    balance roundrobin
{servers(rasa, "/")}

backend rasa_by_address
    balance source
    hash-type consistent
{servers(rasa, "/")}

frontend actions
    bind 127.0.0.1:{actions_port}
    default_backend actions

backend actions
    balance roundrobin
{servers(actions, "/health")}
"""


def haproxy_binary() -> str:
    found = shutil.which(HAPROXY) or shutil.which(HAPROXY, path="/usr/sbin:/sbin")
    if not found:
        raise EngineError("HAProxy is not installed: apt-get install haproxy (or make balancer)")
    return found


def check_scale_out(settings: Settings) -> None:
    """Refuse a scale-out whose stores cannot be shared safely."""
    if settings.rasa_instances > 1 and not settings.lock_store_url:
        raise ConfigurationError(
            "several Rasa instances need GAPDESK_LOCK_STORE_URL (Redis): without it two "
            "instances may process the same conversation at once"
        )
    for name in ("database_url", "tracker_store_url"):
        if getattr(settings, name).startswith("sqlite"):
            raise ConfigurationError(
                f"several instances need a database server: set GAPDESK_{name.upper()} to "
                "a postgresql:// URL (SQLite is one process's file)"
            )


def _moved(service: Service, name: str, port: int, log_path: Path | None) -> Service:
    """A copy of ``service`` named ``name``, listening on loopback ``port`` (behind
    HAProxy), logging to ``log_path``."""
    command = list(service.command)
    command[command.index("--port") + 1] = str(port)
    if "--interface" in command:  # Rasa: only HAProxy reaches an instance
        command[command.index("--interface") + 1] = "127.0.0.1"
    return replace(
        service,
        name=name,
        command=command,
        health_url=f"http://127.0.0.1:{port}{urlsplit(service.health_url).path}",
        env=dict(service.env),
        log_path=log_path,
        address=("127.0.0.1", port),
        process=None,
    )


def scaled_services(
    settings: Settings, log_dir: Path | None = None, console: bool = True
) -> list[Service]:
    """Every process of a scaled-out bot: action servers, Rasa instances, the console
    (unless ``console=False``), then HAProxy. Each Rasa instance calls the action
    servers through HAProxy."""
    check_scale_out(settings)
    internal = free_ports(settings.rasa_instances + settings.action_servers)
    rasa_ports, action_ports = (
        internal[: settings.rasa_instances],
        internal[settings.rasa_instances :],
    )
    public_rasa = urlsplit(settings.rasa_url)
    actions, rasa, *rest = build_services(settings, log_dir, console=console)
    # Every Rasa calls "the action server" at HAProxy's port, as configured; an agent's
    # reply reaches a widget customer whichever instance it was sent to.
    rasa.env["GAPDESK_SOCKETIO_REDIS_URL"] = settings.lock_store_url
    rasa.env["GAPDESK_SOCKETIO_CHANNEL"] = f"{settings.lock_store_prefix}-socketio"
    services = [
        _moved(actions, f"{actions.name} {n}", port, log_dir and log_dir / f"actions-{n}.log")
        for n, port in enumerate(action_ports, start=1)
    ]
    services += [
        _moved(rasa, f"{rasa.name} {n}", port, log_dir and log_dir / f"rasa-{n}.log")
        for n, port in enumerate(rasa_ports, start=1)
    ]
    services += rest  # the console, which reaches Rasa through HAProxy
    config = haproxy_config(
        public_rasa.port or 80,
        settings.action_server_port,
        [Backend(f"rasa{i + 1}", p) for i, p in enumerate(rasa_ports)],
        [Backend(f"actions{i + 1}", p) for i, p in enumerate(action_ports)],
    )
    config_path = settings.var_path / "haproxy.cfg"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config, encoding="utf-8")
    services.append(
        Service(
            "HAProxy",
            [haproxy_binary(), "-db", "-f", str(config_path)],
            settings.rasa_url + "/",
            {},
            log_dir / "haproxy.log" if log_dir else None,
            address=(public_rasa.hostname or "127.0.0.1", public_rasa.port or 80),
        )
    )
    return services
