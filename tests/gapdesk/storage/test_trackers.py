"""Retention in Rasa's tracker store (gapdesk.storage.trackers): plain SQL on a table
shaped like Rasa's ``events``, on SQLite and PostgreSQL, and Rasa itself reading what
is left (in Rasa's own environment)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Engine,
    create_engine,
    select,
)

from gapdesk.storage import retention, trackers
from gapdesk.storage.store import Store
from tests.gapdesk.storage.conftest import (
    ACTIVE,
    CUTOFF,
    DAYS,
    IDLE,
    NEW_TIME,
    NOW,
    OLD_TIME,
    RASA_EVENTS,
    WAITING,
    fill_tracker_store,
    rasa_events,
    rasa_user,
)

ROOT = Path(__file__).resolve().parents[3]


def _read(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        query = select(RASA_EVENTS.c.sender_id, RASA_EVENTS.c.data).order_by(RASA_EVENTS.c.id)
        for sender, data in connection.execute(query):
            found.setdefault(sender, []).append(json.loads(data))
    return found


@pytest.fixture
def tracker_store(database_url: str) -> Iterator[Engine]:
    """A tracker store (SQLite, and PostgreSQL when it runs) with three conversations:
    idle since before the cutoff, still going on, and waiting for a person."""
    engine = create_engine(database_url)
    fill_tracker_store(engine)
    yield engine
    engine.dispose()


def test_idle_conversations_go_active_ones_lose_old_content_waiting_ones_stay(
    tracker_store: Engine,
) -> None:
    before = _read(tracker_store)
    assert trackers.prune_events(tracker_store, CUTOFF, {WAITING}, False, 2) == (5, 5, "")
    after = _read(tracker_store)
    assert set(after) == {ACTIVE, WAITING}
    assert after[WAITING] == before[WAITING]
    old, new = after[ACTIVE][:-1], after[ACTIVE][-1]
    assert new == before[ACTIVE][-1]  # newer than the cutoff: as it was
    assert [e["event"] for e in old] == [e["event"] for e in before[ACTIVE][:-1]]  # order kept
    assert all(e[trackers.MARK] == "texts removed" for e in old)
    left = json.dumps(old)
    for personal in ("John", "4242", "john@example.com", "+1555", "my name"):
        assert personal not in left, personal
    user = next(e for e in old if e["event"] == "user")
    assert user["parse_data"]["intent"]["name"] == "card_arrival"  # what Rasa's state needs
    assert trackers.prune_events(tracker_store, CUTOFF, {WAITING}, False, 2) == (0, 0, "")


def test_the_dry_run_counts_and_changes_nothing(tracker_store: Engine) -> None:
    before = _read(tracker_store)
    assert trackers.prune_events(tracker_store, CUTOFF, {WAITING}, True, 2) == (5, 5, "")
    assert _read(tracker_store) == before


def test_a_tracker_store_that_does_not_exist_is_left_alone(tmp_path: Path) -> None:
    missing = tmp_path / "rasa_trackers.db"
    engine, why = trackers.tracker_engine(f"sqlite:///{missing}")
    assert engine is None and "nothing to prune" in why
    assert not missing.exists()  # never created
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert trackers.prune_events(empty, CUTOFF, set(), False, 10)[2].startswith("no events table")


def test_gapdesk_db_prune_covers_the_tracker_store_and_keeps_waiting_conversations(
    sample: Store, tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'rasa_trackers.db'}")
    fill_tracker_store(engine)
    result = retention.prune(sample, tmp_path, DAYS, now=NOW, tracker_engine=engine)
    assert result.changes[trackers.TABLE] == {"deleted": 5, "texts removed": 5}
    assert _read(engine)[WAITING][-1]["event"] == "pause"  # the sample's WAITING waits
    engine.dispose()


_RASA_SCRIPT = """
import asyncio, json, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

mode, path, domain_path = sys.argv[1:4]
domain = Domain.load(domain_path)
store = SQLTrackerStore(domain, dialect="sqlite", db=path)

async def main():
    if mode == "write":
        for sender, events in json.loads(sys.argv[4]).items():
            tracker = DialogueStateTracker.from_events(
                sender, [Event.from_parameters(e) for e in events], domain.slots
            )
            await store.save(tracker)
        return {}
    if mode == "append":  # Rasa answering the next message: retrieve, add, save
        sender, text = json.loads(sys.argv[4])
        tracker = await store.retrieve(sender)
        intent = {"name": "card_arrival", "confidence": 1.0}
        parse_data = {"intent": intent, "entities": [], "text": text}
        tracker.update(Event.from_parameters({"event": "user", "text": text,
                                              "parse_data": parse_data}))
        await store.save(tracker)
        return {}
    found = {}
    for sender in json.loads(sys.argv[4]):
        tracker = await store.retrieve(sender)
        found[sender] = None if tracker is None else {
            "events": len(tracker.events),
            "latest": tracker.latest_message.text,
            "paused": tracker.is_paused(),
            "card_last_four": tracker.get_slot("card_last_four"),
            "texts": [e.as_dict().get("text") for e in tracker.events],
        }
    return found

print(json.dumps(asyncio.run(main())))
"""


@pytest.mark.rasa_env
def test_rasa_reads_the_conversations_retention_left(rasa_python: Path, tmp_path: Path) -> None:
    path = tmp_path / "rasa_trackers.db"
    conversations = {
        IDLE: rasa_events(OLD_TIME),
        ACTIVE: [*rasa_events(OLD_TIME), rasa_user("freeze my card", NEW_TIME)],
        WAITING: [*rasa_events(OLD_TIME), {"event": "pause", "timestamp": OLD_TIME + 9}],
    }

    def rasa(mode: str, argument: Any) -> Any:
        command = [str(rasa_python), "-c", _RASA_SCRIPT, mode, str(path),
                   str(ROOT / "bot" / "domain"), json.dumps(argument)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    rasa("write", conversations)
    engine, _ = trackers.tracker_engine(f"sqlite:///{path}")
    assert engine is not None
    assert trackers.prune_events(engine, CUTOFF, {WAITING}, False, 3) == (5, 5, "")
    engine.dispose()
    found = rasa("read", list(conversations))
    assert found[IDLE] is None  # gone: Rasa starts afresh if they write again
    assert found[ACTIVE]["latest"] == "freeze my card" and found[ACTIVE]["events"] == 6
    assert found[ACTIVE]["card_last_four"] is None  # set before the cutoff: forgotten
    assert "John" not in json.dumps(found[ACTIVE]) and not found[ACTIVE]["paused"]
    assert found[WAITING]["paused"] and found[WAITING]["card_last_four"] == "4242"
    rasa("append", [ACTIVE, "and my new card?"])  # Rasa appends after what is left
    after = rasa("read", [ACTIVE])[ACTIVE]
    assert after["events"] == 7 and after["latest"] == "and my new card?"
    assert after["texts"].count("freeze my card") == 1  # nothing stored twice
