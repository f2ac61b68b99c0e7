"""Unit tests of gapmodel.decision: conversation signals and answer/clarify/escalate."""

from __future__ import annotations

import pytest

from gapmodel.costs import Costs
from gapmodel.decision import (
    ANSWER,
    CLARIFY,
    ESCALATE,
    ConversationSignals,
    Decision,
    DecisionReason,
    decide,
    read_signals,
)
from gapmodel.types import GapScore

MAX_FAILURES = 2
# A wrong answer costs 10, an unneeded hand-over 20, a clarification 3; with a
# clarification offering the right topic 70 % of the time, the cheapest action is:
# answer below 3 / 7 = 0.43, escalate from 17 / 23 = 0.74, clarify in between.
COSTS = Costs(missed_gap=10.0, handoff=20.0, clarification=3.0)
HIT_RATE = 0.7
CLARIFY_AT, ESCALATE_AT = 0.43, 0.74  # just above the break-even points


def _score(
    probability: float, hit_rate: float | None = HIT_RATE, intent: str | None = None
) -> GapScore:
    return GapScore(
        probability,
        reasons=[],
        model_version="t",
        latency_ms=1.0,
        intent=intent,
        clarification_hit_rate=hit_rate,
    )


def _decide(
    probability: float | None,
    signals: ConversationSignals | None = None,
    has_answer: bool = True,
    costs: Costs = COSTS,
    hit_rate: float = HIT_RATE,
) -> Decision:
    return decide(
        None if probability is None else _score(probability, hit_rate),
        signals or ConversationSignals(),
        has_answer=has_answer,
        costs=costs,
        max_failures=MAX_FAILURES,
    )


# read_signals


@pytest.mark.parametrize(
    "text", ["I want to talk to a person", "can I speak to an agent?", "get me a HUMAN"]
)
def test_asking_for_a_person_is_detected(text: str) -> None:
    assert read_signals(text, [], 0).asked_for_human


def test_merely_mentioning_an_agent_is_not_asking_for_one() -> None:
    assert not read_signals("my agent said the fee was waived", [], 0).asked_for_human


@pytest.mark.parametrize(
    "text",
    [
        "I want to transfer money to another person",
        "my agent said I would get a refund",
    ],
)
def test_a_person_mentioned_next_to_an_unrelated_verb_is_not_a_request(text: str) -> None:
    # Found bug: any request verb anywhere in the message ("transfer", "get") turns a
    # mention of a person into a request for one, so the bot escalates at once.
    assert not read_signals(text, [], 0).asked_for_human


def test_rephrase_of_an_earlier_message_is_detected() -> None:
    signals = read_signals("my card was blocked at the shop", ["the shop blocked my card"], 0)
    assert signals.rephrased


def test_a_new_question_is_not_a_rephrase() -> None:
    signals = read_signals("what is the exchange rate", ["the shop blocked my card"], 0)
    assert not signals.rephrased


def test_only_the_last_two_earlier_messages_count_for_rephrasing() -> None:
    earlier = ["the shop blocked my card", "hello there", "thanks a lot"]
    assert not read_signals("the shop blocked my card", earlier, 0).rephrased


@pytest.mark.parametrize("text", ["this is useless", "you don't understand", "why???"])
def test_frustration_is_detected(text: str) -> None:
    assert read_signals(text, [], 0).frustrated


def test_a_calm_message_is_not_frustrated() -> None:
    assert not read_signals("thanks, that helps", [], 0).frustrated


def test_failures_are_passed_through() -> None:
    assert read_signals("hello", [], 3).failures == 3


# decide


def test_asked_for_human_escalates_even_with_a_good_score() -> None:
    decision = _decide(0.01, ConversationSignals(asked_for_human=True))
    assert decision == Decision(ESCALATE, [DecisionReason.ASKED_FOR_HUMAN])


def test_failed_scorer_escalates() -> None:
    assert _decide(None) == Decision(ESCALATE, [DecisionReason.SCORER_FAILED])


def test_no_answer_clarifies() -> None:
    assert _decide(0.01, has_answer=False) == Decision(CLARIFY, [DecisionReason.NO_ANSWER])


def test_no_answer_after_repeated_failures_escalates() -> None:
    decision = _decide(0.01, ConversationSignals(failures=MAX_FAILURES), has_answer=False)
    assert decision == Decision(
        ESCALATE, [DecisionReason.NO_ANSWER, DecisionReason.REPEATED_FAILURE]
    )


def test_high_gap_escalates() -> None:
    assert _decide(ESCALATE_AT) == Decision(ESCALATE, [DecisionReason.HIGH_GAP])


def test_middle_gap_clarifies() -> None:
    assert _decide(CLARIFY_AT) == Decision(CLARIFY, [DecisionReason.DOUBTFUL])


def test_just_below_the_break_even_points_the_cheaper_action_wins() -> None:
    assert _decide(0.42).action == ANSWER
    assert _decide(0.73).action == CLARIFY


def test_a_tie_goes_to_the_safer_action() -> None:
    # At p = 0.5 answering (5) and handing over (10 * 0.5) cost the same.
    even = Costs(missed_gap=10.0, handoff=10.0, clarification=10.0)
    assert even.cheapest(0.5, 0.0) == ESCALATE


def test_expected_costs_follow_the_cost_model() -> None:
    expected = COSTS.expected(0.5, 0.7)
    assert expected == pytest.approx({ANSWER: 5.0, CLARIFY: 3.0 + 0.5 * 0.3 * 10, ESCALATE: 10.0})


def test_a_clarification_that_rarely_offers_the_right_topic_is_not_worth_asking() -> None:
    # With the right topic offered 20 % of the time, asking costs more than it saves:
    # the bot answers up to the answer/escalate break-even 20 / 30, then hands over.
    assert [_decide(p, hit_rate=0.2).action for p in (0.5, 0.66, 0.67)] == [
        ANSWER,
        ANSWER,
        ESCALATE,
    ]


def test_a_costlier_missed_gap_makes_the_bot_more_careful() -> None:
    careful = Costs(missed_gap=40.0, handoff=20.0, clarification=3.0)
    assert _decide(0.2).action == ANSWER
    assert _decide(0.2, costs=careful).action == CLARIFY
    assert _decide(0.6, costs=careful).action == ESCALATE


def test_free_hand_overs_always_escalate_a_possible_gap() -> None:
    assert _decide(0.01, costs=Costs(missed_gap=10.0, handoff=0.0, clarification=3.0)) == (
        Decision(ESCALATE, [DecisionReason.HIGH_GAP])
    )


def test_a_score_without_the_models_hit_rate_uses_the_default_estimate() -> None:
    score = _score(0.6, hit_rate=None)
    decision = decide(score, ConversationSignals(), True, COSTS, MAX_FAILURES)
    assert decision.action == CLARIFY


def test_middle_gap_after_repeated_failures_escalates() -> None:
    decision = _decide(0.5, ConversationSignals(failures=MAX_FAILURES))
    assert decision == Decision(
        ESCALATE, [DecisionReason.DOUBTFUL, DecisionReason.REPEATED_FAILURE]
    )


def test_low_gap_answers() -> None:
    decision = _decide(0.1)
    assert decision == Decision(ANSWER, [])
    assert decision.is_plain_answer


def test_rephrase_with_earlier_failure_escalates_a_low_gap_answer() -> None:
    decision = _decide(0.1, ConversationSignals(rephrased=True, failures=MAX_FAILURES - 1))
    assert decision == Decision(
        ESCALATE, [DecisionReason.REPHRASED, DecisionReason.REPEATED_FAILURE]
    )


def test_rephrase_without_earlier_failures_still_answers() -> None:
    decision = _decide(0.1, ConversationSignals(rephrased=True))
    assert decision == Decision(ANSWER, [DecisionReason.REPHRASED])


def test_earlier_failures_alone_do_not_escalate_a_low_gap_answer() -> None:
    assert _decide(0.1, ConversationSignals(failures=MAX_FAILURES)).action == ANSWER


def test_clarify_and_escalate_are_not_plain_answers() -> None:
    assert _decide(0.5).action == CLARIFY
    assert not _decide(0.5).is_plain_answer
    assert _decide(0.9).action == ESCALATE
    assert not _decide(0.9).is_plain_answer


def test_an_answer_given_despite_a_reason_is_not_a_plain_answer() -> None:
    # The customer rephrased: the bot still answers, but the run of failures goes on.
    decision = _decide(0.1, ConversationSignals(rephrased=True))
    assert decision.action == ANSWER
    assert not decision.is_plain_answer


@pytest.mark.parametrize(
    "text",
    [
        "can I give somebody access to my account",
        "I want someone else to use my card",
        "I need a manager's approval for a transfer",
    ],
)
def test_banking_questions_that_mention_people_are_not_requests_for_one(text: str) -> None:
    assert not read_signals(text, [], 0).asked_for_human


def test_repeating_a_short_reply_is_not_a_rephrase() -> None:
    assert not read_signals("thanks", ["thanks"], 0).rephrased


def test_a_costlier_missed_gap_decides_with_its_own_reason() -> None:
    """p = 0.3: answer 3 < clarify 3.9; with the missed gap twice as costly, answer 6,
    clarify 3 + 0.3 x 6 = 4.8, escalate 14: clarify, because of the factor."""
    signals = ConversationSignals()
    assert decide(_score(0.3), signals, True, COSTS, MAX_FAILURES) == Decision(ANSWER, [])
    wary = decide(_score(0.3), signals, True, COSTS, MAX_FAILURES, COSTS, missed_gap_factor=2.0)
    assert wary == Decision(CLARIFY, [DecisionReason.DOUBTFUL, DecisionReason.LOW_TRUST])
    same = decide(_score(0.1), signals, True, COSTS, MAX_FAILURES, COSTS, missed_gap_factor=2.0)
    assert same == Decision(ANSWER, [])  # the factor changed nothing: no reason
