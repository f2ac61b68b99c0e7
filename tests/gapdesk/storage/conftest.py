"""A database with personal data on both sides of a retention cutoff, for the retention
tests. ``NOW`` is 2026-12-01 and the retention 30 days: the cutoff is 2026-11-01.

    whatsapp:+15550001111  twilio    10-05 09:00 w1  answer   thumbs up; rating 5
                                     10-05 09:30 w2  clarify  reasons quote 'topup';
                                                     labelled gap with a better answer
                                     11-25 10:00 w3  answer   (newer than the cutoff)
    telegram:4242          telegram  10-10 12:00 g1  answer   thumbs down, free-text reason
                                     10-10 12:01 g2  escalate (asked for a person), brief;
                                                     claimed 12:05 (audit detail with a
                                                     note), agent reply 12:07; labelled gap;
                                                     resolved
    web-7f3a               socketio  10-12 09:00 b1  answer   scoring off; thumbs down
                                                     "wrong_topic"
                                     10-12 09:05 b2  escalate; claimed 09:30, agent reply
                                                     09:40; labelled no gap; handed back
    rest:waiting-1         rest      10-20 09:00 r1  escalate; still waiting for a person
    web-new                socketio  11-28 09:00 n1  answer   (newer than the cutoff)
    web-rephrase           socketio  10-15 10:00 e1  answer   (only with ``rephrase``:
                                     10-15 10:02 e2  answer    e2 asks e1 again)

plus an old model-registry audit event, failed sign-ins and console sign-ins on both
sides of the cutoff; and, for the tracker-store tests, a table shaped like Rasa's
``events`` with the first two customers' conversations (idle since before the cutoff,
and still going on) and the one waiting for a person.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)

from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import (
    AuditEvent,
    Base,
    ConsoleSession,
    Conversation,
    Escalation,
    Label,
    LoginFailure,
    Turn,
    User,
)
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine

NOW = datetime(2026, 12, 1, tzinfo=UTC)
DAYS = 30
CUTOFF = datetime(2026, 11, 1, tzinfo=UTC)
OLD_PERIOD = (datetime(2026, 10, 1, tzinfo=UTC), CUTOFF)

WHATSAPP, TELEGRAM, WEB = "whatsapp:+15550001111", "telegram:4242", "web-7f3a"
WAITING, NEW, REPHRASE = "rest:waiting-1", "web-new", "web-rephrase"
CHANNELS = {WHATSAPP: "twilio", TELEGRAM: "telegram", WAITING: "rest"}  # else socketio
QUOTING = "the question mentions 'topup'; no answer covers it"

# name, conversation, when, text, intent, decision, probability, decision reasons
TURNS: list[tuple[str, str, str, str, str, str, float | None, list[str]]] = [
    ("w1", WHATSAPP, "10-05 09:00", "my card has not arrived, I am John Smith",
     "card_arrival", "answer", 0.2, []),
    ("w2", WHATSAPP, "10-05 09:30", "how do I topup", "top_up", "clarify", 0.6, ["doubtful"]),
    ("w3", WHATSAPP, "11-25 10:00", "freeze my card", "freeze_card", "answer", 0.1, []),
    ("g1", TELEGRAM, "10-10 12:00", "can I get a mortgage", "card_arrival", "answer", 0.45, []),
    ("g2", TELEGRAM, "10-10 12:01", "I want to talk to a person", "request_human", "escalate",
     None, ["asked_for_human"]),
    ("b1", WEB, "10-12 09:00", "what is the exchange rate", "exchange_rate", "answer", None,
     ["scoring_off"]),
    ("b2", WEB, "10-12 09:05", "asdf qwerty", "exchange_rate", "escalate", 0.85, ["high_gap"]),
    ("r1", WAITING, "10-20 09:00", "help me with my loan, John here", "loan", "escalate", 0.9,
     ["high_gap"]),
    ("n1", NEW, "11-28 09:00", "where is my card", "card_arrival", "answer", 0.2, []),
]  # fmt: skip
REPHRASED_TURNS: list[tuple[str, str, str, str, str, str, float | None, list[str]]] = [
    ("e1", REPHRASE, "10-15 10:00", "my card payment was declined at the shop",
     "card_payment_declined", "answer", 0.3, []),
    ("e2", REPHRASE, "10-15 10:02", "card payment declined at the shop, why",
     "card_payment_declined", "answer", 0.3, []),
]  # fmt: skip
# turn, conversation, rating, reason, when
THUMBS = [
    ("w1", WHATSAPP, "up", None, "10-05 09:01"),
    ("g1", TELEGRAM, "down", "useless, call me on 555 1234", "10-10 12:00"),
    ("b1", WEB, "down", "wrong_topic", "10-12 09:01"),
]
# conversation, when, status now, reason codes, claimed, agent reply
ESCALATIONS = [
    (TELEGRAM, "10-10 12:01", "resolved", ["asked_for_human"], "10-10 12:05", "10-10 12:07"),
    (WEB, "10-12 09:05", "handed_back", ["high_gap"], "10-12 09:30", "10-12 09:40"),
    (WAITING, "10-20 09:00", "open", ["high_gap"], None, None),
]
# turn, is a gap, correct intent, better answer, when
LABELS = [
    ("w2", True, "top_up", "John, you top up in the app under Cards", "10-06 09:00"),
    ("g2", True, None, None, "10-10 12:20"),
    ("b2", False, None, None, "10-12 10:00"),
]
# conversation: status now, and when it was last changed (a resolve, a hand-back)
STATUSES = {
    TELEGRAM: ("resolved", "10-10 12:30"),
    WEB: ("bot", "10-12 09:45"),
    WAITING: ("escalated", "10-20 09:00"),
}


def at(when: str) -> datetime:
    """``"MM-DD HH:MM"`` in 2026, UTC."""
    return datetime.strptime(f"2026-{when}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def fill(store: Store, rephrase: bool = False) -> dict[str, int]:
    """Write the sample (with the rephrase conversation when asked); turn ids by name."""
    uids: dict[str, str] = {}
    for name, conversation, when, text, intent, decision, p, reasons in TURNS + (
        REPHRASED_TURNS if rephrase else []
    ):
        score = None
        if p is not None:
            quoted = [{"code": "unknown_lemma_share", "text": QUOTING, "weight": 0.5}]
            score = {"probability": p, "model_version": "gap-v2",
                     "reasons": quoted if name == "w2" else []}  # fmt: skip
        record = new_record(
            "turn", conversation, channel=CHANNELS.get(conversation, "socketio"),
            created_at=at(when).isoformat(), message_id=f"msg-{name}", customer_text=text,
            intent=intent, confidence=0.7, intent_ranking=[[intent, 0.7]], decision=decision,
            answer_intent=intent if decision == "answer" else None,
            answer_text=f"An answer for you about {intent}.", decision_reasons=reasons,
            gap_score=score,
        )  # fmt: skip
        store.apply(record)
        uids[name] = record["uid"]
    for name, conversation, rating, reason, when in THUMBS:
        store.apply(new_record("feedback", conversation, turn_uid=uids[name], rating=rating,
                               reason=reason, created_at=at(when).isoformat()))  # fmt: skip
    store.apply(new_record("feedback", WHATSAPP, kind="conversation", rating="5",
                           created_at=at("10-05 09:40").isoformat()))  # fmt: skip
    for conversation, when, _, codes, _, _ in ESCALATIONS:
        brief = f"Customer {conversation} wrote: 'help, John here'"
        store.apply(new_record("escalation", conversation, created_at=at(when).isoformat(),
                               reason_codes=codes, brief=brief, gap_probability=0.9))  # fmt: skip
    with store.session() as session:
        ids = {uid: turn_id for uid, turn_id in session.execute(select(Turn.uid, Turn.id))}
        turn_ids = {name: ids[uid] for name, uid in uids.items()}
        for name, is_gap, intent, better, when in LABELS:
            label = Label(turn_id=turn_ids[name], author="ana", is_gap=is_gap,
                          correct_intent=intent, ideal_answer=better)  # fmt: skip
            label.created_at = at(when)
            session.add(label)
        for conversation, _, status, _, claimed, replied in ESCALATIONS:
            session.execute(update(Escalation).where(Escalation.conversation_id == conversation)
                            .values(status=status))  # fmt: skip
            if claimed is None or replied is None:
                continue
            session.add(AuditEvent(actor="ana", action="claim", conversation_id=conversation,
                                   created_at=at(claimed),
                                   detail={"previous_status": "escalated",
                                           "note": "John was upset"}))  # fmt: skip
            session.add(Turn(uid=f"agent-{conversation}", conversation_id=conversation,
                             created_at=at(replied), kind="agent", author="ana",
                             answer_text="Hi John, Ana here.", decision="agent"))  # fmt: skip
        times = session.execute(  # created when its first turn was, as in production
            select(Turn.conversation_id, func.min(Turn.created_at), func.max(Turn.created_at))
            .where(Turn.kind == "bot")
            .group_by(Turn.conversation_id)
        ).all()
        for conversation, first, last in times:
            status, changed = STATUSES.get(conversation, ("bot", None))
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation)
                .values(
                    status=status, created_at=first, updated_at=at(changed) if changed else last
                )
            )
        registry = {"version": "v2", "why": "trained"}
        session.add(AuditEvent(actor="gapdesk", action="promote_model",
                               created_at=at("10-01 08:00"), detail=registry))  # fmt: skip
        session.add(User(username="ana", display_name="Ana", role="agent", password_hash="x"))
        session.flush()
        for when in ("10-01 08:00", "11-30 08:00"):
            session.add(LoginFailure(username="ana", address="203.0.113.7", created_at=at(when)))
            session.add(ConsoleSession(token_hash=f"h-{when}", username="ana", csrf_token="c",
                                       created_at=at(when), expires_at=at(when)))  # fmt: skip
    return turn_ids


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of the sample's tables, read through the models' types (times as UTC
    ISO strings) so that SQLite and PostgreSQL databases compare."""
    tables = ("conversations", "turns", "gap_scores", "escalations", "feedback", "labels",
              "audit_events", "customers", "login_failures", "console_sessions")  # fmt: skip
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for name in tables:
            rows = connection.execute(select(Base.metadata.tables[name])).mappings().all()
            plain = ({key: _plain(value) for key, value in row.items()} for row in rows)
            out[name] = sorted(plain, key=repr)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


# -- Rasa's tracker store --------------------------------------------------------------

OLD_TIME, NEW_TIME = CUTOFF.timestamp() - 86_400 * 3, CUTOFF.timestamp() + 86_400 * 3
IDLE, ACTIVE = TELEGRAM, WHATSAPP

# Rasa 3.6's SQLTrackerStore.SQLEvent, as its table is created
RASA_EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def rasa_user(text: str, when: float) -> dict[str, Any]:
    intent = {"name": "card_arrival", "confidence": 0.9}
    entities = [{"entity": "name", "value": "John Smith", "start": 11, "end": 21}]
    return {
        "event": "user", "timestamp": when, "text": text, "input_channel": "twilio",
        "metadata": {"customData": {"email": "john@example.com"}}, "message_id": "m1",
        "parse_data": {"intent": intent, "entities": entities, "text": text,
                       "intent_ranking": [intent], "metadata": {"phone": "+15550001111"}},
    }  # fmt: skip


def rasa_events(when: float) -> list[dict[str, Any]]:
    return [
        {"event": "action", "timestamp": when, "name": "action_session_start"},
        {"event": "session_started", "timestamp": when},
        rasa_user("my name is John Smith, card 4242", when + 1),
        {"event": "slot", "timestamp": when + 2, "name": "card_last_four", "value": "4242"},
        {
            "event": "bot",
            "timestamp": when + 3,
            "text": "Hello John Smith",
            "metadata": {},
            "data": {"buttons": [{"title": "John's card", "payload": "/x"}]},
        },  # fmt: skip
    ]


def fill_tracker_store(engine: Engine) -> None:
    """Rasa's events table with three conversations: idle since before the cutoff
    (IDLE), still going on (ACTIVE), and waiting for a person (the sample's WAITING)."""
    RASA_EVENTS.create(engine)
    rows = (
        [(IDLE, e) for e in rasa_events(OLD_TIME)]
        + [(ACTIVE, e) for e in rasa_events(OLD_TIME)]
        + [(ACTIVE, rasa_user("freeze my card", NEW_TIME))]
        + [(WAITING, e) for e in rasa_events(OLD_TIME)]
        + [(WAITING, {"event": "pause", "timestamp": OLD_TIME + 9})]
    )
    with engine.begin() as connection:
        connection.execute(
            RASA_EVENTS.insert(),
            [
                {"sender_id": sender, "type_name": e["event"], "timestamp": e["timestamp"],
                 "data": json.dumps(e)}
                for sender, e in rows
            ],
        )  # fmt: skip


@pytest.fixture
def sample(database_url: str) -> Iterator[Store]:
    """The sample in a fresh database (SQLite, and PostgreSQL when it runs)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    store = Store(engine)
    fill(store)
    yield store
    engine.dispose()
