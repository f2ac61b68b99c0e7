"""Reading what an action needs from Rasa's tracker (no decisions here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker

from gapdesk.conversation import FAILURES_SLOT

HISTORY = 6  # earlier messages considered for rephrasing and the brief
# Enough for any real question; a pasted novel is scored on its start and stored cut
# (Rasa's tracker keeps the whole message).
SCORED_CHARACTERS = 1_000
STORED_CHARACTERS = 4_000


@dataclass(frozen=True)
class CurrentTurn:
    conversation_id: str
    message_id: str | None  # Rasa's id of the customer message, to match its transcript
    channel: str
    text: str  # what is scored: the message's first SCORED_CHARACTERS
    stored_text: str  # what is stored (after redaction): its first STORED_CHARACTERS
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


def read_turn(tracker: Tracker) -> CurrentTurn:
    message: dict[str, Any] = tracker.latest_message or {}
    ranking = [
        (str(item.get("name")), float(item.get("confidence") or 0.0))
        for item in message.get("intent_ranking") or []
    ]
    if not ranking and (message.get("intent") or {}).get("name"):
        intent = message["intent"]
        ranking = [(str(intent["name"]), float(intent.get("confidence") or 0.0))]
    full_text = message.get("text") or ""
    stored = full_text[:STORED_CHARACTERS]
    if len(full_text) > STORED_CHARACTERS:
        stored += f" [… {len(full_text) - STORED_CHARACTERS} more characters]"
    events = list(tracker.events)
    user_events = [e for e in events if e.get("event") == "user"]
    user_texts = [e.get("text") or "" for e in user_events]
    bot_texts = [e.get("text") or "" for e in events if e.get("event") == "bot" and e.get("text")]
    return CurrentTurn(
        conversation_id=tracker.sender_id,
        message_id=user_events[-1].get("message_id") if user_events else None,
        channel=tracker.get_latest_input_channel() or "unknown",
        text=full_text[:SCORED_CHARACTERS],
        stored_text=stored,
        ranking=ranking,
        previous_customer_texts=[t for t in user_texts[:-1] if t and not t.startswith("/")][
            -HISTORY:
        ],
        previous_bot_texts=bot_texts[-HISTORY:],
        failures=int(tracker.get_slot(FAILURES_SLOT) or 0),
    )
