"""Unit tests of gapdesk.briefs: the agent's "where it went wrong" paragraph."""

from __future__ import annotations

from collections.abc import Sequence

from gapdesk.briefs import build_brief


def _brief(
    customer_texts: Sequence[str] = ("where is my card?",),
    bot_texts: Sequence[str] = (),
    intent: str | None = "card_arrival",
    confidence: float | None = 0.42,
    gap_probability: float | None = 0.81,
    reason_texts: Sequence[str] = (),
    decision_reasons: Sequence[str] = (),
) -> str:
    return build_brief(
        customer_texts,
        bot_texts,
        intent,
        confidence,
        gap_probability,
        reason_texts,
        decision_reasons,
    )


def test_quotes_the_last_customer_message() -> None:
    brief = _brief(customer_texts=["hello", "my card never arrived"])
    assert "“my card never arrived”" in brief


def test_redacts_personal_data_in_the_quote() -> None:
    brief = _brief(customer_texts=["card 4111 1111 1111 1111, mail ann@example.com"])
    assert "4111" not in brief
    assert "ann@example.com" not in brief


def test_redacts_earlier_customer_messages_and_the_bot_text() -> None:
    brief = _brief(
        customer_texts=["call +44 20 7946 0958", "still waiting"],
        bot_texts=["we will write to ann@example.com"],
    )
    assert "7946" not in brief
    assert "ann@example.com" not in brief


def test_mentions_intent_and_confidence() -> None:
    brief = _brief(intent="card_arrival", confidence=0.42)
    assert "card_arrival" in brief
    assert "42%" in brief


def test_leaves_out_confidence_when_unknown() -> None:
    assert "%" not in _brief(confidence=None)


def test_mentions_gap_score_and_its_first_two_reasons() -> None:
    brief = _brief(
        gap_probability=0.812,
        reason_texts=["unlike the examples", "closer to another topic", "third reason"],
    )
    assert "0.81" in brief
    assert "unlike the examples" in brief
    assert "closer to another topic" in brief
    assert "third reason" not in brief


def test_mentions_request_for_a_person_when_that_is_a_reason() -> None:
    asked = _brief(decision_reasons=["asked_for_human"])
    not_asked = _brief(decision_reasons=["high_gap"])
    assert "asked for a person" in asked
    assert "asked for a person" not in not_asked


def test_mentions_a_failed_scorer() -> None:
    assert "scorer failed" in _brief(gap_probability=None, decision_reasons=["scorer_failed"])


def test_cuts_a_long_last_message() -> None:
    long_text = "word " * 100
    brief = _brief(customer_texts=[long_text])
    assert long_text.strip() not in brief
    assert "…”" in brief
    assert len(brief) < len(long_text) + 100


def test_cuts_each_quote_to_its_own_length() -> None:
    # earlier messages are cut shortest, then the bot's text, the last message least
    brief = _brief(customer_texts=["q" * 300, "z" * 300], bot_texts=["j" * 300])
    assert 0 < brief.count("q") < brief.count("j") < brief.count("z") < 300


def test_empty_conversation_gives_an_empty_brief() -> None:
    assert _brief(customer_texts=[], intent=None, gap_probability=None) == ""
