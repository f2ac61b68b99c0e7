"""Reading what an action needs from Rasa's tracker (no decisions here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker

FAILURES_SLOT = "gap_failures"
HISTORY = 6  # earlier messages considered for rephrasing and the brief


@dataclass(frozen=True)
class CurrentTurn:
    conversation_id: str
    channel: str
    text: str
    ranking: list[tuple[str, float]]
    previous_customer_texts: list[str]
    previous_bot_texts: list[str]
    failures: int

    @property
    def intent(self) -> str | None:
        return self.ranking[0][0] if self.ranking else None

    @property
    def confidence(self) -> float | None:
        return self.ranking[0][1] if self.ranking else None

    @property
    def is_button_payload(self) -> bool:
        return self.text.startswith("/")


def read_turn(tracker: Tracker) -> CurrentTurn:
    message: dict[str, Any] = tracker.latest_message or {}
    ranking = [
        (str(item.get("name")), float(item.get("confidence") or 0.0))
        for item in message.get("intent_ranking") or []
    ]
    if not ranking and (message.get("intent") or {}).get("name"):
        intent = message["intent"]
        ranking = [(str(intent["name"]), float(intent.get("confidence") or 0.0))]
    events = list(tracker.events)
    user_texts = [e.get("text") or "" for e in events if e.get("event") == "user"]
    bot_texts = [e.get("text") or "" for e in events if e.get("event") == "bot" and e.get("text")]
    return CurrentTurn(
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        text=message.get("text") or "",
        ranking=ranking,
        previous_customer_texts=[t for t in user_texts[:-1] if t and not t.startswith("/")][
            -HISTORY:
        ],
        previous_bot_texts=bot_texts[-HISTORY:],
        failures=int(tracker.get_slot(FAILURES_SLOT) or 0),
    )
