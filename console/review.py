"""What supervisors read: the review inbox (turns that never reached a person), the
search over conversations, and the audit log. Read-only; the changes are in
``casework.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from gapdesk.storage.models import (
    AuditEvent,
    Conversation,
    GapScoreRow,
    Label,
    Turn,
    as_utc,
)
from gapdesk.storage.store import Store
from gapmodel.costs import Handling

# -- the review inbox -----------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFilter:
    intent: str = ""
    channel: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None
    min_score: float = 0.0
    search: str = ""
    limit: int = 50


def review(store: Store, filters: ReviewFilter) -> list[dict[str, Any]]:
    """Bot turns that were answered or clarified (never reached a person), highest gap
    first: the misses nobody escalated."""
    query = (
        select(Turn, GapScoreRow, Conversation.channel)
        .join(GapScoreRow, GapScoreRow.turn_id == Turn.id)
        .join(Conversation, Conversation.id == Turn.conversation_id)
        .where(Turn.kind == "bot", Turn.decision.in_((Handling.ANSWER, Handling.CLARIFY)))
        .where(GapScoreRow.probability >= filters.min_score)
        .order_by(GapScoreRow.probability.desc(), Turn.id.desc())
        .limit(filters.limit)
    )
    if filters.intent:
        query = query.where(Turn.intent == filters.intent)
    if filters.channel:
        query = query.where(Conversation.channel == filters.channel)
    if filters.date_from:
        query = query.where(Turn.created_at >= filters.date_from)
    if filters.date_to:
        query = query.where(Turn.created_at < filters.date_to)
    if filters.search:
        pattern = "%" + _escape_like(filters.search) + "%"
        query = query.where(
            or_(
                Turn.customer_text.ilike(pattern, escape="\\"),
                Turn.answer_text.ilike(pattern, escape="\\"),
                Turn.conversation_id.ilike(pattern, escape="\\"),
            )
        )
    with store.session() as session:
        rows = session.execute(query).all()
        labelled = set(
            session.scalars(
                select(Label.turn_id).where(Label.turn_id.in_([t.id for t, _, _ in rows]))
            )
        )
        return [
            {
                "turn_id": turn.id,
                "conversation_id": turn.conversation_id,
                "created_at": as_utc(turn.created_at).isoformat(),
                "channel": channel,
                "customer_text": turn.customer_text,
                "intent": turn.intent,
                "confidence": turn.confidence,
                "decision": turn.decision,
                "answer_text": turn.answer_text,
                "gap": score.probability,
                "reasons": score.reasons,
                "labelled": turn.id in labelled,
            }
            for turn, score, channel in rows
        ]


def search_conversations(store: Store, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Conversations whose id, or any stored message (customer, bot or agent), contains
    ``text``; newest first, whatever their status."""
    pattern = "%" + _escape_like(text) + "%"
    matching_turns = (
        select(Turn.conversation_id)
        .where(
            or_(
                Turn.customer_text.ilike(pattern, escape="\\"),
                Turn.answer_text.ilike(pattern, escape="\\"),
            )
        )
        .distinct()
    )
    query = (
        select(Conversation)
        .where(
            or_(
                Conversation.id.ilike(pattern, escape="\\"),
                Conversation.id.in_(matching_turns),
            )
        )
        .order_by(Conversation.updated_at.desc())
        .limit(limit)
    )
    with store.session() as session:
        return [
            {
                "id": c.id,
                "channel": c.channel,
                "status": c.status,
                "agent": c.agent,
                "updated_at": as_utc(c.updated_at).isoformat(),
            }
            for c in session.scalars(query)
        ]


def filter_choices(store: Store) -> dict[str, list[str]]:
    """Intents and channels that occur, for the review filters."""
    with store.session() as session:
        intents = session.scalars(
            select(Turn.intent).where(Turn.intent.is_not(None)).distinct().order_by(Turn.intent)
        ).all()
        channels = session.scalars(
            select(Conversation.channel).distinct().order_by(Conversation.channel)
        ).all()
    return {"intents": [i for i in intents if i], "channels": list(channels)}


def audit_log(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    with store.session() as session:
        events = session.scalars(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        ).all()
        return [
            {
                "created_at": as_utc(e.created_at).isoformat(),
                "actor": e.actor,
                "action": e.action,
                "conversation_id": e.conversation_id,
                "detail": e.detail,
            }
            for e in events
        ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
