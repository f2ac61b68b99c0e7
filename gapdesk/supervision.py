"""Server processes: start, health, stop, and restarting the ones that die.

:mod:`gapdesk.supervisor` builds gapdesk's services (Rasa, the action server, the
console) and runs them with these pieces; the end-to-end tests run the same.

Each service starts in a process group of its own (``start_new_session``): Rasa and
rasa-sdk run on Sanic, whose worker child holds the port, and signalling only the main
process can leave that worker serving. Stopping a service, and cleaning up after its
main process died, signal the whole group and wait until none of it is left.

Linux only: process groups and port holders are read from /proc.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from gapdesk.errors import EngineError

logger = logging.getLogger(__name__)

# After SIGKILL the kernel ends a process at once; waiting longer means it is stuck in
# the kernel (uninterruptible I/O), which no signal can help.
KILL_WAIT_SECONDS = 5.0


@dataclass
class Service:
    """One server process: how to start it, where it answers its health check, and
    the address it binds (checked free before it starts; None: not checked)."""

    name: str
    command: list[str]
    health_url: str
    env: dict[str, str]
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    address: tuple[str, int] | None = None

    def start(self) -> None:
        """Start the process as the leader of a new process group."""
        if self.log_path is None:
            self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as output:  # the child keeps its own handle
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def healthy(self, timeout: float = 2.0) -> bool:
        """One health check: the service answers with anything but a server error."""
        try:
            return httpx.get(self.health_url, timeout=timeout).status_code < 500
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EngineError(f"{self.name} exited with {exit_status(self.process.returncode)}")
            if self.healthy():
                return
            time.sleep(0.5)
        raise EngineError(f"{self.name} did not become ready within {timeout:.0f} s")

    def stop(self, timeout: float = 15.0) -> None:
        """End the service's whole process group (SIGTERM, SIGKILL after ``timeout``);
        safe to call twice."""
        if self.process is not None:
            end_group(self.process, timeout)


def exit_status(returncode: int) -> str:
    """``Popen.returncode`` in words: "exit code 3", "signal SIGKILL"."""
    if returncode >= 0:
        return f"exit code {returncode}"
    with contextlib.suppress(ValueError):
        return f"signal {signal.Signals(-returncode).name}"
    return f"signal {-returncode}"


# -- process groups -------------------------------------------------------------------


def end_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """End ``process`` and what is left of its process group: SIGTERM to the group,
    then SIGKILL to it after ``timeout``; returns once none of them is alive."""
    for signum, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, KILL_WAIT_SECONDS)):
        if _group_ended(process):
            return
        # The group outlives its leader while members are left, so its id cannot have
        # been given to another process meanwhile.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        deadline = time.monotonic() + wait
        while not _group_ended(process) and time.monotonic() < deadline:
            time.sleep(0.05)
    if not _group_ended(process):
        logger.error(
            "process group %d outlived SIGKILL: pids %s", process.pid, group_members(process.pid)
        )


def _group_ended(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is not None and not group_members(process.pid)


def group_members(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``. Zombies do not count: an orphan's
    is reaped by init, which in a container may never happen."""
    return [p.pid for p in processes() if p.group == pgid and p.state not in ("Z", "X")]


@dataclass(frozen=True)
class ProcessInfo:
    """One process, as /proc/PID/stat shows it."""

    pid: int
    state: str  # R, S, Z (zombie), ...
    parent: int
    group: int
    cpu_seconds: float  # user + system, so far


def processes() -> list[ProcessInfo]:
    """Every process now (one that ends while /proc is read is left out)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = []
    for pid in _pids():
        try:
            # The command name (field 2) may hold anything: the fields start after ")".
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / ticks
            found.append(ProcessInfo(pid, fields[0], int(fields[1]), int(fields[2]), cpu))
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    return found


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


# -- ports ----------------------------------------------------------------------------


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens where a service would bind ``host:port``
    (with SO_REUSEADDR, as Sanic and uvicorn do: a closing connection does not count)."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror:
        return False  # the service will report the name itself
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def port_holder(port: int) -> str:
    """Who listens on TCP ``port``: "pid N: its command line"; another user's process
    when its sockets are not ours to see."""
    listening = _listening_sockets(port)
    for pid in _pids():
        if _socket_inodes(pid) & listening.keys():
            return f"pid {pid}: {_command_line(pid)}"
    uids = sorted(set(listening.values()))
    return "another user's process" + (f" (uid {uids[0]})" if uids else "")


def _listening_sockets(port: int) -> dict[int, int]:
    """The inode and owner's uid of each TCP socket listening on ``port``."""
    sockets = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()  # sl local remote state queues timer retr uid timeout inode
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    sockets[int(fields[9])] = int(fields[7])
    return sockets


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(OSError):  # another user's process, or ended meanwhile
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def _command_line(pid: int) -> str:
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "(command line not readable)"
    return " ".join(a.decode(errors="replace") for a in arguments if a)


def check_ports(services: list[Service]) -> None:
    """Refuse to start when a service's port is taken, naming who holds it, rather
    than let the service die later with "address already in use"."""
    busy = [
        f"\n  port {s.address[1]} ({s.name}) is already in use by {port_holder(s.address[1])}"
        for s in services
        if s.address and port_in_use(*s.address)
    ]
    if busy:
        raise EngineError(f"cannot start:{''.join(busy)}\nStop it, or choose another port.")


@contextmanager
def running(services: list[Service], timeout: float = 180.0) -> Iterator[list[Service]]:
    """Start every service, wait until each answers, and stop them all on exit."""
    check_ports(services)
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


# -- restarting -----------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """How long a service that died waits before its restart: ``first``, doubled at
    each death up to ``cap``; ``first`` again when it had been healthy for at least
    ``reset_after`` seconds (it was serving, not crash-looping)."""

    first: float = 1.0
    cap: float = 60.0
    reset_after: float = 60.0

    def next(self, previous: float, healthy_for: float) -> float:
        if previous <= 0 or healthy_for >= self.reset_after:
            return self.first
        return min(previous * 2, self.cap)


@dataclass
class ServiceState:
    """What a :class:`Supervisor` knows of one service (it writes, others read)."""

    restarts: int = 0
    delay: float = 0.0  # the wait before the last restart
    healthy_since: float | None = None  # None: not healthy since its last start
    restart_at: float | None = None  # set while it is dead: when it starts again


class Supervisor:
    """Watches services that :func:`running` started and restarts each one that dies,
    after a :class:`Backoff`, while the others keep serving. A service that keeps
    dying is retried for as long as the supervisor runs.

    ``check`` is one pass; ``run`` repeats it until an event is set (``gapdesk up``,
    on its main thread, so that a stop never comes half-way through a restart);
    ``start`` and ``stop`` do the same on a background thread (the end-to-end tests).
    ``before_restart`` may adjust a service before it starts again.
    """

    def __init__(
        self,
        services: list[Service],
        backoff: Backoff | None = None,
        poll_seconds: float = 0.5,
        stop_timeout: float = 15.0,
        before_restart: Callable[[Service], None] | None = None,
    ) -> None:
        self.services = services
        self.backoff = backoff or Backoff()
        self.poll_seconds, self.stop_timeout = poll_seconds, stop_timeout
        self._before_restart = before_restart
        started = time.monotonic()  # running() has seen every one of them healthy
        self._states = {s.name: ServiceState(healthy_since=started) for s in services}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def state(self, name: str) -> ServiceState:
        return self._states[name]

    def check(self) -> None:
        """Notice deaths, start the services whose wait is over, note the ones back."""
        for service in self.services:
            state = self._states[service.name]
            if state.restart_at is not None:
                if time.monotonic() >= state.restart_at:
                    self._restart(service, state)
            elif service.process is not None and service.process.poll() is not None:
                self._died(service, state, exit_status(service.process.returncode))
            elif state.healthy_since is None and service.healthy(timeout=1.0):
                state.healthy_since = time.monotonic()
                logger.info("%s is back (restarts so far: %d)", service.name, state.restarts)

    def run(self, until: threading.Event) -> None:
        while not until.wait(self.poll_seconds):
            try:
                self.check()
            except Exception:  # the watch must survive anything; the services serve on
                logger.exception("supervision check failed")

    def start(self) -> None:
        """Run on a background thread until :meth:`stop`."""
        self._thread = threading.Thread(
            target=self.run, args=(self._stopping,), name="supervisor", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (and restarting); the services themselves keep running."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def _died(self, service: Service, state: ServiceState, how: str) -> None:
        healthy_for = (
            time.monotonic() - state.healthy_since if state.healthy_since is not None else 0.0
        )
        if service.process is not None:  # e.g. the Sanic worker still holding the port
            end_group(service.process, self.stop_timeout)
        state.delay = self.backoff.next(state.delay, healthy_for)
        state.restart_at = time.monotonic() + state.delay
        state.healthy_since = None
        logger.error(
            "%s died (%s); restarting it in %g s (restarts so far: %d)",
            service.name, how, state.delay, state.restarts,
            extra={"service": service.name, "delay": state.delay},
        )  # fmt: skip

    def _restart(self, service: Service, state: ServiceState) -> None:
        state.restart_at = None
        if service.address and port_in_use(*service.address):  # it will die again: say why
            logger.error(
                "%s: port %d is held by %s",
                service.name, service.address[1], port_holder(service.address[1]),
            )  # fmt: skip
        if self._before_restart is not None:
            self._before_restart(service)
        try:
            service.start()
        except OSError as exc:  # e.g. its interpreter is gone: a death like any other
            self._died(service, state, f"could not start: {exc}")
            return
        state.restarts += 1
        pid = service.process.pid if service.process else None
        logger.warning("restarted %s (pid %s, restart %d)", service.name, pid, state.restarts)
