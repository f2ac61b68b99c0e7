"""Unit tests of gapdesk.signals: labels and ratings as training signals (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gapdesk.datasets import LabelledText
from gapdesk.labels import OUT_OF_SCOPE, LabelledExamples
from gapdesk.signals import (
    LIVE_FILE_NAME,
    WEIGHTS,
    LiveRow,
    Signals,
    gather,
    read_live_rows,
    write_live_rows,
)
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Feedback, Label, Turn, as_utc
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine
from gapmodel.errors import ConfigurationError

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
        turn_id = session.scalars(select(Turn.id).where(Turn.uid == record["uid"])).one()
    return record["uid"], turn_id


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
    _, stale = _turn(store, "my card is bent", "card_arrival")
    _rate(store, up_uid, "up")
    _rate(store, wrong_uid, "down", "wrong_topic")
    _rate(store, thin_uid, "down", "incomplete")
    _label(store, labelled, "ana", True, "top_up")
    _label(store, stale, "ana", True, "card_not_working")

    signals = gather(store, TRAINING)
    rows = {row.text: row for row in signals.rows}
    # the label naming an intent the bot does not have teaches nothing, not even a gap row
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


def test_gather_says_which_intent_was_right_and_which_was_answered(store: Store) -> None:
    _, named = _turn(store, "add money please", "card_arrival")
    _label(store, named, "ana", True, "top_up")
    _, fine = _turn(store, "where is my card", "card_arrival")
    _label(store, fine, "ana", False)  # no gap: the intent answered was right
    _, unnamed = _turn(store, "something odd", "top_up")
    _label(store, unnamed, "ana", True)
    _, outside = _turn(store, "can I get a mortgage", "top_up")
    _label(store, outside, "ana", True, OUT_OF_SCOPE)
    up_uid, _ = _turn(store, "has my card been posted", "card_arrival")
    _rate(store, up_uid, "up")
    wrong_uid, _ = _turn(store, "open a savings account", "top_up")
    _rate(store, wrong_uid, "down", "wrong_topic")

    rows = {row.text: (row.right_intent, row.answered) for row in gather(store, TRAINING).rows}
    assert rows == {
        "add money please": ("top_up", "card_arrival"),
        "where is my card": ("card_arrival", "card_arrival"),
        "something odd": (None, "top_up"),
        "can I get a mortgage": (OUT_OF_SCOPE, "top_up"),
        "has my card been posted": ("card_arrival", "card_arrival"),  # "helpful"
        "open a savings account": (None, "top_up"),  # a different question, unnamed
    }


def test_signals_keep_their_labels_and_when_the_newest_was_given(store: Store) -> None:
    uid, turn_id = _turn(store, "is my card lost")
    _label(store, turn_id, "ana", True, "card_arrival")
    rated, _ = _turn(store, "top up failed", "top_up")
    _rate(store, rated, "up")  # given after the label
    with store.session() as session:
        rating_at = as_utc(session.scalars(select(Feedback.created_at)).one())

    signals = gather(store, TRAINING)
    assert [(label["turn_id"], label["correct_intent"]) for label in signals.labels] == [
        (turn_id, "card_arrival")
    ]
    assert signals.newest == rating_at

    later = gather(store, TRAINING, rating_at)
    assert (later.labels, later.rows, later.newest) == ([], [], None)
    assert not later.teaches_anything()


def test_only_a_row_or_an_nlu_example_teaches_anything() -> None:
    row = LiveRow(1, datetime.now(UTC), "x", [], True, 1.0, "label")
    assert not Signals().teaches_anything()
    counted = Signals()
    counted.counts["thumbs_down_incomplete"] += 3
    assert not counted.teaches_anything()  # counted, not learned from
    assert not Signals(nlu=LabelledExamples(without_intent=2)).teaches_anything()
    assert Signals(rows=[row]).teaches_anything()
    assert Signals(nlu=LabelledExamples([LabelledText("x", "top_up")])).teaches_anything()
    assert Signals(nlu=LabelledExamples(out_of_scope=["a mortgage"])).teaches_anything()


def test_live_rows_read_back_as_they_were_written(store: Store, tmp_path: Path) -> None:
    _, turn_id = _turn(store, "where is my card")
    _label(store, turn_id, "ana", True, "top_up")
    uid, _ = _turn(store, "has my card been posted")
    _rate(store, uid, "up")
    gathered = gather(store, TRAINING).rows
    by_hand = LiveRow(
        99, datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=UTC), "où est ma carte ? [NAME]",
        [], True, WEIGHTS["thumbs_down_wrong_topic"], "thumbs_down_wrong_topic",
    )  # fmt: skip
    rows = [*gathered, by_hand]
    path = tmp_path / "data" / "live" / LIVE_FILE_NAME

    write_live_rows(path, rows)

    assert read_live_rows(path) == rows
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert json.loads(lines[2])["text"] == "où est ma carte ? [NAME]"  # as stored: redacted
    assert [row.right_intent for row in read_live_rows(path)] == ["top_up", "card_arrival", None]


def test_no_live_rows_leave_no_file(tmp_path: Path) -> None:
    path = tmp_path / LIVE_FILE_NAME
    row = LiveRow(1, datetime.now(UTC), "x", [("top_up", 0.5)], True, 1.0, "label")
    write_live_rows(path, [row])
    write_live_rows(path, [])  # an older file is not left behind
    assert not path.exists()
    assert read_live_rows(path) == []


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        json.dumps({"turn_id": 2, "text": "no time"}),
        json.dumps({"turn_id": 2, "turn_at": "yesterday", "text": "t", "ranking": [],
                    "is_gap": True, "weight": 1, "source": "label"}),
        json.dumps({"turn_id": 2, "turn_at": "2024-05-01T12:00:00+00:00", "text": "t",
                    "ranking": [["top_up"]], "is_gap": True, "weight": 1, "source": "label"}),
        "[1, 2]",
    ],
)  # fmt: skip
def test_a_malformed_live_row_is_an_error_naming_its_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / LIVE_FILE_NAME
    good = LiveRow(1, datetime.now(UTC) - timedelta(days=1), "x", [], False, 0.3, "thumbs_up")
    write_live_rows(path, [good])
    path.write_text(path.read_text(encoding="utf-8") + bad + "\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=rf"{LIVE_FILE_NAME}:2: not a live-turn row"):
        read_live_rows(path)


def _satisfaction(store: Store, conversation: str, score: str) -> None:
    store.apply(new_record("feedback", conversation, kind="conversation", rating=score))


def _answer(store: Store, conversation: str, text: str, decision: str = "answer") -> int:
    record = new_record(
        "turn", conversation, customer_text=text, intent="card_arrival", confidence=0.7,
        intent_ranking=[["card_arrival", 0.7]], decision=decision, answer_intent="card_arrival",
    )  # fmt: skip
    store.apply(record)
    with store.session() as session:
        return int(session.scalars(select(Turn.id).where(Turn.uid == record["uid"])).one())


def test_a_conversations_rating_is_a_weak_label_of_its_last_answer(store: Store) -> None:
    _answer(store, "low", "where is my card")
    last = _answer(store, "low", "it still has not come")
    _answer(store, "high", "has my card been sent")
    happy = _answer(store, "high", "when will it arrive")
    _answer(store, "middle", "card delivery time")
    _answer(store, "only-clarified", "card", decision="clarify")
    for conversation, score in (("low", "2"), ("high", "5"), ("middle", "3"),
                                ("only-clarified", "1")):  # fmt: skip
        _satisfaction(store, conversation, score)

    signals = gather(store, TRAINING)
    rows = {row.turn_id: row for row in signals.rows}
    assert set(rows) == {last, happy}
    assert (rows[last].is_gap, rows[last].source, rows[last].weight) == (
        True, "satisfaction_low", WEIGHTS["satisfaction_low"])  # fmt: skip
    assert rows[last].right_intent is None  # nobody said what was right
    assert (rows[happy].is_gap, rows[happy].right_intent) == (False, "card_arrival")
    assert WEIGHTS["satisfaction_high"] < WEIGHTS["thumbs_up"]  # weaker than one answer's
    assert signals.counts["satisfaction_3"] == 1
    assert signals.counts["satisfaction_without_an_answer"] == 1


def test_a_rating_after_a_handover_or_of_a_rated_answer_teaches_nothing(store: Store) -> None:
    _answer(store, "handed", "I want a refund", decision="escalate")
    _answer(store, "handed", "where is my card")
    store.apply(new_record("escalation", "handed", reason_codes=["high_gap"], brief="b"))
    uid, rated = _turn(store, "is my card on its way")
    _rate(store, uid, "up")
    with store.session() as session:
        conversation = session.scalars(select(Turn.conversation_id).where(Turn.id == rated)).one()
    _satisfaction(store, "handed", "1")
    _satisfaction(store, conversation, "1")

    signals = gather(store, TRAINING)
    assert [(row.turn_id, row.source) for row in signals.rows] == [(rated, "thumbs_up")]
    assert signals.counts["satisfaction_after_handover"] == 1
    assert signals.counts["satisfaction_on_a_rated_or_labelled_turn"] == 1


def test_a_rating_of_a_turn_whose_text_was_removed_teaches_nothing(store: Store) -> None:
    uid, turn_id = _turn(store, "has my card been posted")
    _rate(store, uid, "up")
    with store.session() as session:  # as `gapdesk db prune` leaves an old turn
        session.get(Turn, turn_id).customer_text = None
    signals = gather(store, TRAINING)
    assert signals.rows == []
    assert signals.summary()["not_used"]["rating_on_a_turn_without_text"] == 1
