"""Customers' ratings: the buttons that ask for them, and what a click may say.

A rating is an ordinary customer message, the payload of the button clicked, such as
``/feedback{"feedback_uid":"<turn uid>","feedback_rating":"down"}``. Rasa reads such a
payload as the ``feedback`` intent with its entities without asking its NLU (payloads
start with "/"); only buttons send it, so the intent has no training examples. The bot
offers thumbs after an answer and a 1-5 rating when a conversation ends; the console
offers the same 1-5 rating when an agent resolves one, which is why this module has no
rasa imports.

Any customer can type a payload by hand, so :func:`read_rating` accepts only the
shapes these buttons produce.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FEEDBACK_INTENT = "feedback"
ENTITY_PREFIX = "feedback_"
_ENTITIES = ("kind", "uid", "rating", "reason")  # feedback_kind, feedback_uid, ...

ANSWER = "answer"  # thumbs up/down on one bot answer
CONVERSATION = "conversation"  # 1-5 for the whole conversation
UP, DOWN = "up", "down"
SATISFACTION_SCORES = ("1", "2", "3", "4", "5")
# Words beside the thumbs: where no emoji font is installed a bare emoji is a box.
THUMBS = {UP: "👍 Helpful", DOWN: "👎 Not helpful"}
# What a thumbs down may say, by code (stored) and button title (shown).
REASONS = {
    "wrong_topic": "It answered a different question",
    "incomplete": "It didn't tell me enough",
    "unclear": "It was hard to follow",
    "other": "Something else",
}
SATISFACTION_QUESTION = "How would you rate this conversation? (1 = poor, 5 = excellent)"


@dataclass(frozen=True)
class Rating:
    """One click on a rating button."""

    kind: str  # ANSWER or CONVERSATION
    rated: str  # the uid in the payload: the answer's turn, or the 1-5 question
    rating: str  # UP / DOWN, or one of SATISFACTION_SCORES
    reason: str | None = None  # a REASONS code, only with DOWN

    @property
    def uid(self) -> str:
        """The stored rating's uid: every click on one question updates the same row."""
        return f"{self.kind}:{self.rated}"

    @property
    def turn_uid(self) -> str | None:
        return self.rated if self.kind == ANSWER else None


def payload(**entities: str) -> str:
    """The button payload carrying ``entities`` (``uid=...`` becomes ``feedback_uid``)."""
    named = {f"{ENTITY_PREFIX}{name}": value for name, value in entities.items()}
    return f"/{FEEDBACK_INTENT}{json.dumps(named, separators=(',', ':'))}"


def answer_buttons(turn_uid: str) -> list[dict[str, str]]:
    """Thumbs up and down for the answer stored as turn ``turn_uid``."""
    return [
        {"title": THUMBS[UP], "payload": payload(uid=turn_uid, rating=UP)},
        {"title": THUMBS[DOWN], "payload": payload(uid=turn_uid, rating=DOWN)},
    ]


def reason_buttons(turn_uid: str) -> list[dict[str, str]]:
    """After a thumbs down: what was wrong with the answer."""
    return [
        {"title": title, "payload": payload(uid=turn_uid, rating=DOWN, reason=code)}
        for code, title in REASONS.items()
    ]


def satisfaction_buttons(question_uid: str | None = None) -> list[dict[str, str]]:
    """1 to 5 for the whole conversation; each question gets its own uid."""
    question_uid = question_uid or str(uuid.uuid4())
    return [
        {"title": score, "payload": payload(kind=CONVERSATION, uid=question_uid, rating=score)}
        for score in SATISFACTION_SCORES
    ]


def read_rating(entities: Mapping[str, Sequence[Any]]) -> Rating | None:
    """The rating that entity values (name → values) express, or None for any other shape."""
    given = [list(entities.get(ENTITY_PREFIX + name) or []) for name in _ENTITIES]
    if any(len(values) > 1 or not all(isinstance(v, str) for v in values) for values in given):
        return None
    kind, rated, rating, reason = (values[0] if values else None for values in given)
    if rated is None or not _is_uuid(rated):
        return None
    explained = reason is None or (rating == DOWN and reason in REASONS)
    if kind in (None, ANSWER) and rating in (UP, DOWN) and explained:
        return Rating(ANSWER, rated, rating, reason)
    if kind == CONVERSATION and rating in SATISFACTION_SCORES and reason is None:
        return Rating(CONVERSATION, rated, rating)
    return None


def parse_payload(text: str) -> Rating | None:
    """The rating a button payload carries, or None if it is not a valid rating payload."""
    prefix = f"/{FEEDBACK_INTENT}"
    if not text.startswith(prefix + "{"):
        return None
    try:
        named = json.loads(text.removeprefix(prefix))
    except ValueError:
        return None
    if not isinstance(named, dict):
        return None
    return read_rating({name: [value] for name, value in named.items()})


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
