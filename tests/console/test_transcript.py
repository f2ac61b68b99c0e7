"""Rasa's events become the agent's transcript, annotated with gapdesk's verdicts."""

from __future__ import annotations

import uuid

from console.transcript import PAUSE_TEXT, button_text, from_tracker, from_turns
from gapdesk.ratings import answer_buttons, reason_buttons, satisfaction_buttons


def test_messages_verdicts_agents_and_pauses_in_order() -> None:
    tracker = {
        "events": [
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "where is my card", "message_id": "m1", "timestamp": 10},
            {"event": "bot", "text": "It takes 3-5 days.", "timestamp": 11,
             "data": {"buttons": [{"title": "👍", "payload": "/feedback"}]}},
            {"event": "pause", "timestamp": 12},
            {"event": "bot", "text": "Dana: hello", "timestamp": 13,
             "metadata": {"agent": "dana", "agent_name": "Dana"}},
            {"event": "user", "text": "still nothing", "message_id": "m2", "timestamp": 14},
        ]
    }  # fmt: skip
    details = {"m1": {"id": 7, "intent": "card_arrival"}}
    items = from_tracker(tracker, details)
    assert [i["kind"] for i in items] == ["customer", "bot", "system", "agent", "customer"]
    assert items[0]["turn"] == {"id": 7, "intent": "card_arrival"}
    assert items[1]["buttons"] == ["👍"]
    assert items[2]["text"] == PAUSE_TEXT
    assert items[3]["author"] == "Dana"
    assert items[4]["turn"] is None  # written while paused: in Rasa's tracker only


def test_button_presses_read_as_words() -> None:
    turn = str(uuid.uuid4())
    assert button_text(answer_buttons(turn)[1]["payload"]) == "rated the answer 👎 Not helpful"
    reason = reason_buttons(turn)[0]
    assert button_text(reason["payload"]) == f"rated the answer 👎 Not helpful: {reason['title']}"
    assert button_text(satisfaction_buttons()[3]["payload"]) == "rated the conversation 4/5"
    assert button_text('/card_arrival{"x":1}') == "chose card_arrival"


def test_without_rasa_the_stored_turns_make_the_transcript() -> None:
    details = {
        "m1": {"id": 1, "kind": "bot", "created_at": "2026-01-01T10:00:00+00:00",
               "customer_text": "hi", "answer_text": "Hello!", "author": None},
        "turn-2": {"id": 2, "kind": "agent", "created_at": "2026-01-01T10:01:00+00:00",
                   "customer_text": None, "answer_text": "Dana here", "author": "dana"},
    }  # fmt: skip
    assert [(i["kind"], i["text"]) for i in from_turns(details)] == [
        ("customer", "hi"),
        ("bot", "Hello!"),
        ("agent", "Dana here"),
    ]
