"""bot/tracker_store.py: what Rasa's tracker store keeps, and streams, is masked.

The store is created from bot/endpoints.yml as Rasa creates it, with an event broker
that collects what it is given; a turn carrying a card number, an IBAN, an email and a
phone number is saved, then the next one. The NLU's entities come from the bot's own
regexes (data/nlu/conversation.yml), as its RegexEntityExtractor finds them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = ROOT / "bot" / "endpoints.yml"

CARD = "4556 7375 8689 9855"
IBAN = "GB82 WEST 1234 5698 7654 32"
EMAIL = "ada.lovelace@example.org"
PHONE = "+44 20 7946 0880"
RAW = (CARD, IBAN, EMAIL, PHONE)
TEXT = (
    f"Card {CARD} was stolen, refund {IBAN}, write to {EMAIL} or call {PHONE}; "
    "freeze the one ending 4821, and where is transfer TR-123456?"
)
MASKED_TEXT = (
    "Card [CARD] was stolen, refund [IBAN], write to [EMAIL] or call [PHONE]; "
    "freeze the one ending 4821, and where is transfer TR-123456?"
)
# A rating button as the bot sends it: the payload must be kept to check a click.
PAYLOAD = '/feedback{"feedback_uid":"4114816d-b585-4b4f-80e8-bf92a37be4cb","feedback_rating":"up"}'

_SCENARIO = """
import asyncio, json, re, sqlite3, sys
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.loading import load_data
from rasa.utils.endpoints import read_endpoint_config

text, email, payload, database = sys.argv[1:5]


class Collected(EventBroker):
    def __init__(self):
        self.events = []

    def publish(self, event):
        self.events.append(event)


def entities(text):
    found = []
    for regex in load_data("data/nlu/conversation.yml").regex_features:
        for match in re.finditer(regex["pattern"], text):
            found.append({"entity": regex["name"], "start": match.start(),
                          "end": match.end(), "value": match.group(),
                          "extractor": "RegexEntityExtractor"})
    return found


def user(text, metadata=None):
    intent = {"name": "freeze_card", "confidence": 0.9}
    parse_data = {"intent": intent, "entities": entities(text), "text": text,
                  "intent_ranking": [intent]}
    return UserUttered(text, intent, parse_data["entities"], parse_data,
                       input_channel="rest", metadata=metadata)


def stored():
    with sqlite3.connect(database) as connection:
        return [json.loads(row[0]) for row in connection.execute(
            "SELECT data FROM events ORDER BY id")]


async def main():
    domain = Domain.load("bot/domain")
    broker = Collected()
    store = create_tracker_store(
        read_endpoint_config("bot/endpoints.yml", "tracker_store"), domain, broker
    )
    tracker = DialogueStateTracker.from_events("customer-1", [
        ActionExecuted("action_session_start"), SessionStarted(),
        ActionExecuted("action_listen"),
        user(text, metadata={"customData": {"email": email}}),
        SlotSet("card_last_four", "4821"),
        SlotSet("transfer_reference", f"TR-123456 for {email}"),
        BotUttered(f"Cara: I will write to {email}",
                   {"buttons": [{"title": "Good answer", "payload": payload}]}),
        ActionExecuted("action_listen"),
    ], domain.slots)
    await store.save(tracker)
    first = stored()
    streamed_first = len(broker.events)
    tracker = await store.retrieve("customer-1")  # the next turn, as Rasa takes it
    tracker.update_with_events([user("yes"), ActionExecuted("action_listen")], domain)
    await store.save(tracker)
    again = await store.retrieve("customer-1")
    # Rasa's agent wraps the store; while the database fails, it saves in memory.
    fallback = FailSafeTrackerStore(store).fallback_tracker_store
    streamed_before = len(broker.events)
    await fallback.save(DialogueStateTracker.from_events(
        "customer-2", [ActionExecuted("action_listen"), user(text)], domain.slots
    ))
    with store.engine.connect() as connection:
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    with sqlite3.connect(database) as connection:
        journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    print(json.dumps({
        "store": type(store).__name__,
        "sqlite": {"journal_mode": journal_mode, "synchronous": synchronous},
        "first": first,
        "stored": stored(),
        "streamed": broker.events[:streamed_before],
        "streamed_first": streamed_first,
        "fallback_streamed": broker.events[streamed_before:],
        "retrieved": {
            "latest": again.latest_message.text,
            "card_last_four": again.get_slot("card_last_four"),
        },
    }))

asyncio.run(main())
"""


@cache
def _saved(python: Path, database: Path) -> dict[str, Any]:
    # Rasa expands every ${VAR} of the file, though only the tracker store's are used.
    unused = re.findall(r"\$\{(\w+)\}", ENDPOINTS.read_text(encoding="utf-8"))
    env = {
        **os.environ,
        **dict.fromkeys(unused, "0"),
        "GAPDESK_TRACKER_DIALECT": "sqlite",
        "GAPDESK_TRACKER_STORE_URL": f"sqlite:///{database}",
    }
    done = subprocess.run(
        [str(python), "-c", _SCENARIO, TEXT, EMAIL, PAYLOAD, str(database)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture
def saved(rasa_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The scenario's outcome, run once for the module's tests."""
    return _saved(rasa_python, tmp_path_factory.getbasetemp() / "redacting_trackers.db")


def _of_kind(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event for event in events if event["event"] == kind]


@pytest.mark.rasa_env
def test_rasa_loads_the_redacting_store_from_the_endpoints_file(saved: dict[str, Any]) -> None:
    # Rasa would fall back to an in-memory store, with only a warning, if it could not.
    assert saved["store"] == "RedactingSQLTrackerStore"


@pytest.mark.rasa_env
def test_no_personal_data_is_stored_or_streamed(saved: dict[str, Any]) -> None:
    # "fallback_streamed": by the in-memory store Rasa saves in while the database fails.
    for where in ("stored", "streamed", "fallback_streamed"):
        kept = json.dumps(saved[where])
        assert [value for value in RAW if value in kept] == [], where
        [message, *_] = _of_kind(saved[where], "user")
        assert message["text"] == message["parse_data"]["text"] == MASKED_TEXT
    for where in ("stored", "streamed"):
        [message, _] = _of_kind(saved[where], "user")
        assert message["metadata"] == {"customData": {"email": "[EMAIL]"}}


@pytest.mark.rasa_env
def test_entities_found_inside_personal_data_are_left_out(saved: dict[str, Any]) -> None:
    # The last-four pattern finds every group of the card number, the IBAN and the
    # phone number: kept, they would spell the card number out again.
    [message, _] = _of_kind(saved["stored"], "user")
    kept = [(e["entity"], e["value"]) for e in message["parse_data"]["entities"]]
    assert kept == [("card_last_four", "4821"), ("transfer_reference", "TR-123456")]


@pytest.mark.rasa_env
def test_slots_and_bot_messages_are_masked_and_buttons_kept(saved: dict[str, Any]) -> None:
    slots = {event["name"]: event["value"] for event in _of_kind(saved["stored"], "slot")}
    assert slots == {"card_last_four": "4821", "transfer_reference": "TR-123456 for [EMAIL]"}
    [bot] = _of_kind(saved["stored"], "bot")
    assert bot["text"] == "Cara: I will write to [EMAIL]"
    # A rating click is checked against the payloads the bot offered.
    assert bot["data"]["buttons"] == [{"title": "Good answer", "payload": PAYLOAD}]


@pytest.mark.rasa_env
def test_each_save_adds_and_streams_only_the_new_events(saved: dict[str, Any]) -> None:
    first, stored = saved["first"], saved["stored"]
    assert stored[: len(first)] == first
    assert [e["event"] for e in stored[len(first) :]] == ["user", "action"]
    assert len(saved["streamed"]) == len(stored)  # the broker got each event once
    assert saved["streamed_first"] == len(first)
    assert saved["retrieved"] == {"latest": "yes", "card_last_four": "4821"}


@pytest.mark.rasa_env
def test_the_embedded_store_writes_ahead_and_syncs_at_checkpoints(saved: dict[str, Any]) -> None:
    # synchronous=NORMAL (1): a commit survives the process being killed; the disk is
    # synced at checkpoints, not at each of Rasa's two saves a turn.
    assert saved["sqlite"] == {"journal_mode": "wal", "synchronous": 1}
