"""People's labels on bot turns, as training data.

Agents and supervisors label turns in the console: gap or not, the right intent (or
out of scope), a better answer. ``gapdesk labels export`` writes each label beside the
turn as the bot saw it (the redacted message, its intent and gap score, the model
version). ``gapdesk labels apply`` turns them into training files the team reviews,
commits and trains on (``gapdesk train`` retrains what they change):

* a message labelled with an intent becomes an NLU example of that intent; one
  labelled "no gap" without an intent, an example of the intent the bot answered;
* a message labelled out of scope becomes an out-of-scope example (a gap by
  definition for the gap model).

The gap model learns from both: it is trained on cross-validated predictions of the
NLU examples and on the out-of-scope ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gapdesk.datasets import (
    LabelledText,
    group_by_label,
    read_rasa_nlu,
    write_lines,
    write_rasa_nlu,
)
from gapdesk.storage.models import GapScoreRow, Label, Turn, as_utc
from gapdesk.storage.store import Store

# The console's choice for "nothing the bot knows answers this".
OUT_OF_SCOPE = "out_of_scope"
NLU_FILE_NAME = "labels.yml"
OUT_OF_SCOPE_FILE_NAME = "labels.txt"


def export_labels(store: Store) -> list[dict[str, Any]]:
    """Every label with the turn it judges, oldest first (for retraining)."""
    with store.session() as session:
        rows = session.execute(
            select(Label, Turn, GapScoreRow)
            .join(Turn, Turn.id == Label.turn_id)
            .outerjoin(GapScoreRow, GapScoreRow.turn_id == Turn.id)
            .order_by(Label.created_at, Label.id)
        ).all()
        return [
            {
                "label_id": label.id,
                "turn_id": turn.id,
                "conversation_id": turn.conversation_id,
                "text": turn.customer_text,  # stored redacted
                "turn_at": as_utc(turn.created_at).isoformat(),
                "intent_ranking": turn.intent_ranking,
                "predicted_intent": turn.intent,
                "confidence": turn.confidence,
                "answer_intent": turn.answer_intent,
                "answer_text": turn.answer_text,
                "decision": turn.decision,
                "gap_probability": score.probability if score else None,
                "model_version": score.model_version if score else None,
                "is_gap": label.is_gap,
                "correct_intent": label.correct_intent,
                "ideal_answer": label.ideal_answer,
                "author": label.author,
                "labelled_at": as_utc(label.created_at).isoformat(),
            }
            for label, turn, score in rows
        ]


@dataclass
class LabelledExamples:
    """What a set of labels teaches, and what it could not be used for."""

    intent_examples: list[LabelledText] = field(default_factory=list)
    out_of_scope: list[str] = field(default_factory=list)
    without_intent: int = 0  # a gap, but nobody said which intent was right
    unknown_intent: int = 0  # an intent the NLU data no longer has
    already_known: int = 0  # the same text is a training example already
    conflicting: int = 0  # the text is a training example of another intent


def disputed_turns(rows: Iterable[dict[str, Any]]) -> set[int]:
    """Turns that different people labelled both gap and no gap (``export_labels`` rows).

    Nothing is learned from them until someone settles it; one person changing their
    mind is no dispute (their newest label stands).
    """
    verdicts: dict[int, dict[str, bool]] = {}
    for row in rows:
        verdicts.setdefault(row["turn_id"], {})[row["author"]] = bool(row["is_gap"])
    return {turn for turn, by_author in verdicts.items() if len(set(by_author.values())) > 1}


def training_examples(
    rows: Sequence[dict[str, Any]], training_data: Iterable[LabelledText]
) -> LabelledExamples:
    """The examples ``rows`` (``export_labels``) add to ``training_data``.

    A turn labelled more than once counts with its newest label; a text labelled on
    several turns, with the newest of them. Rasa refuses one text under two intents, so
    a label that contradicts a training example is counted, not written: the example
    itself needs a person's look. Disputed turns (:func:`disputed_turns`) teach nothing.
    """
    known = {row.text.lower(): row.label for row in training_data}
    intents = set(known.values())
    disputed = disputed_turns(rows)
    newest_per_turn = {  # rows are oldest first
        row["turn_id"]: row for row in rows if row["turn_id"] not in disputed
    }
    newest_first = sorted(
        newest_per_turn.values(),
        key=lambda row: (row["labelled_at"], row["label_id"]),
        reverse=True,
    )
    result = LabelledExamples()
    seen: set[str] = set()
    for row in newest_first:
        text = " ".join(str(row["text"] or "").split())
        key = text.lower()
        if not text or key in seen:
            continue
        seen.add(key)
        intent = row["correct_intent"] or (None if row["is_gap"] else row["predicted_intent"])
        if intent is None:
            result.without_intent += 1
        elif key in known:
            if known[key] == intent:
                result.already_known += 1
            else:
                result.conflicting += 1
        elif intent == OUT_OF_SCOPE:
            result.out_of_scope.append(text)
        elif intent not in intents:
            result.unknown_intent += 1
        else:
            result.intent_examples.append(LabelledText(text, intent))
    return result


def apply_labels(store: Store, nlu_dir: Path, out_of_scope_dir: Path) -> LabelledExamples:
    """Write every label's lesson to ``nlu_dir/labels.yml`` and ``out_of_scope_dir/labels.txt``.

    Both files are rewritten from all labels each time, so running it twice changes
    nothing, and a label removed from the database leaves the files too.
    """
    nlu_file = nlu_dir / NLU_FILE_NAME
    training_data = read_rasa_nlu(p for p in sorted(nlu_dir.rglob("*.yml")) if p != nlu_file)
    examples = training_examples(export_labels(store), training_data)
    note = (
        "Generated by `gapdesk labels apply` from the labels agents and supervisors gave\n"
        "in the console (texts redacted). Review, commit, then `gapdesk train`."
    )
    write_lessons(examples, nlu_file, out_of_scope_dir / OUT_OF_SCOPE_FILE_NAME, note)
    return examples


def write_lessons(examples: LabelledExamples, nlu_file: Path, oos_file: Path, note: str) -> None:
    """The examples as an NLU file and an out-of-scope file, each headed by ``note``."""
    # No lesson, no file: Rasa refuses an NLU file without examples.
    nlu_file.unlink(missing_ok=True)
    oos_file.unlink(missing_ok=True)
    if examples.intent_examples:
        write_rasa_nlu(group_by_label(examples.intent_examples), nlu_file, note)
    if examples.out_of_scope:
        lines = [f"# {line}" for line in note.splitlines()]
        # A line starting with "#" would be read as a comment.
        lines += [text.lstrip("#").strip() or text for text in examples.out_of_scope]
        write_lines(oos_file, lines)
