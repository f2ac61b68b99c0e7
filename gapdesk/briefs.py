"""The short "where it went wrong" brief an agent reads before taking over."""

from __future__ import annotations

from collections.abc import Sequence

from gapmodel.redaction import redact


def _quote(text: str, limit: int = 160) -> str:
    text = " ".join((redact(text) or "").split())
    return f"“{text[: limit - 1]}…”" if len(text) > limit else f"“{text}”"


def build_brief(
    customer_texts: Sequence[str],
    bot_texts: Sequence[str],
    intent: str | None,
    confidence: float | None,
    gap_probability: float | None,
    reason_texts: Sequence[str],
    decision_reasons: Sequence[str],
) -> str:
    """One paragraph: what the customer wants, where the gap opened, what the bot tried."""
    parts = []
    if customer_texts:
        parts.append(f"The customer wrote {_quote(customer_texts[-1])}.")
    if intent:
        understood = f"The bot read it as {intent}"
        if confidence is not None:
            understood += f" ({confidence:.0%} sure)"
        parts.append(understood + ".")
    if gap_probability is not None:
        why = "; ".join(reason_texts[:2])
        parts.append(f"Gap score {gap_probability:.2f}" + (f": {why}." if why else "."))
    if "asked_for_human" in decision_reasons:
        parts.append("The customer asked for a person.")
    if "scorer_failed" in decision_reasons:
        parts.append("The gap scorer failed, so the bot did not risk an answer.")
    if len(customer_texts) > 1:
        earlier = "; ".join(_quote(t, 80) for t in customer_texts[-3:-1])
        parts.append(f"Earlier the customer wrote {earlier}.")
    if bot_texts:
        parts.append(f"The bot last said {_quote(bot_texts[-1], 120)}.")
    return " ".join(parts)
