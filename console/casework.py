"""The console's work on the database: the queue, claims, replies and labels.

Every change an agent makes is written together with its audit event, in one
transaction. Where the change also needs Rasa (pause, reply, resume), Rasa is called
inside that transaction, after the database change: if Rasa fails, the transaction
rolls back and the two stay in step. Claiming is a conditional UPDATE, so of two agents
who claim the same conversation at the same moment exactly one wins, on SQLite and on
PostgreSQL alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from console.auth import ConsoleUser
from gapdesk.conversation import ConversationStatus
from gapdesk.storage.customers import evidence_of
from gapdesk.storage.models import (
    AuditEvent,
    Conversation,
    Customer,
    Escalation,
    Feedback,
    Label,
    Turn,
    as_utc,
)
from gapdesk.storage.store import Store
from gapdesk.trust import TrustRule
from gapmodel.costs import Handling
from gapmodel.decision import DecisionReason
from gapmodel.redaction import redact

WAITING = (ConversationStatus.ESCALATED, ConversationStatus.AGENT)  # conversations in the queue


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    owner: str | None  # who owns the conversation now
    previous_status: str | None  # None: no such conversation


def _audit(
    session: Session, actor: str, action: str, conversation_id: str | None, **detail: Any
) -> None:
    session.add(
        AuditEvent(actor=actor, action=action, conversation_id=conversation_id, detail=detail)
    )


def audit(
    store: Store, actor: str, action: str, conversation_id: str | None = None, **detail: Any
) -> None:
    with store.session() as session:
        _audit(session, actor, action, conversation_id, **detail)


# -- the queue ------------------------------------------------------------------------


def queue(store: Store, now: datetime | None = None) -> list[dict[str, Any]]:
    """Conversations waiting for or owned by a person: unclaimed first, then longest
    waiting, then highest gap."""
    now = now or datetime.now(UTC)
    with store.session() as session:
        conversations = session.scalars(
            select(Conversation).where(Conversation.status.in_(WAITING))
        ).all()
        items = [_queue_item(session, c, now, store.trust_rule) for c in conversations]
    items.sort(key=lambda i: (i["agent"] is not None, -i["waiting_seconds"], -(i["gap"] or 0)))
    return items


def _queue_item(
    session: Session, conversation: Conversation, now: datetime, rule: TrustRule
) -> dict[str, Any]:
    escalation = session.scalar(
        select(Escalation)
        .where(Escalation.conversation_id == conversation.id)
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
        .limit(1)
    )
    last_bot_turn = session.scalar(
        select(Turn)
        .where(Turn.conversation_id == conversation.id, Turn.kind == "bot")
        .order_by(Turn.created_at.desc(), Turn.id.desc())
        .limit(1)
    )
    customer = session.get(Customer, conversation.id)  # the sender id is the customer's
    since = as_utc(escalation.created_at) if escalation else as_utc(conversation.updated_at)
    gap = escalation.gap_probability if escalation else None
    if gap is None and last_bot_turn is not None and last_bot_turn.gap_score is not None:
        gap = last_bot_turn.gap_score.probability
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "status": conversation.status,
        "agent": conversation.agent,
        "waiting_since": since.isoformat(),
        "waiting_seconds": max(0, int((now - since).total_seconds())),
        "last_intent": last_bot_turn.intent if last_bot_turn else None,
        "gap": gap,
        "reason_codes": escalation.reason_codes if escalation else [],
        "brief": escalation.brief if escalation else "",
        "trust": rule.trust(evidence_of(customer) if customer else None, now),
    }


def queue_signature(store: Store) -> str:
    """Changes whenever the queue would look different (for live updates), and every
    minute, for the waiting times."""
    with store.session() as session:
        row = session.execute(
            select(
                func.count(Conversation.id),
                func.max(Conversation.updated_at),
                func.count(Conversation.agent),
            ).where(Conversation.status.in_(WAITING))
        ).one()
        escalations = session.scalar(select(func.count(Escalation.id)))
    minute = datetime.now(UTC).strftime("%H:%M")
    return f"{row[0]}|{row[1]}|{row[2]}|{escalations}|{minute}"


# -- one conversation -----------------------------------------------------------------


def can_view(store: Store, user: ConsoleUser, conversation_id: str) -> bool:
    """Supervisors see everything; agents what is in the queue and what they worked on."""
    if user.can("supervisor"):
        return True
    with store.session() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return False
        if conversation.status in WAITING:
            return True
        worked = session.scalar(
            select(AuditEvent.id)
            .where(AuditEvent.conversation_id == conversation_id, AuditEvent.actor == user.username)
            .limit(1)
        )
        return worked is not None


def claim(
    store: Store, conversation_id: str, user: ConsoleUser, pause_bot: Callable[[], None]
) -> ClaimResult:
    """Take a conversation over; exactly one of several simultaneous claims wins.

    Agents claim what waits in the queue; supervisors may also take over a conversation
    the bot is still running (or one that was resolved), and ``pause_bot`` silences the
    bot then. It runs inside the transaction: if Rasa cannot be reached the claim is
    rolled back (the error propagates) and nothing is half done.
    """
    claimable = (
        (ConversationStatus.ESCALATED, ConversationStatus.BOT, ConversationStatus.RESOLVED)
        if user.can("supervisor")
        else (ConversationStatus.ESCALATED,)
    )
    with store.session() as session:
        previous = session.scalar(
            select(Conversation.status).where(Conversation.id == conversation_id)
        )
        if previous is None:
            return ClaimResult(False, None, None)
        result: Any = session.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation_id,
                Conversation.status.in_(claimable),
                Conversation.agent.is_(None),
            )
            .values(
                status=ConversationStatus.AGENT, agent=user.username, claimed_at=datetime.now(UTC)
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            _audit(session, user.username, "claim", conversation_id, previous_status=previous)
            if previous != ConversationStatus.ESCALATED:
                pause_bot()
            return ClaimResult(True, user.username, previous)
    with store.session() as session:
        owner = session.scalar(select(Conversation.agent).where(Conversation.id == conversation_id))
    return ClaimResult(False, owner, previous)


def take_from(store: Store, conversation_id: str, user: ConsoleUser, owner: str) -> bool:
    """A supervisor takes a claimed conversation from its owner (gone home, stuck);
    the bot stays paused. False when ``owner`` no longer owns it."""
    if not user.can("supervisor"):
        return False
    with store.session() as session:
        result: Any = session.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation_id,
                Conversation.status == ConversationStatus.AGENT,
                Conversation.agent == owner,
            )
            .values(agent=user.username, claimed_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return False
        _audit(session, user.username, "reassign", conversation_id, taken_from=owner)
        return True


def may_act(status: str, owner: str | None, user: ConsoleUser) -> bool:
    """Replies, hand-backs and resolving: on a claimed conversation, by its owner or by a
    supervisor stepping in."""
    return status == ConversationStatus.AGENT and (owner == user.username or user.can("supervisor"))


def channel_of(store: Store, conversation_id: str) -> str | None:
    with store.session() as session:
        return session.scalar(
            select(Conversation.channel).where(Conversation.id == conversation_id)
        )


def reply(
    store: Store,
    conversation_id: str,
    user: ConsoleUser,
    text: str,
    deliver: Callable[[], None],
) -> bool:
    """Store an agent's reply and deliver it (inside the transaction: an undelivered reply
    is not stored, and the error propagates). False: not this user's to answer."""
    now = datetime.now(UTC)
    with store.session() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or not may_act(conversation.status, conversation.agent, user):
            return False
        session.add(
            Turn(
                uid=str(uuid.uuid4()),
                conversation_id=conversation_id,
                created_at=now,
                kind="agent",
                # The customer receives the reply as written; the stored copy, like every
                # stored text, has its personal data masked.
                answer_text=redact(text),
                decision="agent",
                author=user.username,
            )
        )
        session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(updated_at=now)
        )
        _audit(session, user.username, "reply", conversation_id, characters=len(text))
        session.flush()
        deliver()
        return True


def release(
    store: Store,
    conversation_id: str,
    user: ConsoleUser,
    resolved: bool,
    resume_bot: Callable[[], None],
) -> bool:
    """Hand back to the bot, or resolve (close) the case; open escalations close too.

    ``resume_bot`` runs inside the transaction, after the conditional update that makes
    a second hand-back find nothing to do: if Rasa fails, nothing changes here either.
    False: not this user's to release (or released already).
    """
    status = ConversationStatus.RESOLVED if resolved else ConversationStatus.BOT
    ownership = Conversation.agent == user.username
    with store.session() as session:
        result: Any = session.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation_id,
                Conversation.status == ConversationStatus.AGENT,
                ownership if not user.can("supervisor") else Conversation.agent.is_not(None),
            )
            .values(status=status, agent=None, claimed_at=None, updated_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return False
        session.execute(
            update(Escalation)
            .where(Escalation.conversation_id == conversation_id, Escalation.status == "open")
            .values(status="resolved" if resolved else "handed_back")
        )
        _audit(session, user.username, "resolve" if resolved else "hand_back", conversation_id)
        session.flush()
        resume_bot()
        return True


# -- labels ---------------------------------------------------------------------------


def add_label(
    store: Store,
    turn_id: int,
    user: ConsoleUser,
    is_gap: bool,
    correct_intent: str | None,
    ideal_answer: str | None,
) -> str | None:
    """Store a label; returns the turn's conversation id (None: no such bot turn)."""
    with store.session() as session:
        turn = session.get(Turn, turn_id)
        if turn is None or turn.kind != "bot":
            return None
        session.add(
            Label(
                turn_id=turn_id,
                author=user.username,
                is_gap=is_gap,
                correct_intent=correct_intent or None,
                ideal_answer=redact((ideal_answer or "").strip()) or None,
            )
        )
        _audit(
            session,
            user.username,
            "label",
            turn.conversation_id,
            turn_id=turn_id,
            is_gap=is_gap,
            correct_intent=correct_intent,
        )
        return turn.conversation_id


def label_handover(store: Store, conversation_id: str, user: ConsoleUser, needed: bool) -> bool:
    """Label the bot turn that handed ``conversation_id`` over out of doubt: a gap when
    the hand-over was needed, no gap when it was needless. False: the bot never did.

    A hand-over the customer asked for is no verdict on any answer ("I want a person"
    is not a message the bot failed), so such turns are passed over.
    """
    with store.session() as session:
        handovers = session.execute(
            select(Turn.id, Turn.decision_reasons)
            .where(
                Turn.conversation_id == conversation_id,
                Turn.kind == "bot",
                Turn.decision == Handling.ESCALATE,
            )
            .order_by(Turn.created_at.desc(), Turn.id.desc())
        ).all()
    turn_id = next(
        (turn for turn, reasons in handovers
         if DecisionReason.ASKED_FOR_HUMAN not in (reasons or [])),
        None,
    )  # fmt: skip
    if turn_id is None:
        return False
    add_label(store, turn_id, user, is_gap=needed, correct_intent=None, ideal_answer=None)
    return True


def conversation_of_turn(store: Store, turn_id: int) -> str | None:
    """The conversation of a bot turn (None: no such bot turn)."""
    with store.session() as session:
        return session.scalar(
            select(Turn.conversation_id).where(Turn.id == turn_id, Turn.kind == "bot")
        )


def conversation_signature(store: Store, conversation_id: str) -> str:
    with store.session() as session:
        conversation = session.get(Conversation, conversation_id)
        turns = session.scalar(
            select(func.count(Turn.id)).where(Turn.conversation_id == conversation_id)
        )
        labels = session.scalar(
            select(func.count(Label.id))
            .join(Turn, Turn.id == Label.turn_id)
            .where(Turn.conversation_id == conversation_id)
        )
        feedback = session.scalar(
            select(func.count(Feedback.id)).where(Feedback.conversation_id == conversation_id)
        )
    status = f"{conversation.status}:{conversation.agent}" if conversation else "none"
    return f"{status}|{turns}|{labels}|{feedback}"
