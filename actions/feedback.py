"""Customers rating the bot: thumbs on each answer, 1-5 when the conversation ends.

``action_gap_answer`` sends its answers through :func:`send_answer`, which adds the
rating buttons (their words are the domain's responses, their payloads come from
``gapdesk/ratings.py``); ``action_record_feedback`` runs when one is clicked and
records the rating. A rating is stored against the turn it rates, and so against that
turn's answer and gap model version.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import SafeAction
from actions.services import get_services
from gapdesk.ratings import (
    ANSWER,
    ASK_REASON,
    DOWN,
    ENTITY_PREFIX,
    RATE_ANSWER,
    RATE_CONVERSATION,
    UP,
    Rating,
    answer_payloads,
    parse_payload,
    read_rating,
    reason_payloads,
    satisfaction_payloads,
)
from gapdesk.storage.recorder import new_record
from gapmodel.knowledge import Answer

logger = logging.getLogger(__name__)

# Answers that close a conversation: asked for 1-5 instead of thumbs.
CLOSING_INTENTS = ("goodbye", "thanks")


def send_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, answer: Answer, turn_uid: str
) -> None:
    """Reply with ``answer`` and the rating buttons that fit it.

    An answer that starts a flow goes without: its form asks the next question at once,
    and a click would land inside the form. Small talk ("hello", "you're welcome") is
    not an answer to rate either: its knowledge-base file is not offered in
    clarifications, which is what marks it.
    """
    if answer.start_flow:
        dispatcher.utter_message(text=answer.text)
    elif answer.intent in CLOSING_INTENTS:
        dispatcher.utter_message(text=answer.text)
        if satisfaction_due(tracker):
            dispatcher.utter_message(response=RATE_CONVERSATION, **satisfaction_payloads())
    elif not answer.offer_in_clarification:
        dispatcher.utter_message(text=answer.text)
    else:
        dispatcher.utter_message(
            response=RATE_ANSWER, answer=answer.text, **answer_payloads(turn_uid)
        )


def satisfaction_due(tracker: Tracker) -> bool:
    """Ask for 1-5 when an answer was offered for rating since the last time it was asked.

    So a "thanks" and a "bye" in a row ask once, and a conversation of greetings never.
    """
    offered = _offered_ratings(tracker)
    return bool(offered) and offered[-1].kind == ANSWER


class ActionRecordFeedback(SafeAction):
    """A rating button was clicked: record it, and ask what was wrong after a thumbs down."""

    def name(self) -> str:
        return "action_record_feedback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rating = read_rating(_feedback_entities(tracker))
        # Payloads can be typed by hand: only a button this conversation was offered
        # counts, so nobody can rate (or overwrite the rating of) someone else's answer.
        if rating is None or rating not in _offered_ratings(tracker):
            logger.info("conversation %s: ignored a rating it was not offered", tracker.sender_id)
            dispatcher.utter_message(response="utter_rating_not_recorded")
            return []
        get_services().recorder.record(
            new_record(
                "feedback",
                tracker.sender_id,
                uid=rating.uid,
                channel=tracker.get_latest_input_channel() or "unknown",
                kind=rating.kind,
                turn_uid=rating.turn_uid,
                rating=rating.rating,
                reason=rating.reason,
            )
        )
        if rating.kind != ANSWER:
            dispatcher.utter_message(response="utter_thanks_for_rating_conversation")
        elif rating.rating == UP:
            dispatcher.utter_message(response="utter_thanks_for_rating")
        elif rating.rating == DOWN and rating.reason is None:
            dispatcher.utter_message(response=ASK_REASON, **reason_payloads(rating.rated))
        else:
            dispatcher.utter_message(response="utter_thanks_for_reason")
        # The reply is the action's event (bot/policies.py reads an action followed by
        # no event at all as a failed one).
        return []


def _feedback_entities(tracker: Tracker) -> dict[str, list[Any]]:
    """The values of the feedback_* entities of the latest message, by entity name."""
    values: dict[str, list[Any]] = defaultdict(list)
    for entity in (tracker.latest_message or {}).get("entities") or []:
        name = str(entity.get("entity") or "")
        if name.startswith(ENTITY_PREFIX):
            values[name].append(entity.get("value"))
    return values


def _offered_ratings(tracker: Tracker) -> list[Rating]:
    """The ratings the bot's (or an agent's) buttons offered in this conversation, in order."""
    offered = []
    for event in tracker.events:
        if event.get("event") != "bot":
            continue
        for button in (event.get("data") or {}).get("buttons") or []:
            rating = parse_payload(str(button.get("payload") or ""))
            if rating is not None:
                offered.append(rating)
    return offered
