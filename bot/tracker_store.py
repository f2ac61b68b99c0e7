"""Rasa's SQL tracker store, keeping conversations with personal data masked.

gapdesk masks card numbers, IBANs, emails and phone numbers before its own database
keeps any text (``gapmodel/redaction.py``). Rasa's tracker store would keep them as
typed: in user events' text, NLU parse (entities included) and metadata, in slots, and
in bot messages (agents' replies pushed through Rasa's API among them). This store, set
in ``bot/endpoints.yml``, masks those fields with the same patterns in every event it
writes and every event it streams to an event broker.

Why on the way into storage, not where a message enters Rasa: Rasa 3.6 has no hook
there. Each channel hands its ``UserMessage`` to a closure of Rasa's own
(``rasa.core.channels.channel.register``) that calls the agent, then the processor;
the one plugin hook on the way (``get_anonymization_pipeline``) only sees copies of the
events. Masking there would mean patching Rasa, or wrapping every channel class
(Slack's is Rasa's own) and still missing agents' replies pushed through the HTTP API.
And the turn itself needs what was typed: a rating button's payload carries a turn's
uuid, and a uuid whose middle groups are all digits reads as a card number in groups,
so a masked payload could lose the rating. The NLU and the action server see the
message as typed; nothing keeps it.

Kept as they are: conversation ids (a WhatsApp conversation's is the customer's
number; it keys the tracker, and retention pseudonymises it), bot messages' buttons and
attachments (the bot's own; rating buttons' payloads are read back to check a click),
intents, action names, timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import Session

# gapmodel.redaction is standard library only, so Rasa's environment can import it (the
# layer contract, tests/test_layers.py, allows bot/ this one module of gapmodel): one
# set of patterns masks Rasa's store and gapdesk's database alike.
from gapmodel.redaction import redact

# The serialised event types that carry what people wrote.
_WRITTEN = frozenset({"user", "bot", "agent", "slot", "entities", "reminder"})


def masked(value: Any) -> Any:
    """``value`` with every string in it masked, through lists and dictionaries."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def _within_masked_text(text: str, masked_text: str, start: int, end: int) -> bool:
    """Whether redaction masked (part of) ``text[start:end]``: the text around it, masked
    on its own, and the span itself do not make up the masked text."""
    return redact(text[:start]) + text[start:end] + redact(text[end:]) != masked_text


def masked_entities(text: str | None, entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A message's entities as stored: those found inside masked data are left out, the
    strings of the others masked.

    The bot's pattern for a card's last four digits finds each group of a card number
    (and of an IBAN or a phone number): kept, the groups would spell the number out.
    """
    masked_text = redact(text) or ""
    kept = []
    for entity in entities:
        start, end = entity.get("start"), entity.get("end")
        if (
            text
            and masked_text != text
            and isinstance(start, int)
            and isinstance(end, int)
            and _within_masked_text(text, masked_text, start, end)
        ):
            continue
        kept.append(masked(entity))
    return kept


def masked_event(data: dict[str, Any]) -> dict[str, Any]:
    """A serialised event (``Event.as_dict()``) with what people wrote masked."""
    kind = data.get("event")
    if kind not in _WRITTEN:
        return data
    data = dict(data)
    if kind == "user":
        parse_data = dict(data.get("parse_data") or {})
        if parse_data:
            entities = parse_data.get("entities") or []
            parse_data["entities"] = masked_entities(parse_data.get("text"), entities)
            parse_data["text"] = redact(parse_data.get("text"))
            parse_data["metadata"] = masked(parse_data.get("metadata"))
            data["parse_data"] = parse_data
    if kind in ("user", "bot", "agent"):
        data["text"] = redact(data.get("text"))
        if "metadata" in data:
            data["metadata"] = masked(data["metadata"])
    elif kind == "slot":
        data["value"] = masked(data.get("value"))
    else:  # entities added by a policy, or a reminder's
        data["entities"] = masked(data.get("entities"))
    return data


def redacted_event(event: Event) -> Event:
    """``event`` itself when it holds nothing to mask, else a copy with it masked."""
    if event.type_name not in _WRITTEN:
        return event
    data = event.as_dict()
    masked_data = masked_event(data)
    if masked_data == data:
        return event
    copy = Event.from_parameters(masked_data)
    assert copy is not None, f"Rasa could not read back a {event.type_name} event"
    return copy


class MaskingEventBroker(EventBroker):
    """Passes each event on to ``broker`` with what people wrote masked."""

    def __init__(self, broker: EventBroker) -> None:
        self.broker = broker

    def publish(self, event: dict[str, Any]) -> None:
        self.broker.publish(masked_event(event))

    def is_ready(self) -> bool:
        return self.broker.is_ready()

    async def close(self) -> None:
        await self.broker.close()


def _sqlite_write_ahead_log(connection: Any, _record: Any) -> None:
    """The embedded default's settings: a write-ahead log, synced at checkpoints.

    Rasa saves a tracker twice a turn, and SQLite's default journal syncs the disk at
    every commit: under load, commits were a fifth of Rasa's time (py-spy). With a
    write-ahead log and ``synchronous=NORMAL`` a commit survives the process being
    killed; only a power loss or an operating-system crash can undo the last ones.
    Production keeps Rasa's trackers in PostgreSQL (docs/operations.md).
    """
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class RedactingSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` (``type: SQL``) whose stored and streamed events are masked.

    Rasa streams events from its save, through ``self.event_broker``: wrapped here, it
    masks them, and so does the in-memory store Rasa falls back to (with this broker)
    while the database fails. What is written comes from ``_additional_events``, the
    events the database does not have yet: only those are masked, not the whole
    conversation again on every turn, and Rasa's own save stays in charge. A private
    hook, but Rasa 3.6.21 is the last open-source release; tests/bot/test_tracker_store.py
    checks it through ``save``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.event_broker is not None:
            self.event_broker = MaskingEventBroker(self.event_broker)
        if self.engine.dialect.name == "sqlite":
            self._keep_sqlite_connections()

    def _keep_sqlite_connections(self) -> None:
        """Rasa's SQLite engine opens and closes a connection for every session, and
        closing the last one checkpoints the log to disk; a pool keeps them open."""
        self.engine.dispose()
        self.engine = sqlalchemy.create_engine(
            self.engine.url,
            poolclass=sqlalchemy.pool.QueuePool,
            connect_args={"check_same_thread": False},  # a pool hands them to any thread
        )
        sqlalchemy.event.listen(self.engine, "connect", _sqlite_write_ahead_log)
        with self.engine.connect() as connection:  # the log mode stays with the file
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        self.sessionmaker = sqlalchemy.orm.sessionmaker(bind=self.engine)

    def _additional_events(
        self, session: Session, tracker: DialogueStateTracker
    ) -> Iterator[Event]:
        return map(redacted_event, super()._additional_events(session, tracker))
