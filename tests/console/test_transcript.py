"""Rasa's events become the agent's transcript, annotated with gapdesk's verdicts."""

from __future__ import annotations

import uuid

from console.transcript import PAUSE_TEXT, button_text, from_tracker, from_turns
from gapdesk.ratings import (
    ASK_REASON,
    RATE_ANSWER,
    RATE_CONVERSATION,
    answer_payloads,
    reason_payloads,
    satisfaction_payloads,
)
from gapdesk.responses import load_responses, render


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


def _bot(name: str, **values: str) -> dict:
    """The bot event of one of the domain's rating responses."""
    message = render(load_responses(), name, **values)
    return {"event": "bot", "text": message["text"], "data": {"buttons": message["buttons"]}}


def _clicks(events: list[dict]) -> list[str]:
    return [i["text"] for i in from_tracker({"events": events}, {}) if i["kind"] == "button"]


def test_button_presses_read_as_the_titles_the_customer_clicked() -> None:
    turn = str(uuid.uuid4())
    thumbs = _bot(RATE_ANSWER, answer="It takes 3-5 days.", **answer_payloads(turn))
    reasons = _bot(ASK_REASON, **reason_payloads(turn))
    scores = _bot(RATE_CONVERSATION, **satisfaction_payloads())
    down = thumbs["data"]["buttons"][1]["payload"]
    wrong_topic = reasons["data"]["buttons"][0]["payload"]
    four = scores["data"]["buttons"][3]["payload"]
    events = [
        thumbs,
        {"event": "user", "text": down},
        reasons,
        {"event": "user", "text": wrong_topic},
        scores,
        {"event": "user", "text": four},
        {"event": "user", "text": '/card_arrival{"x":1}'},
    ]
    assert _clicks(events) == [
        "rated the answer 👎 Not helpful",
        "rated the answer 👎 Not helpful: It answered a different question",
        "rated the conversation 4/5",
        "chose card_arrival",
    ]


def test_a_rating_no_button_offered_reads_as_its_codes() -> None:
    typed = reason_payloads(str(uuid.uuid4()))["unclear"]
    assert _clicks([{"event": "user", "text": typed}]) == ["rated the answer down: unclear"]
    assert button_text(typed) == "rated the answer down: unclear"


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
