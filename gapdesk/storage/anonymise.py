"""Retention's steps on the texts of gapdesk's own tables, and its deletions (see
gapdesk.storage.retention; customer ids are gapdesk.storage.pseudonyms').

Each step works in batches of rows older than the cutoff, one transaction per batch,
walking forward by key so that a pass reads every old row once. A dry run selects the
same batches and only counts. Every step only touches rows that still hold something
to remove, so running again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from gapdesk.conversation import ConversationStatus
from gapdesk.ratings import REASON_CODES
from gapdesk.storage.customers import PSEUDONYM_PREFIX
from gapdesk.storage.models import (
    AuditEvent,
    ConsoleSession,
    Conversation,
    Customer,
    Escalation,
    Feedback,
    GapScoreRow,
    Label,
    LoginFailure,
    Turn,
)
from gapdesk.storage.store import Store
from gapmodel.decision import read_signals

TEXTS, IDS, DELETED = "texts removed", "ids pseudonymised", "deleted"
# Conversations a person must still answer keep their id (the reply goes to it).
WAITING = (ConversationStatus.ESCALATED, ConversationStatus.AGENT)
# What the console's audit details about a conversation hold: staff names, statuses,
# counts, intents. Anything else in an old one (a future free-text field) is dropped.
KEPT_AUDIT_DETAIL = frozenset(
    {"previous_status", "taken_from", "characters", "turn_id", "is_gap", "correct_intent"}
)
_QUOTED = re.compile(r"'[^']*'")
_NO_CHANGE = {"synchronize_session": False}


class Tally(Protocol):
    """Where a run counts its changes (gapdesk.storage.retention.PruneResult)."""

    @property
    def cutoff(self) -> datetime: ...

    @property
    def dry_run(self) -> bool: ...

    def count(self, table: str, kind: str, n: int) -> None: ...


class Batch:
    """One transaction's counts, added to the run's only once it is committed."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.pending: list[tuple[str, str, int]] = []

    @property
    def cutoff(self) -> datetime:
        return self.tally.cutoff

    @property
    def dry_run(self) -> bool:
        return self.tally.dry_run

    def count(self, table: str, kind: str, n: int) -> None:
        self.pending.append((table, kind, n))


@contextmanager
def transaction(store: Store, tally: Tally) -> Iterator[tuple[Session, Batch]]:
    """A session committed at the end of the block (rolled back on an error, which
    the store raises as a StorageError); its counts reach ``tally`` only if committed."""
    batch = Batch(tally)
    with store.session() as session:
        yield session, batch
    for table, kind, n in batch.pending:
        tally.count(table, kind, n)


# -- texts --------------------------------------------------------------------------------


def remove_turn_texts(store: Store, tally: Tally, batch_size: int) -> None:
    """Customers' messages, replies and Rasa's message ids of old turns; the customer's
    words quoted in their gap-score reasons. A bot turn keeps ``rephrased_next``."""
    holds_text = or_(
        Turn.customer_text.is_not(None), Turn.answer_text.is_not(None), Turn.message_id.is_not(None)
    )
    after: tuple[datetime, int] | None = None
    while True:
        with transaction(store, tally) as (session, batch):
            query = (
                select(*_TURN_COLUMNS)
                .where(Turn.created_at < tally.cutoff, holds_text)
                .order_by(Turn.created_at, Turn.id)
                .limit(batch_size)
            )
            if after is not None:
                query = query.where(_later(Turn.created_at, Turn.id, *after))
            rows = session.execute(query).all()
            if not rows:
                return
            after = (rows[-1].created_at, rows[-1].id)
            scores = _scrubbed_reasons(session, [row.id for row in rows])
            batch.count("turns", TEXTS, len(rows))
            batch.count("gap_scores", TEXTS, len(scores))
            if tally.dry_run:
                continue
            rephrased = _rephrased_next(session, rows)
            changes = [
                {
                    "id": row.id,
                    "customer_text": None,
                    "answer_text": None,
                    "message_id": None,
                    "rephrased_next": rephrased.get(row.id),
                }
                for row in rows
            ]
            session.execute(update(Turn), changes)
            if scores:
                session.execute(update(GapScoreRow), scores)


_TURN_COLUMNS = (Turn.id, Turn.conversation_id, Turn.kind, Turn.created_at, Turn.customer_text)


def _later(time_column: Any, id_column: Any, time: datetime, row_id: int) -> Any:
    """Rows after (``time``, ``row_id``) in (time, id) order; the first condition lets
    the database start its index scan there instead of at the oldest row."""
    return and_(time_column >= time, or_(time_column > time, id_column > row_id))


def _rephrased_next(session: Session, rows: Sequence[Any]) -> dict[int, bool]:
    """For each bot turn of ``rows`` (oldest first): whether the customer's next message
    in the conversation (its next bot turn) asks it again, by the bot's own rule
    (gapmodel.decision.read_signals), as reports judge it (gapdesk.reports.outcomes)."""
    bot = [row for row in rows if row.kind == "bot"]
    if not bot:
        return {}
    following = func.lead(Turn.customer_text).over(
        partition_by=Turn.conversation_id, order_by=(Turn.created_at, Turn.id)
    )
    later = (
        select(Turn.id, following.label("next_text"))
        .where(
            Turn.conversation_id.in_({row.conversation_id for row in bot}),
            Turn.kind == "bot",
            Turn.created_at >= bot[0].created_at,
        )
        .subquery()
    )
    ids = [row.id for row in bot]
    next_texts = dict(
        session.execute(select(later.c.id, later.c.next_text).where(later.c.id.in_(ids))).all()
    )
    return {row.id: _asks_again(row.customer_text, next_texts.get(row.id)) for row in bot}


def _asks_again(text: object, next_text: object) -> bool:
    if not isinstance(text, str) or not isinstance(next_text, str):
        return False
    return read_signals(next_text, [text], 0).rephrased


def _scrubbed_reasons(session: Session, turn_ids: list[int]) -> list[dict[str, Any]]:
    """The gap scores of ``turn_ids`` whose reasons quote the customer's words, with the
    words replaced by '…' (code, weight and the rest of the sentence stay)."""
    changed = []
    scores = session.execute(
        select(GapScoreRow.id, GapScoreRow.reasons).where(GapScoreRow.turn_id.in_(turn_ids))
    )
    for score_id, reasons in scores:
        scrubbed = [_scrub(reason) for reason in reasons or []]
        if scrubbed != (reasons or []):
            changed.append({"id": score_id, "reasons": scrubbed})
    return changed


def _scrub(reason: Any) -> Any:
    if isinstance(reason, dict) and isinstance(reason.get("text"), str):
        return {**reason, "text": _QUOTED.sub("'…'", reason["text"])}
    return reason


def remove_briefs(store: Store, tally: Tally, batch_size: int) -> None:
    """The "where it went wrong" brief of old escalations (it quotes the customer)."""
    _blank(store, tally, batch_size, Escalation, Escalation.brief, "", Escalation.brief != "")


def remove_better_answers(store: Store, tally: Tally, batch_size: int) -> None:
    """The better answer people wrote in old labels (it may quote the customer)."""
    filled = Label.ideal_answer.is_not(None)
    _blank(store, tally, batch_size, Label, Label.ideal_answer, None, filled)


def remove_free_text_reasons(store: Store, tally: Tally, batch_size: int) -> None:
    """Feedback reasons that are not one of the reason codes the bot offers."""
    free = Feedback.reason.is_not(None) & Feedback.reason.not_in(REASON_CODES)
    _blank(store, tally, batch_size, Feedback, Feedback.reason, None, free)


def _blank(
    store: Store, tally: Tally, batch_size: int, model: Any, column: Any, value: Any, filled: Any
) -> None:
    after = 0
    while True:
        with transaction(store, tally) as (session, batch):
            ids = session.scalars(
                select(model.id)
                .where(model.created_at < tally.cutoff, filled, model.id > after)
                .order_by(model.id)
                .limit(batch_size)
            ).all()
            if not ids:
                return
            after = ids[-1]
            batch.count(model.__tablename__, TEXTS, len(ids))
            if not tally.dry_run:
                statement = update(model).where(model.id.in_(ids)).values({column.key: value})
                session.execute(statement.execution_options(**_NO_CHANGE))


def trim_audit_details(store: Store, tally: Tally, batch_size: int) -> None:
    """Old audit events about a conversation keep only the details in KEPT_AUDIT_DETAIL
    (those already pseudonymised were trimmed before they were)."""
    after = 0
    while True:
        with transaction(store, tally) as (session, batch):
            rows = session.execute(
                select(AuditEvent.id, AuditEvent.detail)
                .where(
                    AuditEvent.created_at < tally.cutoff,
                    AuditEvent.conversation_id.is_not(None),
                    ~AuditEvent.conversation_id.startswith(PSEUDONYM_PREFIX, autoescape=True),
                    AuditEvent.id > after,
                )
                .order_by(AuditEvent.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return
            after = rows[-1].id
            trimmed = [
                {"id": row.id, "detail": _kept(row.detail)}
                for row in rows
                if isinstance(row.detail, dict) and set(row.detail) - KEPT_AUDIT_DETAIL
            ]
            batch.count("audit_events", TEXTS, len(trimmed))
            if trimmed and not tally.dry_run:
                session.execute(update(AuditEvent), trimmed)


def _kept(detail: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in detail.items() if key in KEPT_AUDIT_DETAIL}


# -- customer ids -------------------------------------------------------------------------


def waiting_conversations(store: Store) -> set[str]:
    """Ids of the conversations waiting for or owned by a person."""
    with store.session() as session:
        return set(session.scalars(select(Conversation.id).where(Conversation.status.in_(WAITING))))


# -- deletions ----------------------------------------------------------------------------


def delete_old_sign_ins(store: Store, tally: Tally, batch_size: int) -> None:
    """Failed sign-ins (a name and an address) older than the cutoff, and console
    sign-ins that expired before it: throttling and sign-in need neither."""
    _delete_old(
        store,
        tally,
        batch_size,
        (
            (LoginFailure, LoginFailure.id, LoginFailure.created_at < tally.cutoff),
            (ConsoleSession, ConsoleSession.token_hash, ConsoleSession.expires_at < tally.cutoff),
        ),
    )


def delete_idle_customers(store: Store, tally: Tally, batch_size: int) -> None:
    """Customers' trust rows (a raw customer id) not updated since the cutoff: their
    evidence has faded towards a new customer's anyway (gapdesk.trust)."""
    _delete_old(
        store, tally, batch_size, ((Customer, Customer.id, Customer.updated_at < tally.cutoff),)
    )


def _delete_old(
    store: Store, tally: Tally, batch_size: int, targets: Sequence[tuple[Any, Any, Any]]
) -> None:
    for model, key, old in targets:
        while True:
            with transaction(store, tally) as (session, batch):
                keys = session.scalars(select(key).where(old).order_by(key).limit(batch_size)).all()
                if not keys:
                    break
                batch.count(model.__tablename__, DELETED, len(keys))
                if tally.dry_run:
                    old = and_(old, key > keys[-1])
                    continue
                session.execute(delete(model).where(key.in_(keys)).execution_options(**_NO_CHANGE))
