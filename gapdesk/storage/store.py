"""Reading and writing gapdesk's records with SQLAlchemy 2 (SQLite or PostgreSQL).

Writers take plain dictionaries (the same records the spool keeps during an outage)
so a record replayed later is written exactly like a live one, and only once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gapdesk.conversation import ConversationStatus
from gapdesk.errors import StorageError, TransientStorageError
from gapdesk.storage.customers import PSEUDONYM_PREFIX, add_outcome, evidence_of
from gapdesk.storage.models import (
    Conversation,
    Customer,
    Escalation,
    Feedback,
    GapScoreRow,
    Turn,
    User,
)
from gapdesk.trust import TrustRule, escalation_outcome, rating_outcome, turn_outcome

# Errors after which the same write may succeed later (server down, network, pool full).
_TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)


def make_sqlite_folder(url: str) -> None:
    """Create the folder of an SQLite file URL (nothing for other databases)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder and foreign keys."""
    make_sqlite_folder(url)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers (console) never block the bot
            cursor.close()

    return engine


class Store:
    """Sessions on gapdesk's database, and the recorder's writes and the CLI's reads.

    Other modules that own a piece of the schema (accounts, labels, the console's
    casework and review, the demo bank) query through ``Store.session()`` themselves.
    ``trust_rule`` (gapdesk.trust) updates customers' trust as outcomes are written and
    reads it back; pass the settings' (``gapdesk.policy.trust_rule``).
    """

    def __init__(self, engine: Engine, trust_rule: TrustRule | None = None) -> None:
        self.engine = engine
        self.trust_rule = trust_rule or TrustRule()
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except _TRANSIENT as exc:
            session.rollback()
            raise TransientStorageError(f"database unavailable: {_first_line(exc)}") from exc
        except SQLAlchemyError as exc:
            session.rollback()
            raise StorageError(f"database error: {_first_line(exc)}") from exc
        finally:
            session.close()

    # -- writing ----------------------------------------------------------------------

    def apply(self, record: dict[str, Any]) -> None:
        """Write one record (``{"type": "turn" | "escalation" | "feedback", ...}``)."""
        writers = {
            "turn": self._write_turn,
            "escalation": self._write_escalation,
            "feedback": self._write_feedback,
        }
        writer = writers.get(record.get("type", ""))
        if writer is None:
            raise StorageError(f"unknown record type {record.get('type')!r}")
        with self.session() as session:
            writer(session, record)

    def _conversation(self, session: Session, record: dict[str, Any]) -> Conversation:
        conversation = session.get(Conversation, record["conversation_id"])
        if conversation is None:
            conversation = Conversation(
                id=record["conversation_id"], channel=record.get("channel") or "unknown"
            )
            session.add(conversation)
            session.flush()
        return conversation

    def _write_turn(self, session: Session, record: dict[str, Any]) -> None:
        if session.scalar(select(Turn.id).where(Turn.uid == record["uid"])) is not None:
            return  # already written (a replay from the spool)
        conversation = self._conversation(session, record)
        conversation.updated_at = _time(record["created_at"])
        turn = Turn(
            uid=record["uid"],
            conversation_id=conversation.id,
            created_at=_time(record["created_at"]),
            kind=record.get("kind", "bot"),
            message_id=record.get("message_id"),
            customer_text=_text(record.get("customer_text")),
            intent=record.get("intent"),
            confidence=record.get("confidence"),
            intent_ranking=record.get("intent_ranking") or [],
            answer_intent=record.get("answer_intent"),
            answer_text=_text(record.get("answer_text")),
            decision=record.get("decision"),
            decision_reasons=record.get("decision_reasons") or [],
            author=record.get("author"),
            trust=record.get("trust"),
        )
        session.add(turn)
        score = record.get("gap_score")
        if score is not None:
            session.flush()
            session.add(
                GapScoreRow(
                    turn_id=turn.id,
                    probability=score.get("probability"),
                    reasons=score.get("reasons") or [],
                    model_version=score.get("model_version") or "none",
                    latency_ms=score.get("latency_ms"),
                    features=score.get("features") or None,
                )
            )
        if turn.kind == "bot" and turn.decision:
            probability = score.get("probability") if score else None
            outcome = turn_outcome(turn.decision, turn.decision_reasons, probability)
            add_outcome(
                session, self.trust_rule, record, outcome, answers=int(turn.decision == "answer")
            )

    def _write_escalation(self, session: Session, record: dict[str, Any]) -> None:
        if session.scalar(select(Escalation.id).where(Escalation.uid == record["uid"])):
            return
        conversation = self._conversation(session, record)
        # An escalation recorded after a person claimed the conversation (a replay from
        # the spool, a turn that was under way) must not take it from them.
        if conversation.status != ConversationStatus.AGENT:
            conversation.status = ConversationStatus.ESCALATED
            conversation.agent = None
            conversation.claimed_at = None
        conversation.updated_at = _time(record["created_at"])
        session.add(
            Escalation(
                uid=record["uid"],
                conversation_id=conversation.id,
                created_at=_time(record["created_at"]),
                reason_codes=record.get("reason_codes") or [],
                brief=_text(record.get("brief")) or "",
                gap_probability=record.get("gap_probability"),
            )
        )
        outcome = escalation_outcome(record.get("reason_codes") or [])
        add_outcome(session, self.trust_rule, record, outcome, handovers=1)

    def _write_feedback(self, session: Session, record: dict[str, Any]) -> None:
        """A rating; the same ``uid`` again (a reason after thumbs down) updates it."""
        feedback = session.scalar(select(Feedback).where(Feedback.uid == record["uid"]))
        if feedback is None:
            conversation = self._conversation(session, record)
            turn_id = None
            if record.get("turn_uid"):
                turn_id = session.scalar(select(Turn.id).where(Turn.uid == record["turn_uid"]))
            feedback = Feedback(
                uid=record["uid"],
                conversation_id=conversation.id,
                turn_id=turn_id,
                kind=record.get("kind", "answer"),
                created_at=_time(record["created_at"]),
            )
            session.add(feedback)
        rating, reason = str(record["rating"]), record.get("reason")
        if rating != feedback.rating or reason:  # a changed mind drops the old reason
            feedback.reason = str(reason)[:255] if reason else None
        changed = rating != feedback.rating  # a reason added to the same rating counts once
        feedback.rating = rating
        if changed:
            outcome = rating_outcome(feedback.kind, rating)
            down = int(rating == "down")
            add_outcome(session, self.trust_rule, record, outcome, thumbs_down=down)

    def customer_trust(self, customer_id: str, now: datetime | None = None) -> float:
        """The customer's trust now (gapdesk.trust); the prior's for one never seen."""
        with self.session() as session:
            customer = session.get(Customer, customer_id)
            evidence = evidence_of(customer) if customer else None
        return self.trust_rule.trust(evidence, now or datetime.now(UTC))

    # -- reading ----------------------------------------------------------------------

    def agents_online(self, within_seconds: int) -> bool:
        """Whether any active console user was active in the last ``within_seconds``."""
        since = datetime.now(UTC) - timedelta(seconds=within_seconds)
        with self.session() as session:
            return (
                session.scalar(
                    select(User.id).where(User.active, User.last_seen_at >= since).limit(1)
                )
                is not None
            )

    def list_conversations(
        self, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        with self.session() as session:
            query = select(Conversation).order_by(Conversation.updated_at.desc()).limit(limit)
            if status:
                query = query.where(Conversation.status == status)
            conversations = session.scalars(query).all()
            ids = [c.id for c in conversations]
            counts = dict(
                session.execute(
                    select(Turn.conversation_id, func.count(Turn.id))
                    .where(Turn.conversation_id.in_(ids))
                    .group_by(Turn.conversation_id)
                ).all()
            )
            return [
                {
                    "id": c.id,
                    "channel": c.channel,
                    "status": c.status,
                    "turns": counts.get(c.id, 0),
                    "updated_at": c.updated_at.isoformat(),
                }
                for c in conversations
            ]

    def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        """A conversation with its turns, scores, feedback and escalations."""
        with self.session() as session:
            conversation = session.scalar(
                select(Conversation)
                .where(Conversation.id == conversation_id)
                .options(
                    selectinload(Conversation.turns).selectinload(Turn.gap_score),
                    selectinload(Conversation.turns).selectinload(Turn.feedback),
                    selectinload(Conversation.turns).selectinload(Turn.labels),
                    selectinload(Conversation.escalations),
                )
            )
            if conversation is None:
                return None
            ratings = session.scalars(
                select(Feedback.rating)
                .where(Feedback.conversation_id == conversation_id, Feedback.kind == "conversation")
                .order_by(Feedback.id)
            ).all()
            customer = session.get(Customer, conversation_id)
            # A pseudonymised conversation (gapdesk db prune) has no customer row to read:
            # no trust is shown rather than a new customer's.
            trust = (
                None
                if customer is None and conversation_id.startswith(PSEUDONYM_PREFIX)
                else self.trust_rule.trust(
                    evidence_of(customer) if customer else None, datetime.now(UTC)
                )
            )
            return {
                "id": conversation.id,
                "channel": conversation.channel,
                "status": conversation.status,
                "trust": trust,  # the customer's trust now (gapdesk.trust)
                "agent": conversation.agent,  # who owns it while its status is AGENT
                "created_at": conversation.created_at.isoformat(),
                "ratings": list(ratings),  # the customer's 1-5 for the whole conversation
                "turns": [_turn_dict(t) for t in conversation.turns],
                "escalations": [
                    {
                        "created_at": e.created_at.isoformat(),
                        "reason_codes": e.reason_codes,
                        "brief": e.brief,
                        "gap_probability": e.gap_probability,
                        "status": e.status,
                    }
                    for e in conversation.escalations
                ],
            }


def _turn_dict(turn: Turn) -> dict[str, Any]:
    score = turn.gap_score
    return {
        "id": turn.id,
        "created_at": turn.created_at.isoformat(),
        "kind": turn.kind,
        "customer_text": turn.customer_text,
        "intent": turn.intent,
        "confidence": turn.confidence,
        "intent_ranking": turn.intent_ranking,
        "answer_intent": turn.answer_intent,
        "answer_text": turn.answer_text,
        "decision": turn.decision,
        "decision_reasons": turn.decision_reasons,
        "author": turn.author,
        "trust": turn.trust,
        "gap_score": None
        if score is None
        else {
            "probability": score.probability,
            "reasons": score.reasons,
            "model_version": score.model_version,
            "latency_ms": score.latency_ms,
        },
        "message_id": turn.message_id,
        "feedback": [{"rating": f.rating, "reason": f.reason} for f in turn.feedback],
        "labels": [
            {
                "author": label.author,
                "is_gap": label.is_gap,
                "correct_intent": label.correct_intent,
                "ideal_answer": label.ideal_answer,
            }
            for label in turn.labels
        ],
    }


def _first_line(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters; nothing else is changed."""
    return value.replace("\x00", "") if value else value


def _time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
