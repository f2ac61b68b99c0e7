"""Where the bot fails: the period's bot turns by intent and its answers by topic,
worst first, with a few of the customers' own messages as examples."""

from __future__ import annotations

from typing import Any

import pandas as pd

from gapdesk.reports.views import share
from gapmodel.redaction import redact

EXAMPLES = 3
EXAMPLE_CHARACTERS = 120
NO_INTENT = "(no intent)"


def by_intent(outcomes: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per NLU intent (the top of the ranking) of the period's bot turns.

    ``gap_rate``: gap turns / turns, where a gap turn (gapdesk.reports.outcomes) was
    labelled "gap" by a person, or was not labelled "no gap" and the bot clarified,
    handed over, or answered with a missed gap. Worst first: most gap turns, then the
    highest gap rate, then the most turns.
    """
    rows = []
    for intent, turns in outcomes.groupby(outcomes["intent"].fillna(NO_INTENT)):
        gap_turns = int(turns["gap_turn"].sum())
        rows.append(
            {
                "intent": str(intent),
                "turns": len(turns),
                "gap_turns": gap_turns,
                "gap_rate": share(gap_turns, len(turns)),
                "missed_gaps": int(turns["missed_gap"].sum()),
                "thumbs_up": int(turns["thumbs_up"].sum()),
                "thumbs_down": int(turns["thumbs_down"].sum()),
                "hand_overs": int(turns["escalated"].sum()),
                "examples": examples(turns, turns["gap_turn"]),
            }
        )
    return sorted(rows, key=lambda r: (-r["gap_turns"], -(r["gap_rate"] or 0), -r["turns"]))


def by_answer(outcomes: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per knowledge-base answer given (``answer_intent``) in the period.

    ``missed_rate``: answers that were a missed gap / answers given. Worst first: most
    missed gaps, then the highest missed rate, then the most answers.
    """
    answered = outcomes[outcomes["answered"]]
    rows = []
    for answer, turns in answered.groupby(answered["answer_intent"].fillna(NO_INTENT)):
        missed = int(turns["missed_gap"].sum())
        rows.append(
            {
                "answer": str(answer),
                "answers": len(turns),
                "missed_gaps": missed,
                "missed_rate": share(missed, len(turns)),
                "thumbs_up": int(turns["thumbs_up"].sum()),
                "thumbs_down": int(turns["thumbs_down"].sum()),
                "rephrased_after": int(turns["rephrased_after"].sum()),
                "handed_over_after": int(turns["handed_over_after"].sum()),
                "examples": examples(turns, turns["missed_gap"]),
            }
        )
    return sorted(rows, key=lambda r: (-r["missed_gaps"], -(r["missed_rate"] or 0), -r["answers"]))


def examples(turns: pd.DataFrame, failed: pd.Series) -> list[str]:
    """Up to :data:`EXAMPLES` different customer messages, failed ones first, newest
    first within each; redacted once more (the stored text is already) and shortened."""
    ordered = turns.assign(failed=failed).sort_values(
        ["failed", "created_at"], ascending=False, kind="stable"
    )
    found: list[str] = []
    for text in ordered["customer_text"]:
        shown = _shortened(redact(text) if isinstance(text, str) else None)
        if shown and shown not in found:
            found.append(shown)
        if len(found) == EXAMPLES:
            break
    return found


def _shortened(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= EXAMPLE_CHARACTERS else flat[: EXAMPLE_CHARACTERS - 1] + "…"
