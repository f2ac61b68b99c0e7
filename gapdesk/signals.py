"""What the bot can learn from its live turns: people's labels and customers' ratings.

Each signal is turned into a gap-model training row from the live turn itself (the
redacted text and the NLU ranking the bot saw, labelled gap or no gap, with a weight)
and, where a person named the right intent, an NLU example (:mod:`gapdesk.labels`).

Weights say how much a signal is worth (:data:`WEIGHTS`): a person's verdict counts
fully; a customer's rating is a weak label. A thumbs down because "it answered a
different question" is a gap; a thumbs down for another reason says the answer was
thin, not that the question was missed, so it is counted but not learned from; a
thumbs up is "no gap". A turn a person labelled is learned from their label alone, and
a turn people labelled both ways is counted as contradictory and left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gapdesk.datasets import LabelledText
from gapdesk.labels import LabelledExamples, export_labels, training_examples
from gapdesk.ratings import ANSWER, DOWN, UP
from gapdesk.storage.models import Feedback, Turn, as_utc
from gapdesk.storage.store import Store

# How much one signal counts in the gap model's training, against a self-made label's 1.
WEIGHTS = {
    "label": 1.0,  # an agent's or supervisor's verdict on the turn
    "thumbs_down_wrong_topic": 0.5,  # "it answered a different question": a gap
    "thumbs_up": 0.3,  # "helpful": no gap, as far as the customer could tell
}
WRONG_TOPIC = "wrong_topic"


@dataclass(frozen=True)
class LiveRow:
    """One live turn as a gap-model training row."""

    turn_id: int
    created_at: datetime
    text: str
    ranking: list[tuple[str, float]]
    is_gap: bool
    weight: float
    source: str  # a key of WEIGHTS


@dataclass
class Signals:
    """Everything learnable since a point in time, and what was counted but not used."""

    rows: list[LiveRow] = field(default_factory=list)
    nlu: LabelledExamples = field(default_factory=LabelledExamples)
    counts: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        """Counts by signal (what ``gapdesk signals`` prints)."""
        return {
            "gap_rows": dict(Counter(row.source for row in self.rows)),
            "gap_rows_gaps": sum(row.is_gap for row in self.rows),
            "nlu_examples": len(self.nlu.intent_examples),
            "out_of_scope_examples": len(self.nlu.out_of_scope),
            "not_used": {
                **dict(self.counts),
                "label_without_intent": self.nlu.without_intent,
                "label_unknown_intent": self.nlu.unknown_intent,
                "label_already_known": self.nlu.already_known,
                "label_conflicts_with_training_data": self.nlu.conflicting,
            },
        }


def gather(
    store: Store, training_data: Iterable[LabelledText], since: datetime | None = None
) -> Signals:
    """The signals given after ``since`` (every one without it), oldest first."""
    since = as_utc(since) if since is not None else None  # SQLite's times are naive
    labels = [
        row
        for row in export_labels(store)
        if since is None or datetime.fromisoformat(row["labelled_at"]) > since
    ]
    signals = Signals(nlu=training_examples(labels, training_data))
    labelled = _add_labelled_turns(labels, signals)
    with store.session() as session:
        query = (
            select(Feedback, Turn)
            .join(Turn, Turn.id == Feedback.turn_id)
            .where(Feedback.kind == ANSWER)
            .order_by(Feedback.created_at, Feedback.id)
        )
        if since is not None:
            query = query.where(Feedback.created_at > since)
        for feedback, turn in session.execute(query).all():
            source = _rating_source(feedback)
            if turn.id in labelled:
                signals.counts["rating_on_a_labelled_turn"] += 1
            elif source is None:
                signals.counts[f"thumbs_down_{feedback.reason or 'without_reason'}"] += 1
            else:
                is_gap = source != "thumbs_up"
                row = _row(turn.id, turn.created_at, turn.customer_text, turn.intent_ranking,
                           is_gap, source)  # fmt: skip
                signals.rows.append(row)
    signals.rows.sort(key=lambda row: (row.created_at, row.turn_id))
    return signals


def _rating_source(feedback: Feedback) -> str | None:
    """Which learnable signal a rating is (a key of WEIGHTS), or None."""
    if feedback.rating == UP:
        return "thumbs_up"
    if feedback.rating == DOWN and feedback.reason == WRONG_TOPIC:
        return "thumbs_down_wrong_topic"
    return None


def _add_labelled_turns(labels: list[dict[str, Any]], signals: Signals) -> set[int]:
    """Add one row per labelled turn (its newest verdict); return the labelled turn ids.

    Verdicts of different people that disagree on gap / no gap are contradictory: the
    turn is counted and left out. One person changing their mind is not: their newest
    label stands (``labels`` are oldest first).
    """
    verdicts: dict[int, dict[str, bool]] = {}
    turns: dict[int, dict[str, Any]] = {}
    for label in labels:
        verdicts.setdefault(label["turn_id"], {})[label["author"]] = label["is_gap"]
        turns[label["turn_id"]] = label
    for turn_id, by_author in verdicts.items():
        turn = turns[turn_id]
        if len(set(by_author.values())) > 1:
            signals.counts["labels_that_contradict_each_other"] += 1
        elif not turn["text"]:
            signals.counts["label_on_a_turn_without_text"] += 1
        else:
            at = datetime.fromisoformat(turn["turn_at"])
            is_gap = next(iter(by_author.values()))
            signals.rows.append(
                _row(turn_id, at, turn["text"], turn["intent_ranking"], is_gap, "label")
            )
    return set(verdicts)


def _row(
    turn_id: int, at: datetime, text: str | None, ranking: Any, is_gap: bool, source: str
) -> LiveRow:
    pairs = [(str(name), float(confidence)) for name, confidence in ranking or []]
    return LiveRow(turn_id, as_utc(at), text or "", pairs, is_gap, WEIGHTS[source], source)
