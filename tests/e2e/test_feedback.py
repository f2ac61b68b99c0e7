"""Ratings and the hand-over when nobody is online, over REST against the real servers."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from gapdesk.accounts import create_user
from gapdesk.ratings import DOWN, UP
from gapdesk.storage.models import Feedback, Turn, User
from tests.e2e.conftest import RunningBot
from tests.e2e.words import (
    HUMAN_NOBODY_ONLINE_TEXT,
    HUMAN_TEXT,
    NOT_RECORDED_TEXT,
    REASON_QUESTION,
    REASONS,
    SATISFACTION_QUESTION,
    THUMBS,
)

pytestmark = pytest.mark.e2e


def _feedback(bot: RunningBot, conversation_id: str, done: Any, timeout: float = 10.0) -> list:
    """The conversation's stored ratings (with their turns) once ``done(rows)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        with bot.store.session() as session:
            rows = session.scalars(
                select(Feedback)
                .where(Feedback.conversation_id == conversation_id)
                .options(selectinload(Feedback.turn).selectinload(Turn.gap_score))
            ).all()
        if done(rows):
            return list(rows)
        if time.monotonic() > deadline:
            raise AssertionError(f"{conversation_id}: ratings never got there: {rows}")
        time.sleep(0.2)


def _button(reply: dict[str, Any], title: str) -> str:
    return next(b["payload"] for b in reply["buttons"] if b["title"] == title)


def test_thumbs_down_with_a_reason_is_stored_against_the_answered_turn(
    bot: RunningBot, conversation_id: str
) -> None:
    [answer] = bot.say(conversation_id, "my card still hasn't arrived")
    assert [b["title"] for b in answer["buttons"]] == [THUMBS[UP], THUMBS[DOWN]]

    [asked] = bot.say(conversation_id, _button(answer, THUMBS[DOWN]))
    assert asked["text"] == REASON_QUESTION
    assert bot.say(conversation_id, _button(asked, REASONS["incomplete"]))

    [row] = _feedback(bot, conversation_id, lambda rows: rows and rows[0].reason)
    assert (row.kind, row.rating, row.reason) == ("answer", "down", "incomplete")
    assert row.turn is not None and row.turn.answer_intent == "card_arrival"
    assert row.turn.gap_score is not None and row.turn.gap_score.model_version
    assert row.turn.message_id, "the turn carries Rasa's id of the customer message"


def test_goodbye_asks_for_one_to_five_and_stores_it_for_the_conversation(
    bot: RunningBot, conversation_id: str
) -> None:
    assert bot.say(conversation_id, "my card still hasn't arrived")
    goodbye = bot.say(conversation_id, "bye")
    [question] = [r for r in goodbye if r.get("text") == SATISFACTION_QUESTION]
    assert bot.say(conversation_id, _button(question, "4"))

    [row] = _feedback(bot, conversation_id, bool)
    assert (row.kind, row.rating, row.turn_id) == ("conversation", "4", None)


def test_a_forged_rating_is_refused_and_not_stored(bot: RunningBot, conversation_id: str) -> None:
    assert bot.say(conversation_id, "my card still hasn't arrived")
    forged = f'/feedback{{"feedback_uid":"{uuid.uuid4()}","feedback_rating":"down"}}'
    assert [r["text"] for r in bot.say(conversation_id, forged)] == [NOT_RECORDED_TEXT]
    assert bot.say(conversation_id, '/feedback{"feedback_uid":[1,2],"feedback_rating":{}}')
    bot.conversation(conversation_id, turns=1)
    with bot.store.session() as session:
        stored = session.scalars(
            select(Feedback).where(Feedback.conversation_id == conversation_id)
        )
        assert stored.all() == []


def _set_last_seen(bot: RunningBot, when: datetime | None, username: str | None = None) -> None:
    with bot.store.session() as session:
        query = update(User).values(last_seen_at=when)
        if username:
            query = query.where(User.username == username)
        session.execute(query)


def test_with_nobody_online_the_customer_is_told_and_may_leave_a_message(
    bot: RunningBot, conversation_id: str
) -> None:
    _set_last_seen(bot, None)  # whatever other tests did: nobody is online
    [reply] = bot.say(conversation_id, "I want to speak to a human")
    assert reply["text"] == HUMAN_NOBODY_ONLINE_TEXT
    assert bot.say(conversation_id, "my card never came, please call me back") == []
    assert bot.conversation(conversation_id, turns=1)["status"] == "escalated"


def test_with_an_agent_online_the_usual_hand_over(bot: RunningBot, conversation_id: str) -> None:
    username = f"agent-{uuid.uuid4().hex[:8]}"
    create_user(bot.store, username, "a long enough password", "agent")
    _set_last_seen(bot, datetime.now(UTC), username)
    try:
        [reply] = bot.say(conversation_id, "I want to speak to a human")
    finally:
        _set_last_seen(bot, None, username)
    assert reply["text"] == HUMAN_TEXT
