"""The load benchmark's parts: traffic, the loss audit's reading of trackers, CPU, report."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from gapdesk.bench import load_audit
from gapdesk.bench.load_benchmark import CONFIGS, markdown
from gapdesk.bench.load_traffic import MESSAGES_PER_CONVERSATION, Traffic, run_traffic
from gapdesk.bench.stacks import tree_cpu_seconds
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.store import Store, make_engine


def _echo(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if request.headers["authorization"] != "Bearer t":
        return httpx.Response(401, json={"error": "token"})
    if body["message"] == "break":
        return httpx.Response(500, text="boom")
    return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": "ok"}])


def test_back_to_back_traffic_records_every_message_with_its_outcome() -> None:
    traffic = Traffic("http://bot/webhook", "t", ["hello", "break"], seed=3, prefix="x")
    traffic.transport = httpx.MockTransport(_echo)
    sent = run_traffic(traffic, conversations=5, seconds=0.3, rate=None)
    assert sent and sent == traffic.sent
    assert {m.status for m in sent} == {200, 500}
    assert all((m.replies == ["ok"]) == (m.text == "hello") for m in sent)
    assert all(m.error == "boom" for m in sent if m.text == "break")
    assert {m.conversation_id.split("-")[1] for m in sent} <= {str(seat) for seat in range(5)}
    lengths = Counter(m.conversation_id for m in sent)
    assert max(lengths.values()) <= MESSAGES_PER_CONVERSATION[1]


def test_paced_traffic_offers_about_the_asked_rate() -> None:
    traffic = Traffic("http://bot/webhook", "t", ["hello"], seed=1)
    traffic.transport = httpx.MockTransport(_echo)
    sent = run_traffic(traffic, conversations=20, seconds=2.0, rate=25.0)
    # 50 expected; think times are random, so only a wide band is a fair check
    assert 20 <= len(sent) <= 90


def test_a_refused_connection_is_a_message_with_no_status() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    traffic = Traffic("http://bot/webhook", "t", ["hello"], transport=httpx.MockTransport(refuse))
    sent = run_traffic(traffic, conversations=1, seconds=0.05, rate=None)
    assert sent and all(m.status == 0 and "ConnectError" in m.error for m in sent)


def test_the_audit_counts_a_message_the_gap_action_answered_once() -> None:
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "user", "text": "hi", "message_id": "m1"},
        {"event": "action", "name": "action_gap_answer"},
        {"event": "bot", "text": "Hello!"},
        {"event": "action", "name": "action_gap_answer"},  # a rerun is still one turn
        {"event": "bot", "text": "Hello!"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "person please", "message_id": "m2"},
        {"event": "action", "name": "action_escalate"},
        {"event": "user", "text": "card?", "message_id": "m3"},
        {"event": "action", "name": "action_gap_answer"},
        {"event": "slot", "name": "gap_failures", "value": 0},
        # the action server was down: the action left no event, the apology followed
        {"event": "user", "text": "and my pin?", "message_id": "m4"},
        {"event": "action", "name": "action_gap_answer"},
        {"event": "action", "name": "utter_service_unavailable"},
        {"event": "bot", "text": "Sorry, a technical problem."},
    ]
    assert load_audit.gap_answered_message_ids(events) == ["m1", "m3"]


def test_turn_losses_find_missing_and_duplicated_turns(tmp_path: Path, monkeypatch) -> None:
    from gapdesk.storage.models import Conversation, Turn

    url = f"sqlite:///{tmp_path / 'g.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    with store.session() as session:
        session.add(Conversation(id="c1"))
        session.flush()
        for uid, message_id in (("u1", "m1"), ("u2", "m2"), ("u3", "m2")):
            session.add(Turn(uid=uid, conversation_id="c1", message_id=message_id))
        session.commit()
    monkeypatch.setattr(load_audit, "SETTLE_SECONDS", 0.0)
    lost, duplicated = load_audit.turn_losses(store, {"c1": ["m1", "m2", "m3"]})
    assert (lost, duplicated) == (1, 1)


def test_cpu_of_a_process_includes_its_childrens() -> None:
    """A parent that only sleeps, whose child burns 0.5 s of CPU and stays alive."""
    burn = (
        "import time\nend = time.process_time() + 0.5\n"
        "while time.process_time() < end: pass\ntime.sleep(30)\n"
    )
    spawn = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {burn!r}])\ntime.sleep(30)"
    )
    parent = subprocess.Popen([sys.executable, "-c", spawn], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while tree_cpu_seconds(parent.pid) < 0.5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tree_cpu_seconds(parent.pid) >= 0.5
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()


def test_the_markdown_has_a_row_per_bot_and_the_ratio() -> None:
    result = {
        "offered_per_s": 20.0, "turns_per_s": 19.9, "p50_ms": 100.0, "p95_ms": 300.0,
        "p99_ms": 900.0, "saturation_turns_per_s": 30.0, "errors": 0, "lost_messages": 0,
        "lost_turns": 0, "cpu_s_per_turn": {"paced": {"Rasa server": 0.03}},
    }  # fmt: skip
    report = {
        "conversations": 200, "rate": 20.0, "seconds": 60.0, "saturation_conversations": 50,
        "saturation_seconds": 30.0, "channel": "rest", "machine": {"cpus": 2},
        "saturation_ratio_to_scoring_off": 0.9, **{name: result for name in CONFIGS},
    }  # fmt: skip
    text = markdown(report)
    assert all(f"| {name} | 20.0 / 19.9 | 100.0 / 300.0 / 900.0 |" in text for name in CONFIGS)
    assert "0.90×" in text and not math.isnan(report["rate"])
