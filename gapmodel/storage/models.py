"""Database tables: conversations, turns, gap scores, feedback and escalations.

Schema changes go through Alembic migrations (``gapmodel/migrations``); the
``tests/gapmodel/storage`` suite checks that the models and migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Conversation(Base):
    """One customer conversation, keyed by Rasa's sender id."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), default="unknown")
    # bot: the bot answers; escalated: waiting for a person; agent: a person owns it;
    # resolved: closed.
    status: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, index=True
    )

    turns: Mapped[list[Turn]] = relationship(
        back_populates="conversation", order_by="Turn.created_at, Turn.id"
    )
    escalations: Mapped[list[Escalation]] = relationship(
        back_populates="conversation", order_by="Escalation.created_at"
    )


class Turn(Base):
    """One exchange: what the customer wrote and what the bot (or an agent) did about it.

    Texts are stored redacted (card numbers, emails, phone numbers masked).
    """

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Idempotency key: a turn replayed from the spool after a database outage is
    # written once.
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16), default="bot")  # bot | agent
    customer_text: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(128), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    intent_ranking: Mapped[list[Any]] = mapped_column(JSON, default=list)
    answer_intent: Mapped[str | None] = mapped_column(String(128))
    answer_text: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(16), index=True)
    decision_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    author: Mapped[str | None] = mapped_column(String(128))

    conversation: Mapped[Conversation] = relationship(back_populates="turns")
    gap_score: Mapped[GapScoreRow | None] = relationship(back_populates="turn")
    feedback: Mapped[list[Feedback]] = relationship(back_populates="turn")


class GapScoreRow(Base):
    """The gap model's verdict on one bot turn."""

    __tablename__ = "gap_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), unique=True)
    probability: Mapped[float | None] = mapped_column(Float)  # None: the scorer failed
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(64))
    latency_ms: Mapped[float | None] = mapped_column(Float)

    turn: Mapped[Turn] = relationship(back_populates="gap_score")


class Feedback(Base):
    """A customer's rating of one answer (up/down with a reason) or of the conversation."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id", ondelete="SET NULL"))
    rating: Mapped[str] = mapped_column(String(16))  # up | down | 1..5
    reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    turn: Mapped[Turn | None] = relationship(back_populates="feedback")


class Escalation(Base):
    """A hand-over to people: why, a brief for the agent, and where it stands."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    brief: Mapped[str] = mapped_column(Text, default="")
    gap_probability: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)

    conversation: Mapped[Conversation] = relationship(back_populates="escalations")


class User(Base):
    """A person who works the console: agent, supervisor or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # agent | supervisor | admin
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
