"""Customers' ratings: what the buttons that ask for them send, and what a click may say.

A rating is an ordinary customer message, the payload of the button clicked, such as
``/feedback{"feedback_uid":"<turn uid>","feedback_rating":"down"}``. Rasa reads such a
payload as the ``feedback`` intent with its entities without asking its NLU (payloads
start with "/"); only buttons send it, so the intent has no training examples. The bot
offers thumbs after an answer and a 1-5 rating when a conversation ends; the console
offers the same 1-5 rating when an agent resolves one, which is why this module has no
rasa imports.

The buttons' words are the domain's (``bot/domain/responses.yml``): each rating button's
payload there is a placeholder, ``{up}``, ``{wrong_topic}``, ``{score_4}``..., which
the values below fill; the payload format stays here.

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
# What a thumbs down may say (stored codes; the buttons' titles are the domain's).
REASON_CODES = ("wrong_topic", "incomplete", "unclear", "other")

# The responses that ask for ratings; their buttons' payloads are filled from the values
# of answer_payloads, reason_payloads and satisfaction_payloads.
RATE_ANSWER = "utter_rate_answer"  # an answer, {answer}, with thumbs {up} and {down}
ASK_REASON = "utter_ask_what_was_wrong"  # one button per reason code: {wrong_topic}, ...
RATE_CONVERSATION = "utter_rate_conversation"  # 1-5: {score_1} ... {score_5}


@dataclass(frozen=True)
class Rating:
    """One click on a rating button."""

    kind: str  # ANSWER or CONVERSATION
    rated: str  # the uid in the payload: the answer's turn, or the 1-5 question
    rating: str  # UP / DOWN, or one of SATISFACTION_SCORES
    reason: str | None = None  # one of REASON_CODES, only with DOWN

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


def answer_payloads(turn_uid: str) -> dict[str, str]:
    """Thumbs up and down for the answer stored as turn ``turn_uid``: ``{up}``, ``{down}``."""
    return {rating: payload(uid=turn_uid, rating=rating) for rating in (UP, DOWN)}


def reason_payloads(turn_uid: str) -> dict[str, str]:
    """After a thumbs down, what was wrong with the answer: one value per reason code."""
    return {code: payload(uid=turn_uid, rating=DOWN, reason=code) for code in REASON_CODES}


def satisfaction_payloads(question_uid: str | None = None) -> dict[str, str]:
    """1 to 5 for the whole conversation, ``{score_1}`` ...; each question gets its own uid."""
    question_uid = question_uid or str(uuid.uuid4())
    return {
        f"score_{score}": payload(kind=CONVERSATION, uid=question_uid, rating=score)
        for score in SATISFACTION_SCORES
    }


def read_rating(entities: Mapping[str, Sequence[Any]]) -> Rating | None:
    """The rating that entity values (name → values) express, or None for any other shape."""
    given = [list(entities.get(ENTITY_PREFIX + name) or []) for name in _ENTITIES]
    if any(len(values) > 1 or not all(isinstance(v, str) for v in values) for values in given):
        return None
    kind, rated, rating, reason = (values[0] if values else None for values in given)
    if rated is None or not _is_uuid(rated):
        return None
    explained = reason is None or (rating == DOWN and reason in REASON_CODES)
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
