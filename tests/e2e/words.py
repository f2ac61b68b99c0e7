"""What the bot says, read from the domain responses: the words end-to-end tests expect."""

from __future__ import annotations

import uuid

from gapdesk.ratings import (
    ASK_REASON,
    RATE_ANSWER,
    RATE_CONVERSATION,
    answer_payloads,
    parse_payload,
    reason_payloads,
)
from gapdesk.responses import load_responses, render, text

RESPONSES = load_responses()  # the shipped domain, read once


def domain_text(name: str) -> str:
    """The generic words of response ``name`` in the shipped domain."""
    return text(RESPONSES, name)


def _button_titles(name: str, payloads: dict[str, str]) -> dict[str, str]:
    """Each rating's (or reason's) button title in response ``name``."""
    titles = {}
    for button in render(RESPONSES, name, answer="", **payloads)["buttons"]:
        rating = parse_payload(button["payload"])
        if rating is not None:
            titles[rating.reason or rating.rating] = button["title"]
    return titles


HUMAN_TEXT = domain_text("utter_hand_over_asked")
HUMAN_NOBODY_ONLINE_TEXT = domain_text("utter_hand_over_asked_nobody_online")
TECHNICAL_PROBLEM = domain_text("utter_service_unavailable")
NOT_RECORDED_TEXT = domain_text("utter_rating_not_recorded")
REASON_QUESTION = domain_text(ASK_REASON)
REASON_THANKS_TEXT = domain_text("utter_thanks_for_reason")
SATISFACTION_QUESTION = domain_text(RATE_CONVERSATION)
THUMBS = _button_titles(RATE_ANSWER, answer_payloads(str(uuid.uuid4())))  # {"up": "👍", ...}
REASONS = _button_titles(ASK_REASON, reason_payloads(str(uuid.uuid4())))  # {"wrong_topic": ...}
