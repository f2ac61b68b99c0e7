"""People's labels become training files: NLU examples and out-of-scope examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gapdesk.cli import main
from gapdesk.datasets import LabelledText, read_lines, read_rasa_nlu, write_rasa_nlu
from gapdesk.labels import OUT_OF_SCOPE, apply_labels, export_labels, training_examples
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Label, Turn
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine

TRAINING = [
    LabelledText("my card has not arrived", "card_arrival"),
    LabelledText("I want my money back", "request_refund"),
    LabelledText("hello", "greet"),
]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    upgrade(url)
    return Store(make_engine(url))


def _labelled_turn(
    store: Store,
    text: str,
    predicted: str,
    *labels: tuple[bool, str | None],
) -> None:
    """A bot turn on ``text`` with ``labels`` (is_gap, correct_intent), oldest first."""
    store.apply(
        new_record("turn", f"c-{text}", channel="rest", customer_text=text, intent=predicted,
                   confidence=0.9, intent_ranking=[[predicted, 0.9]], answer_intent=predicted,
                   answer_text="an answer", decision="answer", decision_reasons=[])
    )  # fmt: skip
    start = datetime.now(UTC)
    with store.session() as session:
        turn_id = session.scalar(select(Turn.id).where(Turn.customer_text == text))
        for minutes, (is_gap, intent) in enumerate(labels):
            session.add(
                Label(turn_id=turn_id, author="agent", is_gap=is_gap, correct_intent=intent,
                      created_at=start + timedelta(minutes=minutes))
            )  # fmt: skip


def test_each_kind_of_label_teaches_what_it_says(store: Store) -> None:
    _labelled_turn(store, "where is my new card", "request_refund", (True, "card_arrival"))
    _labelled_turn(store, "my card came, thanks", "card_arrival", (False, None))
    _labelled_turn(store, "can I get a mortgage", "request_refund", (True, OUT_OF_SCOPE))
    _labelled_turn(store, "something odd", "card_arrival", (True, None))
    _labelled_turn(store, "wire money abroad", "card_arrival", (True, "no_longer_an_intent"))
    _labelled_turn(store, "My card has NOT arrived", "request_refund", (True, "card_arrival"))
    _labelled_turn(store, "hello", "card_arrival", (True, "request_refund"))

    learned = training_examples(export_labels(store), TRAINING)

    assert sorted((e.text, e.label) for e in learned.intent_examples) == [
        ("my card came, thanks", "card_arrival"),
        ("where is my new card", "card_arrival"),
    ]
    assert learned.out_of_scope == ["can I get a mortgage"]
    assert learned.without_intent == 1
    assert learned.unknown_intent == 1
    assert learned.already_known == 1  # the same text, any case, is an example already
    assert learned.conflicting == 1  # "hello" is a greeting in the training data


def test_the_newest_label_of_a_turn_counts(store: Store) -> None:
    _labelled_turn(store, "top up failed", "card_arrival", (False, None), (True, "request_refund"))
    learned = training_examples(export_labels(store), TRAINING)
    assert learned.intent_examples == [LabelledText("top up failed", "request_refund")]


def test_a_turn_two_people_labelled_both_ways_teaches_nothing(store: Store) -> None:
    _labelled_turn(store, "top up failed", "card_arrival", (True, "request_refund"))
    with store.session() as session:
        turn = session.scalar(select(Turn.id).where(Turn.customer_text == "top up failed"))
        session.add(
            Label(turn_id=turn, author="supervisor", is_gap=False, correct_intent=None,
                  created_at=datetime.now(UTC) + timedelta(hours=1))
        )  # fmt: skip
    learned = training_examples(export_labels(store), TRAINING)
    assert learned.intent_examples == [] and learned.out_of_scope == []


def test_a_text_labelled_on_two_turns_counts_with_its_newest_label(store: Store) -> None:
    # Turn A is labelled first and last; turn B, with the same text, in between.
    _labelled_turn(store, "top up failed", "card_arrival", (True, "request_refund"))
    _labelled_turn(store, "Top up failed", "card_arrival", (True, "card_arrival"))
    with store.session() as session:
        first = session.scalar(select(Turn.id).where(Turn.customer_text == "top up failed"))
        session.add(
            Label(turn_id=first, author="supervisor", is_gap=True, correct_intent="greet",
                  created_at=datetime.now(UTC) + timedelta(hours=1))
        )  # fmt: skip
    learned = training_examples(export_labels(store), TRAINING)
    assert learned.intent_examples == [LabelledText("top up failed", "greet")]


def test_apply_writes_files_rasa_and_training_read_back(store: Store, tmp_path: Path) -> None:
    nlu, out_of_scope = tmp_path / "nlu", tmp_path / "out_of_scope"
    write_rasa_nlu({"card_arrival": ["my card has not arrived"]}, nlu / "bank.yml", "test")
    _labelled_turn(store, "where is my [new](thing) card", "x", (True, "card_arrival"))
    _labelled_turn(store, "# can I get a mortgage", "x", (True, OUT_OF_SCOPE))

    apply_labels(store, nlu, out_of_scope)

    assert read_rasa_nlu([nlu / "labels.yml"]) == [
        LabelledText("where is my (new) card", "card_arrival")  # never an entity label
    ]
    assert read_lines(out_of_scope / "labels.txt") == ["can I get a mortgage"]
    apply_labels(store, nlu, out_of_scope)  # again: the same, not twice as much
    assert len(read_rasa_nlu([nlu])) == 2


def test_apply_leaves_no_empty_file_behind(store: Store, tmp_path: Path) -> None:
    nlu, out_of_scope = tmp_path / "nlu", tmp_path / "out_of_scope"
    write_rasa_nlu({"card_arrival": ["my card has not arrived"]}, nlu / "bank.yml", "test")
    (nlu / "labels.yml").write_text("stale", "utf-8")
    apply_labels(store, nlu, out_of_scope)  # no labels at all
    assert not (nlu / "labels.yml").exists() and not (out_of_scope / "labels.txt").exists()


def test_the_command_says_what_it_wrote_and_skipped(
    store: Store,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nlu, out_of_scope = tmp_path / "nlu", tmp_path / "out_of_scope"
    write_rasa_nlu({"card_arrival": ["my card has not arrived"]}, nlu / "bank.yml", "test")
    _labelled_turn(store, "where is my new card", "x", (True, "card_arrival"))
    _labelled_turn(store, "something odd", "x", (True, None))
    monkeypatch.setenv("GAPDESK_DATABASE_URL", str(store.engine.url))
    monkeypatch.chdir(tmp_path)  # so no .env of the working directory is read
    argv = ["labels", "apply", "--nlu", str(nlu), "--out-of-scope", str(out_of_scope)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "1 NLU examples for 1 intents" in printed
    assert "skipped 1: a gap with no intent given" in printed
