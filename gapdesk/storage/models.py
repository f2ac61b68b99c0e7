"""Database tables: conversations, turns, gap scores, feedback, escalations, customers'
trust, and the console's users, sessions, labels and audit log.

Schema changes go through Alembic migrations (``gapdesk/storage/migrations``); the
``tests/gapdesk/storage`` suite checks that the models and migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gapdesk.conversation import ConversationStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Conversation(Base):
    """One customer conversation, keyed by Rasa's sender id."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), default="unknown")
    status: Mapped[str] = mapped_column(String(16), default=ConversationStatus.BOT, index=True)
    # The console user who owns the conversation while its status is AGENT.
    agent: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
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

    Texts are stored redacted (card numbers, emails, phone numbers masked), and removed
    once older than the retention (``GAPDESK_RETENTION_DAYS``).
    """

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Idempotency key: a turn replayed from the spool after a database outage is
    # written once.
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="bot")  # bot | agent
    # Rasa's id of the customer message, to match the turn with Rasa's transcript.
    message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_text: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(128), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    intent_ranking: Mapped[list[Any]] = mapped_column(JSON, default=list)
    answer_intent: Mapped[str | None] = mapped_column(String(128))
    answer_text: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(16), index=True)
    decision_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    author: Mapped[str | None] = mapped_column(String(128))
    # Set when retention removes the texts (gapdesk.storage.retention): whether the
    # customer's next message in the conversation asked this one again (gapmodel's
    # rephrase rule), the one fact reports read from the texts. None while they exist.
    rephrased_next: Mapped[bool | None] = mapped_column(Boolean)
    # The customer's trust the decision used (gapdesk.trust); None before it existed.
    trust: Mapped[float | None] = mapped_column(Float)

    conversation: Mapped[Conversation] = relationship(back_populates="turns")
    gap_score: Mapped[GapScoreRow | None] = relationship(back_populates="turn")
    feedback: Mapped[list[Feedback]] = relationship(back_populates="turn")
    labels: Mapped[list[Label]] = relationship(back_populates="turn", order_by="Label.id")


class GapScoreRow(Base):
    """The gap model's verdict on one bot turn."""

    __tablename__ = "gap_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), unique=True)
    probability: Mapped[float | None] = mapped_column(Float)  # None: the scorer failed
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(64))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    # The model's inputs by name (None: scored before they were kept, or not scored).
    features: Mapped[dict[str, float] | None] = mapped_column(JSON)

    turn: Mapped[Turn] = relationship(back_populates="gap_score")


class Feedback(Base):
    """A customer's rating of one answer (up/down with a reason) or of the conversation."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("uid", name="uq_feedback_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # A later click on the same rating (a reason after thumbs down) updates the row.
    uid: Mapped[str | None] = mapped_column(String(64))
    # answer: thumbs up/down on one bot turn; conversation: 1-5 at the end
    kind: Mapped[str] = mapped_column(String(16), default="answer", server_default="answer")
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


class Customer(Base):
    """A customer's trust evidence (gapdesk.trust), by the channel's sender id.

    Rasa's sender id is both the conversation's id and the customer's, so ``id`` is the
    ``conversations.id`` of their conversation (no foreign key: retention renames
    conversations and deletes customers not seen since its cutoff on its own).
    """

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), default="unknown")
    # Good and bad evidence as of updated_at; it decays towards the prior from there.
    good: Mapped[float] = mapped_column(Float, default=0.0)
    bad: Mapped[float] = mapped_column(Float, default=0.0)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    answers: Mapped[int] = mapped_column(Integer, default=0)
    thumbs_down: Mapped[int] = mapped_column(Integer, default=0)
    handovers: Mapped[int] = mapped_column(Integer, default=0)


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
    # Any console request or open live page; "is anybody online?" reads it.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class LoginFailure(Base):
    """A failed sign-in, for throttling by user name and by address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


class Label(Base):
    """A person's verdict on one bot turn: gap or not, the right intent, a better answer."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    is_gap: Mapped[bool] = mapped_column(Boolean)
    correct_intent: Mapped[str | None] = mapped_column(String(128))  # or "out_of_scope"
    ideal_answer: Mapped[str | None] = mapped_column(Text)

    turn: Mapped[Turn] = relationship(back_populates="labels")


class AuditEvent(Base):
    """Who did what in the console: took over, replied, handed back, labelled, ..."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str | None] = mapped_column(String(255), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ModelVersion(Base):
    """One trained pair (the Rasa model and the gap model): the model registry.

    ``status`` says what became of it (gapdesk.registry.VersionStatus); exactly one
    version is ``current`` at a time, the one every process serves.
    """

    __tablename__ = "model_versions"
    # At most one current row, whatever two processes promote at once.
    __table_args__ = (
        Index(
            "uq_model_versions_one_current",
            "current",
            unique=True,
            sqlite_where=text("current"),
            postgresql_where=text("current"),
        ),
    )

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    parent: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    trigger: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Paths relative to the models folder, so the folder can move.
    rasa_model: Mapped[str] = mapped_column(String(255))
    gap_model: Mapped[str] = mapped_column(String(255))
    data_hashes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    signal_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
