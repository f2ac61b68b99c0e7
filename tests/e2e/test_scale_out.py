"""Scale-out on real engines: two Rasa instances and two action servers behind HAProxy,
both stores in PostgreSQL, Rasa's locks in Redis, fifty customers at once."""

from __future__ import annotations

import concurrent.futures
import shutil
import time
import uuid
from pathlib import Path

import pytest

from gapdesk.balancer import scaled_services
from gapdesk.bench import load_audit
from gapdesk.bench.load_traffic import Traffic, run_traffic
from gapdesk.bench.socketio_client import PollingSocket
from gapdesk.bench.stacks import tree_cpu_seconds
from gapdesk.datasets import read_labelled
from gapdesk.demo.bank import DemoBank
from gapdesk.engine.client import RasaClient
from gapdesk.engine.secrets import webhook_token
from gapdesk.settings import Settings
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.store import Store, make_engine
from gapdesk.supervisor import free_ports, running
from tests.e2e.conftest import ROOT
from tests.services import leave_out

pytestmark = pytest.mark.e2e

CUSTOMERS = 50
SECONDS = 40.0


def _in_turn_order(events: list[dict]) -> bool:
    """Each customer message's actions end with listening (or a hand-over, after which
    messages are only stored) before the next message: what one conversation processed
    twice at once would break."""
    listening, paused = True, False
    for event in events:
        kind = event.get("event")
        if kind == "user" and not paused:
            if not listening:
                return False
            listening = False
        elif kind in ("pause", "resume"):
            paused, listening = kind == "pause", True
        elif kind == "action" and event.get("name") == "action_listen":
            listening = True
    return True


def _outline(events: list[dict]) -> str:
    return " ".join(str(e.get("name") or e.get("event")) for e in events)


@pytest.fixture
def haproxy() -> None:
    if not (shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()):
        leave_out("haproxy", "HAProxy is not installed (apt-get install haproxy; make test does)")


def test_two_instances_behind_haproxy_lose_nothing_and_keep_each_conversation_in_order(
    trained_models: dict[str, str],
    postgres_url: str,
    redis_available: None,
    haproxy: None,
    tmp_path: Path,
) -> None:
    rasa_port, actions_port = free_ports(2)
    settings = Settings(
        database_url=postgres_url,
        tracker_store_url=postgres_url,
        lock_store_url="redis://127.0.0.1:6379/1",
        lock_store_prefix=f"e2e{uuid.uuid4().hex[:10]}",
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_server_port=actions_port,
        models_dir=str(ROOT / "models"),
        var_dir=str(tmp_path / "var"),
        model_poll_seconds=0,
        rasa_instances=2,
        action_servers=2,
    )
    upgrade(settings.database_url)
    DemoBank(make_engine(settings.database_url)).seed()
    services = scaled_services(settings, tmp_path / "logs", console=False)
    rasa_servers = [s for s in services if s.name.startswith("Rasa server")]
    action_servers = [s for s in services if s.name.startswith("action server")]
    with running(services, timeout=300):
        busy_before = {
            s.name: tree_cpu_seconds(s.process.pid) for s in rasa_servers + action_servers
        }
        token = webhook_token(settings.webhook_token, settings.var_path)
        texts = [row.text for row in read_labelled(ROOT / "data/datasets/banking77/test.csv")]
        traffic = Traffic(
            f"{settings.rasa_url}/webhooks/rest/webhook", token, texts, prefix="scale"
        )
        sent = run_traffic(traffic, CUSTOMERS, SECONDS, rate=None)

        # The same conversation written to from several places at once: the requests
        # go to both instances, and Redis's lock must make them wait for each other.
        client = RasaClient.from_settings(settings)
        at_once = [f"scale-burst-{n}" for n in range(10)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda c: client.say(c, texts[0]), at_once * 3))
        busy = {
            s.name: tree_cpu_seconds(s.process.pid) - busy_before[s.name]
            for s in rasa_servers + action_servers
        }

        assert sent and all(message.ok for message in sent), {m.error for m in sent if not m.ok}
        trackers = load_audit.read_trackers(client, sent)
        assert trackers.lost_messages == 0
        for conversation_id in at_once:
            events = client.tracker(conversation_id)["events"]
            assert sum(e.get("event") == "user" for e in events) == 3
            assert _in_turn_order(events), _outline(events)
        for conversation_id in {message.conversation_id for message in sent}:
            events = client.tracker(conversation_id)["events"]
            assert _in_turn_order(events), _outline(events)
        store = Store(make_engine(settings.database_url))
        lost, duplicated = load_audit.turn_losses(store, trackers.gap_turns)
        assert (lost, duplicated) == (0, 0)
        # Every instance and every action server took its share of the work.
        assert all(seconds > 1.0 for seconds in busy.values()), busy
        _agents_replies_reach_a_widget_customer_through_any_instance(settings, client)


def _agents_replies_reach_a_widget_customer_through_any_instance(
    settings: Settings, client: RasaClient
) -> None:
    """The customer's socket is held by one instance; agents' replies are sent round
    robin to both, and every one must arrive (through Redis, bot/widget_channel.py)."""
    socket = PollingSocket(settings.rasa_url)
    try:
        socket.emit("session_request", {"session_id": None})
        confirmed = socket.wait_for("session_confirm", timeout=30)
        assert confirmed is not None
        session_id = str(confirmed[1])
        socket.emit("user_uttered", {"message": "I want a person", "session_id": session_id})
        assert socket.wait_for("bot_uttered", timeout=30) is not None
        replies = [f"agent reply {n}" for n in range(6)]
        for reply in replies:
            client.append_events(session_id, [{"event": "bot", "text": reply}])
        received: set[str] = set()
        deadline = time.monotonic() + 30
        while not set(replies) <= received and time.monotonic() < deadline:
            event = socket.wait_for("bot_uttered", timeout=5)
            if event is not None:
                received.add(str((event[1] or {}).get("text")))
        assert set(replies) <= received, f"received only {sorted(received & set(replies))}"
    finally:
        socket.close()
