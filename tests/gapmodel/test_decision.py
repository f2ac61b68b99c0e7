"""Unit tests of gapmodel.decision: conversation signals and answer/clarify/escalate."""

from __future__ import annotations

import pytest

from gapmodel.decision import (
    ANSWER,
    CLARIFY,
    ESCALATE,
    ConversationSignals,
    Decision,
    Reason,
    decide,
    read_signals,
)
from gapmodel.scorer import GapScore

ESCALATE_AT, CLARIFY_AT, MAX_FAILURES = 0.75, 0.45, 2


def _score(probability: float) -> GapScore:
    return GapScore(probability, reasons=[], model_version="t", latency_ms=1.0)


def _decide(
    probability: float | None,
    signals: ConversationSignals | None = None,
    has_answer: bool = True,
) -> Decision:
    return decide(
        None if probability is None else _score(probability),
        signals or ConversationSignals(),
        has_answer=has_answer,
        escalate_threshold=ESCALATE_AT,
        clarify_threshold=CLARIFY_AT,
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
    assert decision == Decision(ESCALATE, [Reason.ASKED_FOR_HUMAN])


def test_failed_scorer_escalates() -> None:
    assert _decide(None) == Decision(ESCALATE, [Reason.SCORER_FAILED])


def test_no_answer_clarifies() -> None:
    assert _decide(0.01, has_answer=False) == Decision(CLARIFY, [Reason.NO_ANSWER])


def test_no_answer_after_repeated_failures_escalates() -> None:
    decision = _decide(0.01, ConversationSignals(failures=MAX_FAILURES), has_answer=False)
    assert decision == Decision(ESCALATE, [Reason.NO_ANSWER, Reason.REPEATED_FAILURE])


def test_high_gap_escalates() -> None:
    assert _decide(ESCALATE_AT) == Decision(ESCALATE, [Reason.HIGH_GAP])


def test_middle_gap_clarifies() -> None:
    assert _decide(CLARIFY_AT) == Decision(CLARIFY, [Reason.DOUBTFUL])


def test_middle_gap_after_repeated_failures_escalates() -> None:
    decision = _decide(0.5, ConversationSignals(failures=MAX_FAILURES))
    assert decision == Decision(ESCALATE, [Reason.DOUBTFUL, Reason.REPEATED_FAILURE])


def test_low_gap_answers() -> None:
    decision = _decide(0.1)
    assert decision == Decision(ANSWER, [])
    assert not decision.counts_as_failure


def test_rephrase_with_earlier_failure_escalates_a_low_gap_answer() -> None:
    decision = _decide(0.1, ConversationSignals(rephrased=True, failures=MAX_FAILURES - 1))
    assert decision == Decision(ESCALATE, [Reason.REPHRASED, Reason.REPEATED_FAILURE])


def test_rephrase_without_earlier_failures_still_answers() -> None:
    decision = _decide(0.1, ConversationSignals(rephrased=True))
    assert decision == Decision(ANSWER, [Reason.REPHRASED])


def test_earlier_failures_alone_do_not_escalate_a_low_gap_answer() -> None:
    assert _decide(0.1, ConversationSignals(failures=MAX_FAILURES)).action == ANSWER


def test_clarify_counts_as_failure() -> None:
    assert _decide(0.5).counts_as_failure


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
