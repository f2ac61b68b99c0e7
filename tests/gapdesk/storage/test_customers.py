"""Customers' trust, updated where outcomes are recorded (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Customer
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Store:
    upgrade(database_url)
    return Store(make_engine(database_url))


def _turn(customer: str, when: datetime, decision: str, p: float | None, **fields: object) -> dict:
    score = None if p is None else {"probability": p, "reasons": [], "model_version": "t"}
    return new_record(
        "turn",
        customer,
        channel="telegram",
        created_at=when.isoformat(),
        customer_text="where is my card",
        intent="card_arrival",
        decision=decision,
        decision_reasons=fields.pop("decision_reasons", []),
        gap_score=score,
        **fields,
    )


def _customer(store: Store, customer: str) -> Customer | None:
    with store.session() as session:
        return session.get(Customer, customer)


def test_outcomes_update_the_customers_evidence_once_each(store: Store) -> None:
    answered = _turn("tg-1", T0, "answer", 0.25, trust=0.8)
    store.apply(answered)
    store.apply(answered)  # a replay from the spool counts once
    customer = _customer(store, "tg-1")
    assert customer is not None
    assert (customer.channel, customer.good, customer.bad) == ("telegram", 0.75, 0.25)
    assert (customer.answers, customer.thumbs_down, customer.handovers) == (1, 0, 0)

    down = new_record("feedback", "tg-1", turn_uid=answered["uid"], rating="down",
                      created_at=T0.isoformat())  # fmt: skip
    store.apply(down)
    store.apply({**down, "reason": "wrong_answer"})  # a reason after the thumbs down
    escalation = new_record("escalation", "tg-1", reason_codes=["high_gap"], brief="",
                            created_at=T0.isoformat())  # fmt: skip
    store.apply(escalation)
    store.apply(escalation)
    customer = _customer(store, "tg-1")
    assert customer is not None
    assert (customer.good, customer.bad) == (0.75, 4.25)  # + 2 thumbs down, + 2 hand-over
    assert (customer.answers, customer.thumbs_down, customer.handovers) == (1, 1, 1)
    # trust (4 + 0.75) / (5 + 0.75 + 4.25) = 0.475, and half the evidence 14 days later
    assert store.customer_trust("tg-1", now=T0) == pytest.approx(0.475)
    later = T0 + timedelta(days=14)
    assert store.customer_trust("tg-1", now=later) == pytest.approx(4.375 / 7.5)


def test_evidence_decays_between_outcomes(store: Store) -> None:
    store.apply(_turn("tg-2", T0, "clarify", 0.6, decision_reasons=["doubtful"]))
    store.apply(_turn("tg-2", T0 + timedelta(days=14), "answer", None))
    customer = _customer(store, "tg-2")
    assert customer is not None
    assert (customer.good, customer.bad) == (1.0, 0.25)  # bad 0.5 halved, then good 1


def test_agent_turns_and_unknown_customers_leave_trust_alone(store: Store) -> None:
    store.apply(new_record("turn", "tg-3", kind="agent", answer_text="hi", author="ana"))
    assert _customer(store, "tg-3") is None
    assert store.customer_trust("tg-3") == 0.8
    assert store.customer_trust("nobody") == 0.8


def test_the_conversation_shows_the_customers_trust_and_each_turns(store: Store) -> None:
    store.apply(_turn("tg-4", datetime.now(UTC), "answer", 0.0, trust=0.8))
    conversation = store.conversation("tg-4")
    assert conversation is not None
    assert conversation["trust"] == pytest.approx(5 / 6, abs=1e-4)  # good 1: 5 / 6
    assert conversation["turns"][0]["trust"] == 0.8


def test_a_pseudonymised_conversation_shows_no_trust(store: Store) -> None:
    """`gapdesk db prune` renames old conversations; the customer row keeps the real id
    (or is gone), so a new customer's trust would be a wrong figure to show."""
    store.apply(_turn("anon-3f2a", datetime.now(UTC), "answer", 0.9))
    with store.session() as session:
        session.delete(session.get(Customer, "anon-3f2a"))
    conversation = store.conversation("anon-3f2a")
    assert conversation is not None and conversation["trust"] is None


def test_hand_overs_that_say_nothing_of_the_service_leave_trust_alone(store: Store) -> None:
    when = datetime.now(UTC)
    for n, reasons in enumerate((["scorer_failed"], ["high_gap", "low_trust"])):
        customer = f"tg-quiet-{n}"
        store.apply(new_record("escalation", customer, channel="telegram",
                               created_at=when.isoformat(), reason_codes=reasons))  # fmt: skip
        found = _customer(store, customer)
        assert found is None or (found.good, found.bad) == (0.0, 0.0)
