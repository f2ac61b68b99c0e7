"""Unit tests of gapdesk.signals: labels and ratings as training signals (SQLite, PostgreSQL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gapdesk.datasets import LabelledText
from gapdesk.signals import WEIGHTS, gather
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Label, Turn
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine

TRAINING = [LabelledText("where is my card", "card_arrival"), LabelledText("top up", "top_up")]


@pytest.fixture
def store(database_url: str) -> Store:
    upgrade(database_url)
    return Store(make_engine(database_url))


def _turn(store: Store, text: str, intent: str = "card_arrival") -> tuple[str, int]:
    record = new_record(
        "turn", f"c-{text[:8]}", customer_text=text, intent=intent, confidence=0.6,
        intent_ranking=[[intent, 0.6], ["top_up", 0.3]], decision="answer",
        answer_intent=intent, answer_text="An answer.",
    )  # fmt: skip
    store.apply(record)
    with store.session() as session:
        turn_id = session.scalar(select(Turn.id).where(Turn.uid == record["uid"]))
    return record["uid"], int(turn_id)


def _rate(store: Store, turn_uid: str, rating: str, reason: str | None = None) -> None:
    store.apply(new_record("feedback", "c", turn_uid=turn_uid, rating=rating, reason=reason))


def _label(store: Store, turn_id: int, author: str, is_gap: bool, intent: str | None = None):
    with store.session() as session:
        session.add(Label(turn_id=turn_id, author=author, is_gap=is_gap, correct_intent=intent))


def test_each_signal_becomes_a_weighted_row_of_the_turn_the_bot_saw(store: Store) -> None:
    up_uid, _ = _turn(store, "has my card been posted")
    wrong_uid, _ = _turn(store, "can I open a savings account")
    thin_uid, _ = _turn(store, "when does my card come")
    _, labelled = _turn(store, "my card is broken", "card_arrival")
    _rate(store, up_uid, "up")
    _rate(store, wrong_uid, "down", "wrong_topic")
    _rate(store, thin_uid, "down", "incomplete")
    _label(store, labelled, "ana", True, "card_not_working")

    signals = gather(store, TRAINING)
    rows = {row.text: row for row in signals.rows}
    assert set(rows) == {"has my card been posted", "can I open a savings account",
                         "my card is broken"}  # fmt: skip
    assert not rows["has my card been posted"].is_gap
    assert rows["can I open a savings account"].is_gap
    assert rows["can I open a savings account"].weight == WEIGHTS["thumbs_down_wrong_topic"]
    assert rows["my card is broken"].weight == WEIGHTS["label"] > WEIGHTS["thumbs_up"]
    assert rows["has my card been posted"].ranking == [("card_arrival", 0.6), ("top_up", 0.3)]
    summary = signals.summary()
    assert summary["not_used"]["thumbs_down_incomplete"] == 1  # thin, not a missed question
    assert summary["not_used"]["label_unknown_intent"] == 1  # the bot has no such intent


def test_a_persons_label_beats_the_customers_rating(store: Store) -> None:
    uid, turn_id = _turn(store, "I want a mortgage")
    _rate(store, uid, "up")
    _label(store, turn_id, "ana", True)
    signals = gather(store, TRAINING)
    assert [(row.source, row.is_gap) for row in signals.rows] == [("label", True)]
    assert signals.counts["rating_on_a_labelled_turn"] == 1


def test_labels_that_contradict_each_other_are_counted_not_learned(store: Store) -> None:
    _, turn_id = _turn(store, "is this a scam")
    _label(store, turn_id, "ana", True)
    _label(store, turn_id, "ben", False)
    _, changed = _turn(store, "freeze it")
    _label(store, changed, "ana", True)
    _label(store, changed, "ana", False)  # one person changing their mind: newest stands
    signals = gather(store, TRAINING)
    assert signals.counts["labels_that_contradict_each_other"] == 1
    assert [(row.text, row.is_gap) for row in signals.rows] == [("freeze it", False)]


def test_only_signals_after_the_given_time_count(store: Store) -> None:
    old_uid, _ = _turn(store, "old question")
    _rate(store, old_uid, "up")
    time.sleep(0.05)
    since = datetime.now(UTC)
    time.sleep(0.05)
    new_uid, _ = _turn(store, "new question")
    _rate(store, new_uid, "down", "wrong_topic")
    assert [row.text for row in gather(store, TRAINING, since).rows] == ["new question"]
    assert len(gather(store, TRAINING).rows) == 2


def test_a_naive_time_as_sqlite_gives_it_counts_labels_too(store: Store) -> None:
    since = datetime.now(UTC).replace(tzinfo=None)  # a version's time read from SQLite
    time.sleep(0.05)
    _, turn_id = _turn(store, "is my card lost")
    _label(store, turn_id, "ana", True, "card_arrival")
    signals = gather(store, TRAINING, since)
    assert [row.source for row in signals.rows] == ["label"]
