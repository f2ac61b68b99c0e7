"""A small hand-made database for the report's tests, whose right figures are known.

Week of 2026-11-02 (Monday) to 2026-11-09, UTC. Two gap model versions: ``gap-old``
(registry v1) and ``gap-new`` (v2, current). Fifteen bot turns in ten conversations,
plus one conversation before the period that must not be counted:

    c1  socketio  11-02 09:00 t1   card_arrival  answer  .10 new  thumbs up; rating 5
                  11-02 09:03 t1b  card_arrival  answer  .10 new  (a rephrase of t1,
                                                          but t1 had a thumbs up)
    c2  socketio  11-02 10:00 t2   top_up        answer  .30 new  thumbs down
    c7  socketio  11-02 08:00 t10  freeze_card   answer  .15 old  labelled gap; rating 2
    c3  telegram  11-03 11:00 t3   exchange_rate answer  .20 new
                  11-03 11:02 t4   exchange_rate answer  .42 new  (rephrases t3)
                                                          labelled gap, then no gap
    c4  telegram  11-03 12:00 t5   card_arrival  answer  .45 new
                  11-03 12:01 t6   request_human escalate (asked for a person), unscored
                                   escalation resolved; claimed 12:05, agent reply 12:07;
                                   labelled gap ("the hand-over was needed")
    c5  socketio  11-04 09:00 t7   exchange_rate escalate .85 new  escalation handed
                                   back; claimed 09:30, agent reply 09:40; labelled no gap
    c6  socketio  11-04 10:00 t8   card_arrival  clarify .62 new  "<script>..." labelled gap
                  11-04 10:01 t9   card_arrival  answer  .20 new  thumbs up
    c8  rest      11-05 11:00 t11  exchange_rate answer  scoring off  thumbs down; rating 3
    c9  rest      11-05 12:00 t12  freeze_card   answer  scoring off
                  11-05 12:30 t12b freeze_card   answer  scoring off  (30 min later:
                                                          not a follow-up)
    c10 socketio  11-06 09:00 t13  loan          escalate .90 new  escalation open
    c0  socketio  10-30 09:00 t0   card_arrival  answer  .50 new  thumbs down; rating 1
                                   (before the period)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import AuditEvent, Escalation, Label, ModelVersion, Turn
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine

SINCE = datetime(2026, 11, 2, tzinfo=UTC)
UNTIL = datetime(2026, 11, 9, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script> my card"

# name, conversation, when (2026, UTC), text, intent, decision, gap probability (None: unscored)
TURNS = [
    ("t0", "c0", "10-30 09:00", "an old question", "card_arrival", "answer", 0.5),
    ("t10", "c7", "11-02 08:00", "freeze my card", "freeze_card", "answer", 0.15),
    ("t1", "c1", "11-02 09:00", "where is my card", "card_arrival", "answer", 0.1),
    ("t1b", "c1", "11-02 09:03", "where is my card now", "card_arrival", "answer", 0.1),
    ("t2", "c2", "11-02 10:00", "how do I top up my account", "top_up", "answer", 0.3),
    ("t3", "c3", "11-03 11:00", "exchange rate for dollars please", "exchange_rate", "answer", 0.2),
    ("t4", "c3", "11-03 11:02", "exchange rate for dollars", "exchange_rate", "answer", 0.42),
    ("t5", "c4", "11-03 12:00", "can I get a mortgage", "card_arrival", "answer", 0.45),
    ("t6", "c4", "11-03 12:01", "I want to talk to a person", "request_human", "escalate", None),
    ("t7", "c5", "11-04 09:00", "asdf qwerty blah", "exchange_rate", "escalate", 0.85),
    ("t8", "c6", "11-04 10:00", SCRIPT, "card_arrival", "clarify", 0.62),
    ("t9", "c6", "11-04 10:01", "card arrival", "card_arrival", "answer", 0.2),
    ("t11", "c8", "11-05 11:00", "what is the exchange rate", "exchange_rate", "answer", None),
    ("t12", "c9", "11-05 12:00", "freeze my card now", "freeze_card", "answer", None),
    ("t12b", "c9", "11-05 12:30", "freeze my card now please", "freeze_card", "answer", None),
    ("t13", "c10", "11-06 09:00", "help me with my loan", "loan", "escalate", 0.9),
]
CHANNELS = {"c3": "telegram", "c4": "telegram", "c8": "rest", "c9": "rest"}  # else socketio
SCORED_BY_OLD_VERSION = {"t10"}  # the others by gap-new
REASONS = {
    "t6": ["asked_for_human"], "t7": ["high_gap"], "t8": ["doubtful"], "t11": ["scoring_off"],
    "t12": ["scoring_off"], "t12b": ["scoring_off"], "t13": ["high_gap"],
}  # fmt: skip
# turn, conversation, rating, when
THUMBS = [
    ("t0", "c0", "down", "10-30 09:01"), ("t1", "c1", "up", "11-02 09:01"),
    ("t2", "c2", "down", "11-02 10:01"), ("t9", "c6", "up", "11-04 10:02"),
    ("t11", "c8", "down", "11-05 11:01"),
]  # fmt: skip
# conversation, 1-5, when
RATINGS = [
    ("c0", 1, "10-30 09:02"), ("c1", 5, "11-02 09:05"), ("c7", 2, "11-02 08:10"),
    ("c8", 3, "11-05 11:05"),
]  # fmt: skip
# turn, is a gap, author, when; oldest first
LABELS = [
    ("t10", True, "ana", "11-07 09:00"), ("t4", True, "ana", "11-03 15:00"),
    ("t4", False, "bob", "11-04 15:00"), ("t6", True, "ana", "11-03 12:20"),
    ("t7", False, "ana", "11-04 10:00"), ("t8", True, "ana", "11-04 11:00"),
]  # fmt: skip
# conversation, when, status now, reason codes, claimed, replied
ESCALATIONS = [
    ("c4", "11-03 12:01", "resolved", ["asked_for_human"], "11-03 12:05", "11-03 12:07"),
    ("c5", "11-04 09:00", "handed_back", ["high_gap"], "11-04 09:30", "11-04 09:40"),
    ("c10", "11-06 09:00", "open", ["high_gap"], None, None),
]  # fmt: skip


def at(when: str) -> datetime:
    """``"MM-DD HH:MM"`` in 2026, UTC."""
    return datetime.strptime(f"2026-{when}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def fill_sample(store: Store) -> None:
    """The database of this module's docstring, written as the action server (records
    through the store) and the console (rows) write it."""
    uids: dict[str, str] = {}
    for name, conversation, when, text, intent, decision, p in TURNS:
        version = "gap-old" if name in SCORED_BY_OLD_VERSION else "gap-new"
        score = None if p is None else {"probability": p, "model_version": version}
        record = new_record(
            "turn",
            conversation,
            channel=CHANNELS.get(conversation, "socketio"),
            created_at=at(when).isoformat(),
            customer_text=text,
            intent=intent,
            confidence=0.7,
            decision=decision,
            answer_intent=intent if decision == "answer" else None,
            answer_text="An answer.",
            decision_reasons=REASONS.get(name, []),
            gap_score=score,
        )
        store.apply(record)
        uids[name] = record["uid"]
    for name, conversation, rating, when in THUMBS:
        store.apply(
            new_record(
                "feedback", conversation, turn_uid=uids[name], rating=rating,
                created_at=at(when).isoformat(),
            )
        )  # fmt: skip
    for conversation, score, when in RATINGS:
        store.apply(
            new_record(
                "feedback", conversation, kind="conversation", rating=str(score),
                created_at=at(when).isoformat(),
            )
        )  # fmt: skip
    for conversation, when, _, codes, _, _ in ESCALATIONS:
        store.apply(
            new_record(
                "escalation", conversation, created_at=at(when).isoformat(), reason_codes=codes
            )
        )
    with store.session() as session:
        _console_rows(session, uids)


def _console_rows(session: Session, uids: dict[str, str]) -> None:
    """Registry versions, labels, and what became of the escalations (claims, replies)."""
    for name, gap, current in (("v1", "gap-old", False), ("v2", "gap-new", True)):
        session.add(
            ModelVersion(
                name=name, created_at=at("11-01 08:00"), trigger="train", status="promoted",
                current=current, rasa_model=f"rasa-{name}.tar.gz", gap_model=f"{gap}.joblib",
            )
        )  # fmt: skip
        session.flush()  # one current version at a time, as the registry promotes
    turn_ids = {uid: turn_id for uid, turn_id in session.execute(select(Turn.uid, Turn.id))}
    for name, is_gap, author, when in LABELS:
        turn_id = turn_ids[uids[name]]
        session.add(Label(turn_id=turn_id, author=author, is_gap=is_gap, created_at=at(when)))
    for conversation, _, status, _, claimed, replied in ESCALATIONS:
        session.execute(  # where it stands now, as the console's release() sets it
            update(Escalation)
            .where(Escalation.conversation_id == conversation)
            .values(status=status)
        )
        if claimed is None or replied is None:
            continue
        session.add(AuditEvent(actor="ana", action="claim", conversation_id=conversation,
                               created_at=at(claimed)))  # fmt: skip
        session.add(Turn(uid=f"agent-{conversation}", conversation_id=conversation,
                         created_at=at(replied), kind="agent", answer_text="Ana here.",
                         decision="agent", author="ana"))  # fmt: skip


def sample_engine(url: str) -> Engine:
    upgrade(url)
    engine = make_engine(url)
    fill_sample(Store(engine))
    return engine


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[Engine]:
    """The sample database in an SQLite file."""
    engine = sample_engine(f"sqlite:///{tmp_path / 'gapdesk.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Engine]:
    """A database with the tables and no rows at all."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
