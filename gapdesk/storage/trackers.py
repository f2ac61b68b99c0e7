"""Retention in Rasa's tracker store (``GAPDESK_TRACKER_STORE_URL``): its ``events`` table.

Rasa's ``SQLTrackerStore`` keeps every event of a conversation as a row of ``events``
(``sender_id``; ``timestamp`` in seconds since 1970; ``data``, the event as JSON: what
the customer typed, unmasked; the bot's and agents' messages; slot values such as a
card's last four digits). gapdesk's reports never read it. Older than the cutoff:

* a conversation with no event since the cutoff is deleted, all its events in one
  transaction (plain SQL by sender and timestamp);
* a conversation that is still going on keeps its events but their personal content is
  removed in place: texts, entities, metadata, the bot's attachments and slot values
  become empty (``data`` gets ``"gapdesk_retention"`` as a mark, so later runs skip
  them). Deleting rows would be wrong there: Rasa saves a conversation by appending the
  events beyond the number it finds stored, so fewer rows under a conversation that is
  answering a message at that moment would make Rasa store some events twice. Old
  intents, actions and the order of events stay, so Rasa rebuilds the same dialogue
  state except for the values of slots set before the cutoff;
* conversations waiting for a person are left whole: deleting the pause would let the
  bot speak again while an agent owns the conversation.

A customer writing again in the very moment their idle conversation is deleted can
bring its old events back (Rasa stores what it had read); the next run removes them.
The table is Rasa's: it is never created here, and a tracker store that does not exist
yet (no SQLite file, no ``events`` table) has nothing to prune.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    bindparam,
    column,
    create_engine,
    delete,
    func,
    inspect,
    select,
    table,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gapdesk.errors import StorageError
from gapmodel.errors import ConfigurationError

TABLE = "rasa events"  # as a run reports it
MARK = "gapdesk_retention"
EVENTS = table("events", column("id"), column("sender_id"), column("timestamp"), column("data"))
SENDERS_PER_TRANSACTION = 50
_PARSE_DATA_KEPT = ("intent", "intent_ranking", "message_id")


def tracker_engine(url: str) -> tuple[Engine | None, str]:
    """An engine on Rasa's tracker store, or None with why there is nothing to prune.

    A plain engine: unlike gapdesk's own, it changes no SQLite setting of Rasa's file
    and never creates the file."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError("GAPDESK_TRACKER_STORE_URL is not a database URL") from exc
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if not path or path == ":memory:" or not Path(path).is_file():
            return None, f"no tracker store file at {path or '(memory)'}: nothing to prune"
    return create_engine(url, pool_pre_ping=True), ""


def prune_events(
    engine: Engine,
    cutoff: datetime,
    keep_senders: Collection[str],
    dry_run: bool,
    batch_size: int,
) -> tuple[int, int, str]:
    """Delete the events of idle conversations and empty the older events of active
    ones (or, dry, count them), leaving ``keep_senders`` alone.

    Returns (events deleted, events emptied, a note when there is no events table).
    """
    try:
        if not inspect(engine).has_table("events"):
            return (
                0,
                0,
                "no events table (Rasa has not stored a conversation yet): nothing to prune",
            )
        moment = cutoff.timestamp()
        deleted = _delete_idle(engine, moment, keep_senders, dry_run)
        emptied = _empty_old_events(engine, moment, keep_senders, dry_run, batch_size)
        return deleted, emptied, ""
    except SQLAlchemyError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise StorageError(f"cannot prune Rasa's events ({first_line})") from exc


def _senders(moment: float, keep_senders: Collection[str], idle: bool) -> Any:
    """Senders whose newest event is before ``moment`` (``idle``) or not, but not kept."""
    newest = func.max(EVENTS.c.timestamp)
    query = select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id)
    query = query.having(newest < moment if idle else newest >= moment)
    if keep_senders:
        query = query.where(EVENTS.c.sender_id.not_in(sorted(keep_senders)))
    return query


def _delete_idle(
    engine: Engine, moment: float, keep_senders: Collection[str], dry_run: bool
) -> int:
    """Every event of the conversations idle since ``moment``, a conversation's events
    in one transaction."""
    with engine.connect() as connection:
        idle = list(connection.scalars(_senders(moment, keep_senders, idle=True)))
    deleted = 0
    for start in range(0, len(idle), SENDERS_PER_TRANSACTION):
        senders = idle[start : start + SENDERS_PER_TRANSACTION]
        old = EVENTS.c.sender_id.in_(senders) & (EVENTS.c.timestamp < moment)
        with engine.begin() as connection:
            if dry_run:
                deleted += connection.scalar(select(func.count()).where(old)) or 0
            else:
                deleted += connection.execute(delete(EVENTS).where(old)).rowcount
    return deleted


def _empty_old_events(
    engine: Engine, moment: float, keep_senders: Collection[str], dry_run: bool, batch_size: int
) -> int:
    """Empty the events before ``moment`` of conversations still going on, in place."""
    active = _senders(moment, keep_senders, idle=False)
    emptied, after = 0, -1
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(EVENTS.c.id, EVENTS.c.data)
                .where(
                    EVENTS.c.timestamp < moment,
                    EVENTS.c.sender_id.in_(active),
                    ~EVENTS.c.data.contains(f'"{MARK}"', autoescape=True),
                    EVENTS.c.id > after,
                )
                .order_by(EVENTS.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return emptied
            after = rows[-1].id
            emptied += len(rows)
            if not dry_run:
                changes = [{"event_id": row.id, "emptied": emptied_event(row.data)} for row in rows]
                statement = (
                    update(EVENTS)
                    .where(EVENTS.c.id == bindparam("event_id"))
                    .values(data=bindparam("emptied"))
                )
                connection.execute(statement, changes)


def emptied_event(data: str | None) -> str:
    """A Rasa event (JSON) without personal content, that Rasa still reads: no texts,
    entities, metadata, bot attachments or slot value; intent, action names, policy and
    time stay. Data that is not an event becomes the mark alone."""
    try:
        event = json.loads(data or "")
    except ValueError:
        event = None
    if not isinstance(event, dict):
        return json.dumps({MARK: "texts removed"})
    for key in ("text", "action_text"):
        if key in event:
            event[key] = None
    for key, empty in (("metadata", {}), ("entities", [])):
        if key in event:
            event[key] = empty
    if event.get("event") == "bot" and "data" in event:
        event["data"] = {}  # buttons, images, custom payloads
    if event.get("event") == "slot":
        event["value"] = None
    parse_data = event.get("parse_data")
    if isinstance(parse_data, dict):
        kept = {
            k: parse_data[k] for k in ("intent", "intent_ranking", "message_id") if k in parse_data
        }
        event["parse_data"] = {**kept, "text": None, "entities": []}
    event[MARK] = "texts removed"
    return json.dumps(event)
