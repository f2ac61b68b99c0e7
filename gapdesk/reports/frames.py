"""The tables of one period, read into pandas DataFrames for the report's views.

Everything is read through the one SQLAlchemy engine passed in (SQLite or PostgreSQL)
with plain ``select`` statements; nothing here knows the settings. Times come back as
UTC-aware pandas timestamps whatever the database (SQLite stores them naive, in UTC).

What belongs to the period ``[since, until)``:

* turns (bot and agent) created in it, with their conversation's channel;
* thumbs and labels on those turns, whenever they were given (a label a week later
  still judges the turn), and conversation ratings (1-5) given in the period;
* escalations created in it, and for their conversations the console's claims and the
  agents' replies from ``since`` on (a wait that began in the period may end after it);
* every model version of the registry (a small table).

With a ``channel``, only the turns, feedback and escalations of conversations on that
channel (and so only their labels, claims and replies) belong to the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Executable, and_, or_, select, true
from sqlalchemy.exc import SQLAlchemyError

from gapdesk.errors import StorageError
from gapdesk.storage.models import (
    AuditEvent,
    Conversation,
    Escalation,
    Feedback,
    GapScoreRow,
    Label,
    ModelVersion,
    Turn,
)

# The console's audit action when a person takes a conversation over (console/casework.py).
CLAIM_ACTION = "claim"


@dataclass(frozen=True)
class Period:
    """A half-open time interval ``[since, until)`` in UTC."""

    since: datetime
    until: datetime

    @classmethod
    def of(cls, since: datetime, until: datetime) -> Period:
        """Both ends in UTC (a naive time is taken to be UTC already)."""
        return cls(_utc(since), _utc(until))


@dataclass(frozen=True)
class Frames:
    """The period's rows, one DataFrame per kind; every frame has its columns even
    when it has no rows, so views need no special case for an empty database."""

    period: Period
    turns: pd.DataFrame  # see _TURN_COLUMNS; gap_probability/model_version from gap_scores
    feedback: pd.DataFrame  # id, conversation_id, turn_id, kind, rating, reason, created_at
    labels: pd.DataFrame  # id, turn_id, is_gap, correct_intent, created_at
    escalations: pd.DataFrame  # id, conversation_id, created_at, status, reason_codes
    claims: pd.DataFrame  # conversation_id, created_at
    agent_replies: pd.DataFrame  # conversation_id, created_at
    model_versions: pd.DataFrame  # name, status, current, created_at, promoted_at, gap_version
    channel: str | None = None  # the channel filter; None: every channel
    channels: tuple[str, ...] = ()  # the channels of the period's turns, whatever the filter


_TURN_COLUMNS = (
    Turn.id, Turn.conversation_id, Turn.created_at, Turn.kind, Turn.customer_text, Turn.intent,
    Turn.answer_intent, Turn.decision, Turn.decision_reasons, Turn.rephrased_next,
    GapScoreRow.probability.label("gap_probability"), GapScoreRow.model_version,
    Conversation.channel,
    # For the information view and unmet needs (gapdesk.reports.information, unmet_needs).
    Turn.intent_ranking, GapScoreRow.reasons.label("gap_reasons"),
    GapScoreRow.features.label("gap_features"),
)  # fmt: skip


def load_frames(
    engine: Engine, since: datetime, until: datetime, channel: str | None = None
) -> Frames:
    """Read the period's rows (of conversations on ``channel`` only, if given); a
    database error becomes a :class:`StorageError`."""
    period = Period.of(since, until)
    try:
        with engine.connect() as connection:
            return _read(connection, period, channel)
    except SQLAlchemyError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise StorageError(
            f"cannot read the database for the report ({first_line}); "
            "has `gapdesk db upgrade` created its tables?"
        ) from exc


def _read(connection: Connection, period: Period, channel: str | None = None) -> Frames:
    queries = _queries(period, channel)
    frames = {name: _frame(connection, query) for name, query in queries.items()}
    versions = frames["model_versions"]
    versions["gap_version"] = [gap_version_of(path) for path in versions["gap_model"]]
    seen = select(Conversation.channel).join(Turn, Turn.conversation_id == Conversation.id)
    seen = seen.where(_within(Turn.created_at, period)).distinct()
    channels = sorted(str(name) for name in connection.scalars(seen))
    return Frames(period=period, **frames, channel=channel, channels=tuple(channels))


def _queries(period: Period, channel: str | None = None) -> dict[str, Executable]:
    """One query per frame; the period's turns and escalations are subqueries, never
    long lists of ids."""
    turn_ids = select(Turn.id).where(
        _within(Turn.created_at, period), _on(Turn.conversation_id, channel)
    )
    escalated = select(Escalation.conversation_id).where(
        _within(Escalation.created_at, period), _on(Escalation.conversation_id, channel)
    )
    feedback = (Feedback.id, Feedback.conversation_id, Feedback.turn_id, Feedback.kind)
    reason = Feedback.reason  # a thumbs-down's reason code (gapdesk.ratings)
    label = (Label.id, Label.turn_id, Label.is_gap, Label.created_at, Label.correct_intent)
    escalation = (Escalation.id, Escalation.conversation_id, Escalation.status)
    version = (ModelVersion.name, ModelVersion.status, ModelVersion.current)
    rated = (Feedback.kind == "conversation") & _within(Feedback.created_at, period)
    rated &= _on(Feedback.conversation_id, channel)
    return {
        "turns": select(*_TURN_COLUMNS)
        .join(Conversation, Conversation.id == Turn.conversation_id)
        .outerjoin(GapScoreRow, GapScoreRow.turn_id == Turn.id)
        .where(_within(Turn.created_at, period), _on(Turn.conversation_id, channel))
        .order_by(Turn.created_at, Turn.id),
        "feedback": select(*feedback, Feedback.rating, reason, Feedback.created_at).where(
            or_(Feedback.turn_id.in_(turn_ids), rated)
        ),
        "labels": select(*label)
        .where(Label.turn_id.in_(turn_ids))
        .order_by(Label.created_at, Label.id),
        "escalations": select(*escalation, Escalation.created_at, Escalation.reason_codes).where(
            _within(Escalation.created_at, period), _on(Escalation.conversation_id, channel)
        ),
        "claims": select(AuditEvent.conversation_id, AuditEvent.created_at).where(
            AuditEvent.action == CLAIM_ACTION,
            AuditEvent.created_at >= period.since,
            AuditEvent.conversation_id.in_(escalated),
        ),
        "agent_replies": select(Turn.conversation_id, Turn.created_at).where(
            Turn.kind == "agent",
            Turn.created_at >= period.since,
            Turn.conversation_id.in_(escalated),
        ),
        "model_versions": select(
            *version, ModelVersion.created_at, ModelVersion.promoted_at, ModelVersion.gap_model
        ),
    }


def gap_version_of(gap_model_path: str) -> str:
    """The version a gap model file writes on the turns it scores: its file name
    without ``.joblib`` (``gap-<hash>``, see gapdesk/training.py)."""
    return PurePosixPath(gap_model_path).name.removesuffix(".joblib")


def _within(column: Any, period: Period) -> Any:
    return and_(column >= period.since, column < period.until)


def _on(conversation_id: Any, channel: str | None) -> Any:
    """The rows of conversations on ``channel``; every row without one."""
    if channel is None:
        return true()
    return conversation_id.in_(select(Conversation.id).where(Conversation.channel == channel))


def _frame(connection: Connection, query: Executable) -> pd.DataFrame:
    """The query's rows with its column names (also when there are none): numbers and
    texts in their pandas types (missing ones NaN), JSON lists as lists, times in UTC."""
    result = connection.execute(query)
    columns = list(result.keys())
    rows = [tuple(row) for row in result]
    frame = pd.DataFrame(rows, columns=columns, dtype=object).infer_objects()
    for column in ("created_at", "promoted_at"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
