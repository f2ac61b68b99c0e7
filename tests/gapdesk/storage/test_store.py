from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from gapdesk.errors import StorageError
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Base, GapScoreRow
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine


@pytest.fixture
def store(database_url: str) -> Store:
    upgrade(database_url)
    return Store(make_engine(database_url))


def _turn(conversation_id: str = "c1", **fields: object) -> dict:
    record = new_record(
        "turn",
        conversation_id,
        channel="rest",
        customer_text="my card hasn't arrived",
        intent="card_arrival",
        confidence=0.91,
        intent_ranking=[["card_arrival", 0.91], ["card_delivery_estimate", 0.05]],
        answer_intent="card_arrival",
        answer_text="Cards take 3-5 working days.",
        decision="answer",
        decision_reasons=[],
        gap_score={
            "probability": 0.12,
            "reasons": [{"code": "low_confidence", "text": "x", "weight": 0.4}],
            "model_version": "gap-test",
            "latency_ms": 3.2,
        },
    )
    record.update(fields)
    return record


def test_the_gap_models_features_are_stored_with_its_score(store: Store) -> None:
    record = _turn()
    record["gap_score"]["features"] = {"top_confidence": 0.91, "sim_out_of_scope": 0.2}
    store.apply(record)
    store.apply(_turn("c2"))  # a score without features (a model from before)
    with store.session() as session:
        stored = session.execute(select(GapScoreRow.features).order_by(GapScoreRow.id)).all()
    assert [row[0] for row in stored] == [
        {"top_confidence": 0.91, "sim_out_of_scope": 0.2},
        None,
    ]


def test_migrations_create_every_table_of_the_models(database_url: str) -> None:
    upgrade(database_url)
    tables = set(inspect(make_engine(database_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_a_turn_is_stored_with_its_score_and_read_back(store: Store) -> None:
    store.apply(_turn())
    conversation = store.conversation("c1")
    assert conversation is not None
    assert conversation["channel"] == "rest"
    [turn] = conversation["turns"]
    assert turn["intent"] == "card_arrival"
    assert turn["intent_ranking"][1] == ["card_delivery_estimate", 0.05]
    assert turn["gap_score"]["probability"] == pytest.approx(0.12)
    assert turn["gap_score"]["reasons"][0]["code"] == "low_confidence"
    assert turn["gap_score"]["model_version"] == "gap-test"


def test_replaying_the_same_record_writes_it_once(store: Store) -> None:
    record = _turn()
    store.apply(record)
    store.apply(record)
    assert len(store.conversation("c1")["turns"]) == 1


def test_escalation_marks_the_conversation_escalated(store: Store) -> None:
    store.apply(_turn())
    store.apply(
        new_record("escalation", "c1", reason_codes=["high_gap"], brief="b", gap_probability=0.9)
    )
    conversation = store.conversation("c1")
    assert conversation["status"] == "escalated"
    assert conversation["escalations"][0]["reason_codes"] == ["high_gap"]
    assert [c["id"] for c in store.list_conversations(status="escalated")] == ["c1"]


def test_unicode_and_hostile_text_is_stored_verbatim(store: Store) -> None:
    hostile = "<script>alert(1)</script>'; DROP TABLE turns; -- ü 你好 \u0007"
    store.apply(_turn(customer_text=hostile))
    assert store.conversation("c1")["turns"][0]["customer_text"] == hostile


def test_unknown_record_type_is_a_storage_error(store: Store) -> None:
    with pytest.raises(StorageError):
        store.apply({"type": "nonsense", "conversation_id": "c1"})


def test_missing_conversation_is_none(store: Store) -> None:
    assert store.conversation("nope") is None


def test_models_and_migrations_agree(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(database_url)
    with make_engine(database_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
