"""Faults under load: customers keep writing while a part of the bot fails.

Each test runs paced REST traffic on a background thread (``gapdesk.bench.load_traffic``),
breaks one thing a few seconds in, lets it recover, and then audits:

* every message that got HTTP 200 is in Rasa's tracker of its conversation, and every
  message that did not was refused loudly (a refused connection, a timeout or a 5xx);
* every turn ``action_gap_answer`` answered is in gapdesk's database exactly once
  (matched by Rasa's message id; a failed action, apologised for, has no turn);
* messages sent once the fault is over are answered again, without anyone's help.

The faults: SIGKILL of the action server, of Rasa and of the console (supervised as
``gapdesk up`` runs them); PostgreSQL restarted; Redis unreachable. What customers see
meanwhile is measured here and documented in docs/operations.md ("Faults"); run with
``-s`` to see the measured figures.

In the CI (``CI=true``: one test at a time) PostgreSQL is really restarted
(``pg_ctlcluster ... restart``, 2.4 s here), unless another client is connected to it.
Elsewhere, on a server other people's runs share (developers' machines, where tests run
side by side), the bot reaches PostgreSQL through a proxy that is cut for as long as a
restart takes instead, so as not to break their work. Redis is always made unreachable
with such a proxy: other users share that server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, make_url, select, text

from gapdesk.bench import load_audit
from gapdesk.bench.load_traffic import Sent, Traffic, run_traffic
from gapdesk.datasets import read_labelled
from gapdesk.engine.secrets import webhook_token
from gapdesk.errors import EngineError
from gapdesk.storage.models import Turn
from gapdesk.storage.scratch import scratch_database
from gapdesk.supervision import Service
from gapmodel.redaction import redact
from tests.conftest import POSTGRES_ADMIN_URL, REDIS_HOST, REDIS_PORT
from tests.e2e.conftest import ROOT, BotFactory, RunningBot
from tests.e2e.words import TECHNICAL_PROBLEM
from tests.services import require_service

pytestmark = pytest.mark.e2e

CONVERSATIONS = 10  # customers writing at once, each thinking between messages
RATE = 4.0  # messages per second, all of them together
FAULT_AT = 5.0  # seconds into the load
SETTLED = 3.0  # seconds after recovery from which every message must be answered
ACTIONS, RASA, CONSOLE = "action server", "Rasa server", "console"


# -- load ------------------------------------------------------------------------------


class Load:
    """Customers writing to ``bot`` on a background thread for ``seconds``."""

    def __init__(
        self, bot: RunningBot, texts: list[str], name: str, seconds: float, seed: int
    ) -> None:
        settings = bot.settings
        self.traffic = Traffic(
            f"{settings.rasa_url}/webhooks/rest/webhook",
            webhook_token(settings.webhook_token, settings.var_path),
            texts,
            seed=seed,
            prefix=f"fault-{name}-{uuid.uuid4().hex[:6]}",
        )
        self.seconds = seconds
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"load-{name}", daemon=True)
        self.started = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        try:
            run_traffic(self.traffic, CONVERSATIONS, self.seconds, RATE)
        except BaseException as exc:  # re-raised on the test's thread
            self._error = exc

    def at(self, offset: float) -> float:
        """Sleep until ``offset`` seconds into the load; returns time.monotonic()."""
        time.sleep(max(0.0, self.started + offset - time.monotonic()))
        return time.monotonic()

    def finish(self) -> list[Sent]:
        self._thread.join(self.seconds + 120)
        assert not self._thread.is_alive(), "the load did not end"
        if self._error is not None:
            raise self._error
        assert self.traffic.sent, "no message was sent"
        return sorted(self.traffic.sent, key=lambda message: message.started)


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition``; returns time.monotonic() when it first held."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return time.monotonic()


def _back_after_restart(
    bot: RunningBot, service: Service, restarts_before: int
) -> Callable[[], bool]:
    assert bot.supervisor is not None
    state = bot.supervisor.state(service.name)
    return lambda: state.restarts > restarts_before and service.healthy(timeout=1.0)


def _sigkill(service: Service) -> None:
    assert service.process is not None
    service.process.kill()  # SIGKILL to the group's leader, as `kill -9 <pid>`


# -- audit -----------------------------------------------------------------------------


@dataclass
class Audit:
    """What became of one load's messages: what customers saw, what Rasa's trackers
    and gapdesk's database kept."""

    sent: list[Sent]
    fault: float  # time.monotonic() of the fault
    seen: dict[int, str] = field(default_factory=dict)  # id(Sent) -> what the customer saw
    unstored: list[Sent] = field(default_factory=list)  # HTTP 200, but not in the tracker
    kept_refused: int = 0  # refused messages that Rasa kept all the same
    turns: dict[str, list[str]] = field(default_factory=dict)
    lost_turns: int = 0
    duplicated_turns: int = 0
    orphan_turns: int = 0  # turns of messages that no tracker holds

    @property
    def failed(self) -> list[Sent]:
        return [m for m in self.sent if not m.ok]

    def saw(self, what: str) -> list[Sent]:
        return [m for m in self.sent if self.seen[id(m)] == what]

    def after(self, moment: float) -> list[Sent]:
        return [m for m in self.sent if m.started >= moment]

    def window(self, messages: list[Sent]) -> str:
        if not messages:
            return ""
        starts = [m.started - self.fault for m in messages]
        return f" (sent {min(starts):+.1f} s to {max(starts):+.1f} s)"

    def summary(self, fault: str, recovery: str) -> str:
        refused = Counter(
            f"HTTP {m.status}" if m.status else m.error.split(":")[0] for m in self.failed
        )
        seen = ", ".join(
            f"{what} {len(self.saw(what))}{self.window(self.saw(what)) if what != ANSWER else ''}"
            for what in (ANSWER, APOLOGY_SEEN, SILENT, DROPPED, REFUSED)
        )
        return (
            f"\n[{fault}] {recovery}; {len(self.sent)} messages: {seen} {dict(refused)}; "
            f"latency max {max(m.latency_ms for m in self.sent) / 1000:.1f} s; "
            f"HTTP 200 not in the tracker {len(self.unstored)}; refused but kept "
            f"{self.kept_refused}; gap-scored turns {sum(map(len, self.turns.values()))}: "
            f"lost {self.lost_turns}, twice {self.duplicated_turns}, without a tracker "
            f"message {self.orphan_turns}"
        )


# What a customer saw: an answer, the apology, nothing (the message kept: a conversation
# handed over to a person is silent; or not kept: dropped), or a refusal (no HTTP 200).
ANSWER, APOLOGY_SEEN, REFUSED = "answer", "apology", "refused"
SILENT, DROPPED = "no reply, kept", "no reply, not kept"


def _seen(message: Sent) -> str:
    if not message.ok:
        return REFUSED
    if not message.replies:
        return SILENT  # until the tracker says otherwise
    return APOLOGY_SEEN if TECHNICAL_PROBLEM in message.replies else ANSWER


def audit(bot: RunningBot, sent: list[Sent], fault: float) -> Audit:
    result = Audit(sent, fault)
    by_conversation: dict[str, list[Sent]] = {}
    for message in sent:  # in the order they were sent
        result.seen[id(message)] = _seen(message)
        by_conversation.setdefault(message.conversation_id, []).append(message)
    known: set[str] = set()
    for conversation_id, messages in by_conversation.items():
        try:
            events = bot.client.tracker(conversation_id).get("events") or []
        except EngineError:
            events = []
        users = [e for e in events if e.get("event") == "user"]
        known.update(str(e.get("message_id")) for e in users)
        stored = Counter(redact(e.get("text")) for e in users)
        for message in sorted(messages, key=lambda m: not m.ok):  # the 200s claim first
            key = redact(message.text)
            if stored[key] > 0:
                stored[key] -= 1
                result.kept_refused += not message.ok
            elif message.ok:
                result.unstored.append(message)
                if result.seen[id(message)] == SILENT:
                    result.seen[id(message)] = DROPPED
        result.turns[conversation_id] = load_audit.gap_answered_message_ids(events)
    result.lost_turns, result.duplicated_turns = load_audit.turn_losses(bot.store, result.turns)
    with bot.store.engine.connect() as connection:
        recorded = connection.execute(
            select(Turn.message_id).where(
                Turn.conversation_id.in_(list(by_conversation)), Turn.kind == "bot"
            )
        ).scalars()
        result.orphan_turns = sum(1 for message_id in recorded if message_id not in known)
    return result


def assert_refusals_loud(result: Audit) -> None:
    """A message not answered 200 failed as a customer's client notices: no connection,
    no answer in time, or a server error."""
    quiet = [m for m in result.failed if 0 < m.status < 500]
    assert not quiet, f"refused with a client error: {quiet[:3]}"


def assert_turns_once(result: Audit) -> None:
    assert result.lost_turns == 0, f"{result.lost_turns} gap-scored turn(s) not in the database"
    assert result.duplicated_turns == 0, f"{result.duplicated_turns} turn(s) recorded twice"


def assert_all_kept(result: Audit) -> None:
    assert not result.unstored, (
        f"{len(result.unstored)} message(s) answered 200 but not in Rasa's tracker: "
        f"{[(m.conversation_id, m.text, result.seen[id(m)]) for m in result.unstored[:5]]}"
    )


def assert_answering_again(result: Audit, since: float) -> None:
    later = result.after(since + SETTLED)
    assert later, "no message was sent after the recovery: lengthen the load"
    wrong = [m for m in later if result.seen[id(m)] in (REFUSED, APOLOGY_SEEN, DROPPED)]
    assert not wrong, (
        f"{len(wrong)} of {len(later)} message(s) sent after the recovery were not answered: "
        f"{[(m.status, m.error, result.seen[id(m)]) for m in wrong[:3]]}"
    )


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [row.text for row in read_labelled(ROOT / "data/datasets/banking77/test.csv")]


@pytest.fixture(scope="module")
def supervised_bot(start_bot: BotFactory) -> Iterator[RunningBot]:
    """One supervised bot on SQLite for the three SIGKILLs."""
    bot = start_bot(supervised=True)
    yield bot
    bot.stop()


# -- SIGKILL of a service ----------------------------------------------------------------


def _kill_under_load(
    bot: RunningBot, texts: list[str], name: str, seconds: float, timeout: float
) -> tuple[Audit, float, float]:
    """SIGKILL service ``name`` ``FAULT_AT`` seconds into a load of ``seconds``; the
    audit, when it was killed and when it answered again (time.monotonic())."""
    assert bot.supervisor is not None
    service = bot.service(name)
    before = bot.supervisor.state(name).restarts
    load = Load(bot, texts, name.split()[0].lower(), seconds, seed=len(name))
    killed = load.at(FAULT_AT)
    _sigkill(service)
    back = _wait_for(_back_after_restart(bot, service, before), timeout, f"the {name}")
    sent = load.finish()
    result = audit(bot, sent, killed)
    print(result.summary(f"{name} SIGKILL", f"answering again after {back - killed:.1f} s"))
    return result, killed, back


def test_action_server_killed_under_load(supervised_bot: RunningBot, texts: list[str]) -> None:
    result, _, back = _kill_under_load(supervised_bot, texts, ACTIONS, seconds=25, timeout=90)
    assert not result.failed, "Rasa answers every message while the action server is down"
    assert result.saw(APOLOGY_SEEN), "customers written to meanwhile got the apology"
    assert not result.saw(DROPPED), "nobody was left without a reply"
    assert_turns_once(result)
    assert_all_kept(result)
    assert result.orphan_turns == 0
    assert_answering_again(result, back)


def test_console_killed_under_load(supervised_bot: RunningBot, texts: list[str]) -> None:
    result, _, _ = _kill_under_load(supervised_bot, texts, CONSOLE, seconds=15, timeout=90)
    assert not result.failed, "customers do not depend on the console"
    assert not result.saw(APOLOGY_SEEN)
    assert_turns_once(result)
    assert_all_kept(result)
    assert result.orphan_turns == 0


def test_rasa_killed_under_load(supervised_bot: RunningBot, texts: list[str]) -> None:
    """Rasa loads its model for tens of seconds after its restart: the load spans it."""
    seconds = 70
    result, killed, back = _kill_under_load(supervised_bot, texts, RASA, seconds, timeout=150)
    assert result.failed, "customers written to while Rasa was down were refused"
    assert_refusals_loud(result)
    assert_turns_once(result)
    assert_all_kept(result)
    if back + SETTLED < killed - FAULT_AT + seconds - 2:
        assert_answering_again(result, back)
    else:  # a slow machine: Rasa came back after the load, so ask it once more
        assert supervised_bot.say(f"fault-rasa-after-{uuid.uuid4().hex[:6]}", texts[0])


# -- the stores: PostgreSQL restarted, Redis unreachable --------------------------------


class CuttableProxy:
    """A TCP forwarder on loopback in front of ``target``, the bot's way to a server.

    ``cut`` ends every connection through it and stops listening, so that new ones are
    refused, as by a server that is down; ``mend`` listens again on the same port.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self.mend()

    def mend(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        listener.settimeout(0.2)
        self.port = listener.getsockname()[1]
        self._listening.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        self._listening.clear()
        time.sleep(0.3)  # the accepting thread closes the listener
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self._listening.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
                client.settimeout(None)
                upstream.settimeout(None)
                with self._lock:
                    self._connections |= {client, upstream}
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._connections.discard(source)
        source.close()


@dataclass
class PostgresServer:
    """The PostgreSQL server the tests use, and whether this test may restart it."""

    cluster: tuple[str, str] | None  # (version, name) for pg_ctlcluster; None: not here

    def others_connected(self, own_database: str) -> list[str]:
        """The databases of clients connected to other databases than the test's (other
        people's runs), one entry per connection."""
        admin = create_engine(POSTGRES_ADMIN_URL)
        try:
            with admin.connect() as connection:
                return list(
                    connection.execute(
                        text(
                            "SELECT datname FROM pg_stat_activity WHERE backend_type = "
                            "'client backend' AND pid <> pg_backend_pid() AND datname <> :own"
                        ),
                        {"own": own_database},
                    ).scalars()
                )
        finally:
            admin.dispose()

    def restart(self) -> None:
        assert self.cluster is not None
        version, name = self.cluster
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"],
            check=True,
            timeout=120,
            capture_output=True,
        )


def local_postgres_server() -> PostgresServer:
    """The local cluster behind POSTGRES_ADMIN_URL, in the CI and when this user may
    restart it."""
    url = make_url(POSTGRES_ADMIN_URL)
    if not os.environ.get("CI") or not shutil.which("pg_lsclusters"):
        return PostgresServer(None)
    if url.host not in ("127.0.0.1", "localhost"):
        return PostgresServer(None)
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        version, name, port, status, owner = line.split()[:5]
        if int(port) == (url.port or 5432) and status == "online":
            with suppress(KeyError):
                if os.geteuid() in (0, pwd.getpwnam(owner).pw_uid):
                    return PostgresServer((version, name))
    return PostgresServer(None)


@dataclass
class StoreBot:
    bot: RunningBot
    database: str  # the scratch database's name
    postgres: CuttableProxy
    redis: CuttableProxy


@pytest.fixture(scope="module")
def store_bot(start_bot: BotFactory) -> Iterator[StoreBot]:
    """A supervised bot on PostgreSQL (gapdesk's database and Rasa's trackers) with
    Rasa's locks in Redis, each reached through a proxy the tests can cut."""
    require_service("redis", REDIS_HOST, REDIS_PORT)
    admin = make_url(POSTGRES_ADMIN_URL)
    require_service("postgresql", admin.host or "127.0.0.1", admin.port or 5432)
    with scratch_database(POSTGRES_ADMIN_URL, "test") as url:
        server = make_url(url)
        postgres = CuttableProxy((server.host or "127.0.0.1", server.port or 5432))
        redis = CuttableProxy((REDIS_HOST, REDIS_PORT))
        through_proxy = server.set(host="127.0.0.1", port=postgres.port)
        proxied = through_proxy.render_as_string(hide_password=False)
        try:
            bot = start_bot(
                supervised=True,
                database_url=proxied,
                tracker_store_url=proxied,
                lock_store_url=f"redis://127.0.0.1:{redis.port}/1",
                lock_store_prefix=f"faults{uuid.uuid4().hex[:10]}",
            )
            try:
                yield StoreBot(bot, str(server.database), postgres, redis)
            finally:
                bot.stop()
                bot.store.engine.dispose()
        finally:
            postgres.close()
            redis.close()


POSTGRES_RESTART_SECONDS = 2.5  # a real restart under this load took 2.4 s here
REDIS_OUTAGE_SECONDS = 6.0


# Rasa 3.6 itself, not yet worked around in bot/: its REST channel answers 200 with the
# replies collected so far when handling a message raised (rasa/core/channels/rest.py,
# "rest.message.received.failure"), and its FailSafeTrackerStore serves a conversation
# from a fresh in-memory tracker when the tracker store fails, and keeps the turn there.
# The tests report such losses as expected failures (the rest of each test must pass),
# and pass as soon as they stop happening.
SILENT_DROP = (
    "known loss: Rasa's REST channel answered HTTP 200 for {n} message(s) it kept nowhere "
    "(the lock store or the tracker store failed; Rasa logs rest.message.received.failure "
    "or 'Falling back to use the InMemoryTrackerStore'): {examples}"
)


def xfail_if_dropped(result: Audit) -> None:
    if result.unstored:
        examples = [(m.conversation_id, m.text, result.seen[id(m)]) for m in result.unstored[:3]]
        pytest.xfail(SILENT_DROP.format(n=len(result.unstored), examples=examples))


def test_postgresql_restarted_under_load(store_bot: StoreBot, texts: list[str]) -> None:
    bot = store_bot.bot
    server = local_postgres_server()
    load = Load(bot, texts, "postgresql", seconds=30, seed=5432)
    at = load.at(FAULT_AT)
    if server.cluster is not None and not server.others_connected(store_bot.database):
        how = "restarted"
        server.restart()
    else:  # not the CI, or others are using it: the bot loses it all the same
        how = f"cut off by the proxy for {POSTGRES_RESTART_SECONDS:g} s"
        store_bot.postgres.cut()
        time.sleep(POSTGRES_RESTART_SECONDS)
        store_bot.postgres.mend()
    back = time.monotonic()
    sent = load.finish()

    result = audit(bot, sent, at)
    print(result.summary(f"PostgreSQL {how}", f"back after {back - at:.1f} s"))
    assert_refusals_loud(result)
    assert_turns_once(result)
    assert_answering_again(result, back)
    xfail_if_dropped(result)


def test_redis_unreachable_under_load(store_bot: StoreBot, texts: list[str]) -> None:
    bot = store_bot.bot
    load = Load(bot, texts, "redis", seconds=30, seed=6379)
    at = load.at(FAULT_AT)
    store_bot.redis.cut()
    back = load.at(FAULT_AT + REDIS_OUTAGE_SECONDS)
    store_bot.redis.mend()
    sent = load.finish()

    result = audit(bot, sent, at)
    print(result.summary("Redis unreachable", f"reachable again after {back - at:.1f} s"))
    assert_refusals_loud(result)
    assert_turns_once(result)
    assert_answering_again(result, back)
    xfail_if_dropped(result)
