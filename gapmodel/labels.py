"""People's labels on bot turns, as training data (``gapdesk labels export``).

Agents and supervisors label turns in the console: gap or not, the right intent (or
out of scope), a better answer. Each exported row carries the turn as the bot saw it
(the redacted message, its intent and gap score, the model version) beside the label,
so retraining can use it as an NLU example, a gap-model label, or an answer to write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gapmodel.storage.models import GapScoreRow, Label, Turn, as_utc
from gapmodel.storage.store import Store


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
