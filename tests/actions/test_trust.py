"""The customer's trust in the decision: a customer the bot has failed is handed over sooner."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionGapAnswer
from gapdesk.settings import Settings
from tests.actions.conftest import as_sent, make_tracker, rasa_domain

CARD = [("card_arrival", 0.92), ("card_delivery_estimate", 0.05), ("lost_or_stolen_card", 0.02)]


@dataclass
class FakeTrust:
    """A customer's trust as the store would give it, or a failure, or a slow answer."""

    value: float = 0.8
    error: Exception | None = None
    delay: float = 0.0
    asked: list[str] = field(default_factory=list)

    def customer_trust(self, customer_id: str) -> float:
        self.asked.append(customer_id)
        time.sleep(self.delay)
        if self.error:
            raise self.error
        return self.value


def _run(text: str = "where is my card") -> list[dict]:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionGapAnswer().run(dispatcher, make_tracker(text, CARD), rasa_domain()))
    return as_sent(dispatcher.messages)


def test_the_same_gap_is_clarified_for_a_trusted_customer_and_handed_over_for_a_failed_one(
    services, scorer, recorder
) -> None:
    """p = 0.67, costs 10 / 20 / 3, hit rate 0.7: trusted, clarify 5.01 < escalate 6.6
    < answer 6.7; at trust 0 (weight 1) a missed gap costs 20: escalate 6.6 < clarify 7.02."""
    scorer.probability = 0.67
    trust = FakeTrust(0.8)
    services.trust = trust
    assert _run()[0]["response"] == "utter_clarify"
    trust.value = 0.0
    assert _run()[0]["response"] == "utter_hand_over"
    assert trust.asked == ["conv-1", "conv-1"]  # the sender id is the customer's
    trusted, fallen = recorder.of_type("turn")
    assert (trusted["decision"], trusted["trust"]) == ("clarify", 0.8)
    assert (fallen["decision"], fallen["trust"]) == ("escalate", 0.0)
    assert fallen["decision_reasons"] == ["high_gap", "low_trust"]
    [escalation] = recorder.of_type("escalation")
    assert "low_trust" in escalation["reason_codes"]


def test_a_gap_answered_for_a_trusted_customer_escalates_for_one_whose_trust_fell(
    services, scorer, recorder
) -> None:
    """p = 0.4: answer 4 < clarify 4.2 < escalate 12 with M = 10; at trust 0 and weight 7,
    M = 80: escalate 12 < clarify 12.6 < answer 32."""
    services.settings = Settings(trust_weight=7.0)
    scorer.probability = 0.4
    services.trust = FakeTrust(0.8)
    assert _run()[0]["text"] == services.knowledge_base.get("card_arrival").text
    services.trust = FakeTrust(0.0)
    assert _run()[0]["response"] == "utter_hand_over"
    assert [t["decision"] for t in recorder.of_type("turn")] == ["answer", "escalate"]


@pytest.mark.parametrize(
    "trust", [FakeTrust(0.0, error=RuntimeError("database is down")), FakeTrust(0.0, delay=0.6)]
)
def test_trust_that_cannot_be_read_decides_as_for_a_new_customer(
    services, scorer, recorder, trust, caplog
) -> None:
    scorer.probability = 0.67
    services.trust = trust
    assert _run()[0]["response"] == "utter_clarify"  # not the hand-over trust 0 would give
    [turn] = recorder.of_type("turn")
    assert turn["trust"] is None
    assert "deciding as for a new customer" in caplog.text


def test_without_a_trust_source_every_customer_is_new(services, scorer, recorder) -> None:
    scorer.probability = 0.67
    assert _run()[0]["response"] == "utter_clarify"
    assert recorder.of_type("turn")[0]["trust"] is None
