"""Retention's step on customer ids: a customer's rows older than the cutoff move to
their keyed pseudonym (see gapdesk.storage.retention).

Rasa's sender id is the conversation's id and the customer's: a phone number or a
chat id that stays the same for as long as the customer writes. So the step works by
row age, not by conversation: every turn, escalation, rating and audit event of a
customer id older than the cutoff moves to ``pseudonym(id)``, a conversation row of its
own (same channel and status, times spanning the rows it holds). A conversation with
nothing newer left and no activity since the cutoff is renamed whole (its row goes).
A conversation waiting for a person keeps its id: the reply must reach the customer.

The ids are handled a few dozen per transaction, each statement covering all of them,
with the conversations' rows locked first: the recorder and the console wait for the
transaction instead of writing beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from gapdesk.storage.anonymise import IDS, PSEUDONYM_PREFIX, WAITING, Batch, Tally, transaction
from gapdesk.storage.models import AuditEvent, Conversation, Escalation, Feedback, Turn, as_utc
from gapdesk.storage.store import Store

# Rows that reference the conversation by a foreign key, then the audit log (no key).
_REFERENCING = (Turn, Escalation, Feedback)
_MOVED = (*_REFERENCING, AuditEvent)


@dataclass
class _Move:
    """What moves for one customer id."""

    conversation_id: str
    target: str
    rename: bool = False
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows that move
    times: list[datetime] = field(default_factory=list)  # of the rows that move


def pseudonymise(
    store: Store, tally: Tally, pseudonym: Callable[[str], str], batch_size: int
) -> None:
    """Move every customer id's rows older than the cutoff to its pseudonym, a tenth of
    ``batch_size`` ids per transaction."""
    per_transaction = max(1, batch_size // 10)
    with store.session() as session:  # once: the old rows are read in one pass
        old = _old_conversation_ids(tally.cutoff)
        candidates = list(session.scalars(select(old.c.id).order_by(old.c.id)))
    for start in range(0, len(candidates), per_transaction):
        with transaction(store, tally) as (session, batch):
            _move(session, batch, candidates[start : start + per_transaction], pseudonym)


def _old_conversation_ids(cutoff: datetime) -> Any:
    """Distinct customer ids (not pseudonyms) with a row older than ``cutoff``, or of a
    conversation last active before it, as a subquery with one column, ``id``."""
    old = [
        select(Turn.conversation_id.label("id")).where(Turn.created_at < cutoff),
        select(Escalation.conversation_id).where(Escalation.created_at < cutoff),
        select(Feedback.conversation_id).where(Feedback.created_at < cutoff),
        select(AuditEvent.conversation_id).where(
            AuditEvent.created_at < cutoff, AuditEvent.conversation_id.is_not(None)
        ),
        select(Conversation.id).where(Conversation.updated_at < cutoff),
    ]
    union = old[0].union(*old[1:]).subquery()
    return (
        select(union.c.id)
        .where(~union.c.id.startswith(PSEUDONYM_PREFIX, autoescape=True))
        .subquery()
    )


def _move(
    session: Session, batch: Batch, ids: Sequence[str], pseudonym: Callable[[str], str]
) -> None:
    cutoff = batch.cutoff
    conversations = {
        row.id: row
        for row in session.execute(
            select(
                Conversation.id,
                Conversation.channel,
                Conversation.status,
                Conversation.created_at,
                Conversation.updated_at,
            )  # fmt: skip
            .where(Conversation.id.in_(ids))
            .order_by(Conversation.id)
            .with_for_update()  # the recorder and the console wait until this is done
        )
    }
    ids = [i for i in ids if i not in conversations or conversations[i].status not in WAITING]
    if not ids:
        return
    newer: set[str] = set()
    for referencing in _REFERENCING:
        rows = _table(referencing)
        newer |= set(
            session.scalars(
                select(rows.c.conversation_id)
                .where(rows.c.conversation_id.in_(ids), rows.c.created_at >= cutoff)
                .distinct()
            )
        )
    moves: dict[str, _Move] = {}
    for conversation_id in ids:
        known = conversations.get(conversation_id)
        rename = known is not None and as_utc(known.updated_at) < cutoff
        rename = rename and conversation_id not in newer
        moves[conversation_id] = _Move(conversation_id, pseudonym(conversation_id), rename)
    renaming = [m.conversation_id for m in moves.values() if m.rename]
    for source in _MOVED:
        rows = _table(source)
        old = rows.c.created_at < cutoff
        if source is AuditEvent:  # a renamed conversation takes every audit event along
            old = old | rows.c.conversation_id.in_(renaming)
        span = (func.count(), func.min(rows.c.created_at), func.max(rows.c.created_at))
        stats = session.execute(
            select(rows.c.conversation_id, *span)
            .where(rows.c.conversation_id.in_(ids), old)
            .group_by(rows.c.conversation_id)
        )
        for conversation_id, count, first, last in stats:
            moves[conversation_id].counts[rows.name] = count
            if source is not AuditEvent:
                moves[conversation_id].times += [as_utc(first), as_utc(last)]
    moving = [m for m in moves.values() if m.rename or any(m.counts.values())]
    for move in moving:
        for name, count in move.counts.items():
            batch.count(name, IDS, count)
        if move.rename or move.times:
            batch.count("conversations", IDS, 1)
    if batch.dry_run or not moving:
        return
    _ensure_pseudonymous(session, [m for m in moving if m.rename or m.times], conversations)
    pairs = [{"from_id": m.conversation_id, "to_id": m.target} for m in moving]
    for source in _MOVED:
        moved = _table(source)
        session.execute(
            update(moved)
            .where(moved.c.conversation_id == bindparam("from_id"), moved.c.created_at < cutoff)
            .values(conversation_id=bindparam("to_id")),
            pairs,
        )
    renamed = [pair for pair, move in zip(pairs, moving, strict=True) if move.rename]
    if renamed:
        audit, table = _table(AuditEvent), _table(Conversation)
        session.execute(
            update(audit)
            .where(audit.c.conversation_id == bindparam("from_id"))
            .values(conversation_id=bindparam("to_id")),
            renamed,
        )
        nothing_left = [
            ~exists().where(_table(referencing).c.conversation_id == table.c.id)
            for referencing in _REFERENCING
        ]
        session.execute(
            delete(table).where(table.c.id == bindparam("from_id"), *nothing_left), renamed
        )


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _ensure_pseudonymous(
    session: Session, moves: Sequence[_Move], conversations: dict[str, Any]
) -> None:
    """The pseudonymous conversations' rows, spanning the rows they receive."""
    spans: dict[str, list[datetime]] = {}
    for move in moves:
        original = conversations[move.conversation_id]
        times = list(move.times)
        if move.rename:
            times += [as_utc(original.created_at), as_utc(original.updated_at)]
        spans.setdefault(move.target, []).extend(times)
    existing = {
        row.id: row
        for row in session.execute(
            select(Conversation.id, Conversation.created_at, Conversation.updated_at)
            .where(Conversation.id.in_(list(spans)))
            .order_by(Conversation.id)
            .with_for_update()
        )
    }
    new, changed = [], []
    for move in moves:
        times = spans[move.target]
        row = existing.get(move.target)
        if row is None:
            original = conversations[move.conversation_id]
            new.append({"id": move.target, "channel": original.channel,
                        "status": original.status, "agent": None, "claimed_at": None,
                        "created_at": min(times), "updated_at": max(times)})  # fmt: skip
        else:
            times += [as_utc(row.created_at), as_utc(row.updated_at)]
            changed.append({"target": move.target, "first": min(times), "last": max(times)})
    conversation = _table(Conversation)
    if new:
        session.execute(insert(conversation), new)
    if changed:
        session.execute(
            update(conversation)
            .where(conversation.c.id == bindparam("target"))
            .values(created_at=bindparam("first"), updated_at=bindparam("last")),
            changed,
        )
