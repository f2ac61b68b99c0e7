"""What the bot can learn from its live turns: people's labels and customers' ratings.

Each signal is turned into a gap-model training row from the live turn itself (the
redacted text and the NLU ranking the bot saw, labelled gap or no gap, with a weight)
and, where a person named the right intent, an NLU example (:mod:`gapdesk.labels`).

Weights say how much a signal is worth (:data:`WEIGHTS`): a person's verdict counts
fully; a customer's rating is a weak label. A thumbs down because "it answered a
different question" is a gap; a thumbs down for another reason says the answer was
thin, not that the question was missed, so it is counted but not learned from; a
thumbs up is "no gap". A 1-5 rating of a whole conversation the bot handled alone is
the weakest label, of its last answer: 1-2 a gap, 4-5 no gap (3 says nothing; after a
hand-over the rating is as much about the agent). A turn a person labelled is learned
from their label alone, a rated turn from its rating, and a turn people labelled both
ways is counted as contradictory and left out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gapdesk.datasets import LabelledText
from gapdesk.labels import (
    OUT_OF_SCOPE,
    LabelledExamples,
    disputed_turns,
    export_labels,
    training_examples,
)
from gapdesk.ratings import ANSWER, CONVERSATION, DOWN, SATISFACTION_SCORES, UP
from gapdesk.storage.models import Escalation, Feedback, Turn, as_utc
from gapdesk.storage.store import Store
from gapmodel.costs import Handling
from gapmodel.errors import ConfigurationError
from gapmodel.fitting import LiveExample
from gapmodel.types import GapInput

# How much one signal counts in the gap model's training, against a self-made label's 1.
WEIGHTS = {
    "label": 1.0,  # an agent's or supervisor's verdict on the turn (LABEL_SOURCE)
    "thumbs_down_wrong_topic": 0.5,  # "it answered a different question": a gap
    "thumbs_up": 0.3,  # "helpful": no gap, as far as the customer could tell
    "satisfaction_low": 0.2,  # 1-2 of 5 for the conversation: its last answer missed
    "satisfaction_high": 0.1,  # 4-5 of 5: its last answer did not
}
LABEL_SOURCE = "label"  # the source of a person's verdict
WRONG_TOPIC = "wrong_topic"
# Where `gapdesk retrain` writes the live turns the gap model trains on (under the
# project's ``live`` folder), for review beside the NLU examples.
LIVE_FILE_NAME = "gap_turns.jsonl"


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
    # The right intent when someone said it (OUT_OF_SCOPE for "nothing answers this"),
    # and the intent the bot answered with; what a new model is judged against.
    right_intent: str | None = None
    answered: str | None = None
    # When the label was given: which held-out turns the current version never saw.
    # Not a training input (not written to the live-rows file, not compared).
    given_at: datetime | None = field(default=None, compare=False)

    def as_example(self) -> LiveExample:
        """The row as the gap model trains on it."""
        return LiveExample(GapInput(self.text, self.ranking), self.is_gap, self.weight)


@dataclass
class Signals:
    """Everything learnable since a point in time, and what was counted but not used."""

    rows: list[LiveRow] = field(default_factory=list)
    nlu: LabelledExamples = field(default_factory=LabelledExamples)
    counts: Counter[str] = field(default_factory=Counter)
    labels: list[dict[str, Any]] = field(default_factory=list)  # export_labels' rows
    newest: datetime | None = None  # when the newest signal was given

    def teaches_anything(self) -> bool:
        """Whether any signal here would change a model (a gap row or an NLU example)."""
        return bool(self.rows or self.nlu.intent_examples or self.nlu.out_of_scope)

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
    training_data = list(training_data)
    signals = Signals(nlu=training_examples(labels, training_data), labels=labels)
    given = [datetime.fromisoformat(row["labelled_at"]) for row in labels]
    labelled = _add_labelled_turns(labels, signals, {row.label for row in training_data})
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
            given.append(as_utc(feedback.created_at))
            source = _rating_source(feedback)
            if turn.id in labelled:
                signals.counts["rating_on_a_labelled_turn"] += 1
            elif source is None:
                signals.counts[f"thumbs_down_{feedback.reason or 'without_reason'}"] += 1
            else:
                signals.rows.append(_rated_row(turn, source != "thumbs_up", source))
        taught = labelled | {row.turn_id for row in signals.rows}
        conversation_ratings = (
            select(Feedback)
            .where(Feedback.kind == CONVERSATION)
            .order_by(Feedback.created_at, Feedback.id)
        )
        if since is not None:
            conversation_ratings = conversation_ratings.where(Feedback.created_at > since)
        for feedback in session.scalars(conversation_ratings).all():
            given.append(as_utc(feedback.created_at))
            _add_satisfaction(session, feedback, taught, signals)
    # A rating of a turn whose text retention removed teaches nothing (labels of such
    # turns are counted in _add_labelled_turns already).
    textless = [row for row in signals.rows if not row.text]
    if textless:
        signals.counts["rating_on_a_turn_without_text"] += len(textless)
        signals.rows = [row for row in signals.rows if row.text]
    signals.rows.sort(key=lambda row: (row.created_at, row.turn_id))
    signals.newest = max(given, default=None)
    return signals


def _rating_source(feedback: Feedback) -> str | None:
    """Which learnable signal a rating is (a key of WEIGHTS), or None."""
    if feedback.rating == UP:
        return "thumbs_up"
    if feedback.rating == DOWN and feedback.reason == WRONG_TOPIC:
        return "thumbs_down_wrong_topic"
    return None


def _add_satisfaction(
    session: Session, feedback: Feedback, taught: set[int], signals: Signals
) -> None:
    """A row for the last answer of a conversation the customer rated 1-2 or 4-5."""
    if feedback.rating not in SATISFACTION_SCORES or feedback.rating == "3":
        signals.counts[f"satisfaction_{feedback.rating}"] += 1
        return
    handed_over = session.scalar(
        select(Escalation.id).where(Escalation.conversation_id == feedback.conversation_id)
    )
    if handed_over is not None:
        signals.counts["satisfaction_after_handover"] += 1
        return
    turn = session.scalars(
        select(Turn)
        .where(
            Turn.conversation_id == feedback.conversation_id,
            Turn.kind == "bot",
            Turn.decision == Handling.ANSWER,
            Turn.created_at <= feedback.created_at,
        )
        .order_by(Turn.created_at.desc(), Turn.id.desc())
        .limit(1)
    ).first()
    if turn is None:
        signals.counts["satisfaction_without_an_answer"] += 1
    elif turn.id in taught:
        signals.counts["satisfaction_on_a_rated_or_labelled_turn"] += 1
    else:
        is_gap = int(feedback.rating) <= 2
        source = "satisfaction_low" if is_gap else "satisfaction_high"
        signals.rows.append(_rated_row(turn, is_gap, source))
        taught.add(turn.id)


def _add_labelled_turns(
    labels: list[dict[str, Any]], signals: Signals, intents: set[str]
) -> set[int]:
    """Add one row per labelled turn (its newest verdict); return the labelled turn ids.

    Left out, and counted: turns different people labelled both ways
    (:func:`gapdesk.labels.disputed_turns`), and labels naming an intent the bot does
    not have (a label from before a retargeting, say: its verdict is about another bot).
    """
    disputed = disputed_turns(labels)
    newest = {label["turn_id"]: label for label in labels}  # labels are oldest first
    for turn_id, turn in newest.items():
        named = turn["correct_intent"]
        if turn_id in disputed:
            signals.counts["labels_that_contradict_each_other"] += 1
        elif not turn["text"]:
            signals.counts["label_on_a_turn_without_text"] += 1
        elif named and named != OUT_OF_SCOPE and named not in intents:
            continue  # counted as label_unknown_intent with the NLU examples
        else:
            at = datetime.fromisoformat(turn["turn_at"])
            row = _row(turn_id, at, turn["text"], turn["intent_ranking"], turn["is_gap"],
                       LABEL_SOURCE, turn["predicted_intent"], named)  # fmt: skip
            signals.rows.append(replace(row, given_at=datetime.fromisoformat(turn["labelled_at"])))
    return set(newest)


def _row(
    turn_id: int,
    at: datetime,
    text: str | None,
    ranking: Any,
    is_gap: bool,
    source: str,
    answered: str | None,
    named: str | None = None,
) -> LiveRow:
    """A row; its right intent is the one a person ``named``, else the one answered when
    the answer did not miss ("helpful", a high rating, a "no gap" label)."""
    pairs = [(str(name), float(confidence)) for name, confidence in ranking or []]
    right = named or (None if is_gap else answered)
    weight = WEIGHTS[source]
    return LiveRow(turn_id, as_utc(at), text or "", pairs, is_gap, weight, source, right, answered)


def _rated_row(turn: Turn, is_gap: bool, source: str) -> LiveRow:
    return _row(turn.id, turn.created_at, turn.customer_text, turn.intent_ranking, is_gap,
                source, turn.intent)  # fmt: skip


def write_live_rows(path: Path, rows: Sequence[LiveRow]) -> None:
    """The rows as JSON lines (texts as stored: redacted); no rows, no file."""
    path.unlink(missing_ok=True)
    if not rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps(
            {
                "turn_id": row.turn_id,
                "turn_at": row.created_at.isoformat(),
                "text": row.text,
                "ranking": row.ranking,
                "is_gap": row.is_gap,
                "weight": row.weight,
                "source": row.source,
                "right_intent": row.right_intent,
                "answered": row.answered,
            },
            ensure_ascii=False,
        )
        for row in rows
    ]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def read_live_rows(path: Path) -> list[LiveRow]:
    """The rows :func:`write_live_rows` wrote (none without the file)."""
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            item = json.loads(line)
            rows.append(
                LiveRow(
                    int(item["turn_id"]),
                    datetime.fromisoformat(item["turn_at"]),
                    str(item["text"]),
                    [(str(name), float(confidence)) for name, confidence in item["ranking"]],
                    bool(item["is_gap"]),
                    float(item["weight"]),
                    str(item["source"]),
                    item.get("right_intent"),
                    item.get("answered"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{path}:{number}: not a live-turn row ({exc})") from exc
    return rows
