"""Retention (gapdesk.storage.retention): what older rows lose and keep, pseudonyms, and
a run that is safe from cron (dry run, idempotent, batches, failures, one at a time).

Every test with ``sample`` runs on SQLite and on PostgreSQL (when it runs locally);
the sample is described in this folder's conftest.py.
"""

from __future__ import annotations

import hashlib
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from gapdesk.errors import StorageError
from gapdesk.storage import pseudonyms, retention
from gapdesk.storage.models import (
    AuditEvent,
    ConsoleSession,
    Conversation,
    Escalation,
    Feedback,
    GapScoreRow,
    Label,
    LoginFailure,
    Turn,
)
from gapdesk.storage.retention import PruneBusyError, prune, pseudonymiser
from gapdesk.storage.store import Store
from tests.gapdesk.storage.conftest import (
    CUTOFF,
    DAYS,
    NEW,
    NOW,
    TELEGRAM,
    WAITING,
    WEB,
    WHATSAPP,
    dump,
    fill,
)

ORIGINAL_IDS = {WHATSAPP, TELEGRAM, WEB}  # old rows of these must lose the id


def _prune(store: Store, var: Path, **options: object) -> retention.PruneResult:
    return prune(store, var, DAYS, now=NOW, **options)  # type: ignore[arg-type]


def _turns(store: Store) -> dict[str, Turn]:
    with store.session() as session:
        return {t.uid: t for t in session.scalars(select(Turn))}


def test_old_texts_are_removed_and_what_reports_count_is_kept(
    sample: Store, tmp_path: Path
) -> None:
    before = {t.message_id or t.uid: t for t in _turns(sample).values()}
    _prune(sample, tmp_path)
    with sample.session() as session:
        turns = list(session.scalars(select(Turn)))
        old = [t for t in turns if t.created_at.replace(tzinfo=None) < CUTOFF.replace(tzinfo=None)]
        new = [t for t in turns if t not in old]
        assert len(old) == 9 and len(new) == 2
        for turn in old:
            assert (turn.customer_text, turn.answer_text, turn.message_id) == (None, None, None)
        for turn in new:
            assert turn.customer_text and turn.answer_text and turn.message_id
        # what reports count stays: intent, ranking, decision and reasons, author, time
        kept = {(t.intent, t.decision, tuple(t.decision_reasons), t.kind, t.author) for t in old}
        assert kept == {
            (b.intent, b.decision, tuple(b.decision_reasons), b.kind, b.author)
            for b in before.values()
            if b.created_at.replace(tzinfo=None) < CUTOFF.replace(tzinfo=None)
        }
        assert {t.rephrased_next for t in old if t.kind == "bot"} == {False}
        assert {t.rephrased_next for t in old if t.kind == "agent"} == {None}
        scores = {s.turn_id: s for s in session.scalars(select(GapScoreRow))}
        quoted = [s for s in scores.values() if s.reasons]
        assert [r["text"] for s in quoted for r in s.reasons] == [
            "the question mentions '…'; no answer covers it"
        ]
        assert quoted[0].reasons[0]["code"] == "unknown_lemma_share"
        assert quoted[0].probability == pytest.approx(0.6)
        briefs = dict(session.execute(select(Escalation.conversation_id, Escalation.brief)).all())
        assert set(briefs.values()) == {""}  # every escalation is older than the cutoff
        statuses = sorted(session.scalars(select(Escalation.status)))
        assert statuses == ["handed_back", "open", "resolved"]
        labels = session.execute(select(Label.is_gap, Label.correct_intent, Label.ideal_answer))
        assert sorted(labels.all(), key=repr) == sorted(
            [(True, "top_up", None), (True, None, None), (False, None, None)], key=repr
        )
        feedback = session.execute(select(Feedback.rating, Feedback.reason)).all()
        assert sorted(feedback, key=repr) == sorted(
            [("up", None), ("down", None), ("down", "wrong_topic"), ("5", None)], key=repr
        )
        claims = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "claim"))
        assert list(claims) == [{"previous_status": "escalated"}] * 2
        registry = session.scalar(select(AuditEvent).where(AuditEvent.action == "promote_model"))
        assert registry is not None and registry.detail == {"version": "v2", "why": "trained"}
        assert [f.created_at.day for f in session.scalars(select(LoginFailure))] == [30]
        assert [s.token_hash for s in session.scalars(select(ConsoleSession))] == ["h-11-30 08:00"]


def test_old_rows_move_to_a_keyed_pseudonym_of_the_customer_id(
    sample: Store, tmp_path: Path
) -> None:
    _prune(sample, tmp_path)
    pseudonym = pseudonymiser(tmp_path / retention.KEY_FILE)
    with sample.session() as session:
        conversations = {c.id: c for c in session.scalars(select(Conversation))}
        # still writing: keeps the id on the newer turn; waiting for a person: keeps it all
        assert set(conversations) == {
            WHATSAPP, WAITING, NEW, pseudonym(WHATSAPP), pseudonym(TELEGRAM), pseudonym(WEB)
        }  # fmt: skip
        assert conversations[pseudonym(TELEGRAM)].channel == "telegram"
        assert conversations[pseudonym(TELEGRAM)].status == "resolved"
        assert conversations[pseudonym(WHATSAPP)].channel == "twilio"
        by_conversation: dict[str, int] = {}
        for turn in session.scalars(select(Turn)):
            by_conversation[turn.conversation_id] = by_conversation.get(turn.conversation_id, 0) + 1
        assert by_conversation == {
            pseudonym(WHATSAPP): 2, WHATSAPP: 1, pseudonym(TELEGRAM): 3, pseudonym(WEB): 3,
            WAITING: 1, NEW: 1,
        }  # fmt: skip
        everywhere = [
            *session.scalars(select(Escalation.conversation_id)),
            *session.scalars(select(Feedback.conversation_id)),
            *session.scalars(select(AuditEvent.conversation_id)),
        ]
        assert not ORIGINAL_IDS & set(everywhere)
        rated = session.scalar(
            select(Feedback.conversation_id).where(Feedback.kind == "conversation")
        )
        assert rated == pseudonym(WHATSAPP)
    # a keyed hash: not the id, not its plain hash, and another key gives another one
    assert pseudonym(WHATSAPP).startswith("anon-") and "1555" not in pseudonym(WHATSAPP)
    assert hashlib.sha256(WHATSAPP.encode()).hexdigest()[:32] not in pseudonym(WHATSAPP)
    assert pseudonymiser(tmp_path / "another_key")(WHATSAPP) != pseudonym(WHATSAPP)
    mode = (tmp_path / retention.KEY_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_the_same_customer_keeps_one_pseudonym_over_later_runs(
    sample: Store, tmp_path: Path
) -> None:
    _prune(sample, tmp_path)
    later = NOW.replace(month=12, day=31)  # w3 (11-25) is now older than the retention too
    prune(sample, tmp_path, DAYS, now=later)
    pseudonym = pseudonymiser(tmp_path / retention.KEY_FILE)
    with sample.session() as session:
        ids = set(session.scalars(select(Conversation.id)))
        assert WHATSAPP not in ids and NEW not in ids  # renamed: nothing newer is left
        turns = session.scalars(select(Turn.conversation_id).where(Turn.intent != "loan"))
        assert sorted(set(turns)) == sorted({pseudonym(c) for c in (WHATSAPP, TELEGRAM, WEB, NEW)})
        assert (
            session.scalar(
                select(text("count(*)"))
                .select_from(Turn)
                .where(Turn.conversation_id == pseudonym(WHATSAPP))
            )
            == 3
        )


def test_a_conversation_waiting_for_a_person_keeps_its_id_until_it_is_resolved(
    sample: Store, tmp_path: Path
) -> None:
    _prune(sample, tmp_path)
    with sample.session() as session:
        [turn] = session.scalars(select(Turn).where(Turn.conversation_id == WAITING))
        assert turn.customer_text is None  # its text goes all the same
        session.execute(
            text("UPDATE conversations SET status = 'resolved' WHERE id = :id"), {"id": WAITING}
        )
    _prune(sample, tmp_path)
    with sample.session() as session:
        assert session.get(Conversation, WAITING) is None


def test_the_dry_run_counts_what_the_run_changes_and_changes_nothing(
    sample: Store, tmp_path: Path
) -> None:
    untouched = dump(sample.engine)
    dry = _prune(sample, tmp_path, dry_run=True)
    assert dump(sample.engine) == untouched
    assert not (tmp_path / retention.KEY_FILE).exists()  # no key, no lock file either
    assert not (tmp_path / retention.LOCK_FILE).exists()
    done = _prune(sample, tmp_path)
    assert dry.summary() == done.summary()
    assert done.summary() == {
        "conversations": {"ids pseudonymised": 3},
        "turns": {"texts removed": 9, "ids pseudonymised": 8},
        "gap_scores": {"texts removed": 1},
        "escalations": {"texts removed": 3, "ids pseudonymised": 2},
        "feedback": {"texts removed": 1, "ids pseudonymised": 4},
        "labels": {"texts removed": 1},
        "audit_events": {"texts removed": 2, "ids pseudonymised": 2},
        "customers": {"deleted": 3},
        "login_failures": {"deleted": 1},
        "console_sessions": {"deleted": 1},
    }


def test_a_second_run_changes_nothing(sample: Store, tmp_path: Path) -> None:
    _prune(sample, tmp_path)
    after_first = dump(sample.engine)
    second = _prune(sample, tmp_path)
    assert second.total() == 0
    assert dump(sample.engine) == after_first


def test_small_batches_give_the_same_database_as_one_batch(tmp_path: Path) -> None:
    from gapdesk.storage.migrate import upgrade
    from gapdesk.storage.store import make_engine

    results = []
    for name, batch_size in (("one", 10_000), ("small", 1)):
        url = f"sqlite:///{tmp_path / name}.db"
        upgrade(url)
        store = Store(make_engine(url))
        fill(store)
        (tmp_path / name).mkdir()
        (tmp_path / name / retention.KEY_FILE).write_text("k" * 64)  # the same pseudonyms
        _prune(store, tmp_path / name, batch_size=batch_size)
        results.append(_without_ids(dump(store.engine)))
        store.engine.dispose()
    assert results[0] == results[1]


def _without_ids(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The rows without what differs between two fillings of the sample (row ids,
    random uids, foreign keys to row ids) and without the audit log's record of runs."""
    random = {"id", "uid", "turn_id"}
    return {
        name: sorted(
            (
                {k: v for k, v in row.items() if k not in random}
                for row in rows
                if row.get("action") != "prune"
            ),
            key=repr,
        )
        for name, rows in tables.items()
    }


def test_a_failure_midway_leaves_whole_batches_and_a_second_run_finishes(
    sample: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pseudonyms._move
    calls: list[str] = []

    def failing(session, batch, ids, pseudonym):  # type: ignore[no-untyped-def]
        calls.extend(ids)
        real(session, batch, ids, pseudonym)
        if WEB in ids:  # its rows moved, then the database fails: no commit
            session.execute(text("SELECT * FROM no_such_table"))

    monkeypatch.setattr(pseudonyms, "_move", failing)
    with pytest.raises(
        StorageError, match="prune stopped in gapdesk's database: .*run it again"
    ) as stopped:
        _prune(sample, tmp_path, batch_size=10)  # one customer id per transaction
    done = set(calls[: calls.index(WEB)]) - {WAITING}
    # what it says it did counts the committed batches only
    assert f"'conversations': {{'ids pseudonymised': {len(done)}}}" in str(stopped.value)
    with sample.session() as session:
        for model in (Turn, Escalation, Feedback, AuditEvent):
            ids = set(session.scalars(select(model.conversation_id)))
            assert WEB in ids, model  # the failed batch is rolled back whole
            assert not done & ids, model  # the batches before it are complete
        web_turns = session.scalars(select(Turn).where(Turn.conversation_id == WEB))
        assert all(t.customer_text is None for t in web_turns)  # texts: an earlier step
    monkeypatch.setattr(pseudonyms, "_move", real)
    _prune(sample, tmp_path)
    # now the same database as one run without a failure (same key, same pseudonyms)
    from gapdesk.storage.migrate import upgrade
    from gapdesk.storage.store import make_engine

    url = f"sqlite:///{tmp_path / 'reference.db'}"
    upgrade(url)
    reference = Store(make_engine(url))
    fill(reference)
    (tmp_path / "reference").mkdir()
    key = (tmp_path / retention.KEY_FILE).read_bytes()
    (tmp_path / "reference" / retention.KEY_FILE).write_bytes(key)
    _prune(reference, tmp_path / "reference")
    assert _without_ids(dump(sample.engine)) == _without_ids(dump(reference.engine))
    reference.engine.dispose()


def test_a_run_while_another_runs_is_refused_and_changes_nothing(
    sample: Store, tmp_path: Path
) -> None:
    started, refused = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def slow_progress(step: str) -> None:
        started.set()
        refused.wait(timeout=30)

    def first() -> None:
        try:
            _prune(sample, tmp_path, progress=slow_progress)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(timeout=30)
    try:
        with pytest.raises(PruneBusyError, match=r"another gapdesk db prune is running \(pid "):
            _prune(sample, tmp_path)
    finally:
        refused.set()
        thread.join(timeout=60)
    assert errors == []
    assert _prune(sample, tmp_path).total() == 0  # the first run did everything


def test_on_postgresql_a_run_from_another_host_is_refused(
    postgres_url: str, tmp_path: Path
) -> None:
    from gapdesk.storage.migrate import upgrade
    from gapdesk.storage.store import make_engine

    upgrade(postgres_url)
    store = Store(make_engine(postgres_url))
    fill(store)
    other_host = create_engine(postgres_url)
    with other_host.connect() as connection:  # another host's run holds the advisory lock
        connection.execute(
            text("SELECT pg_advisory_lock(:key)"), {"key": retention.ADVISORY_LOCK_KEY}
        )
        with pytest.raises(PruneBusyError, match="another host"):
            _prune(store, tmp_path)  # its own lock file is free: another var/
        assert _prune(store, tmp_path, dry_run=True).total() > 0  # nothing was changed
    other_host.dispose()
    assert _prune(store, tmp_path).total() > 0  # free again once the other run ends
    store.engine.dispose()


def test_retention_must_be_at_least_a_day(sample: Store, tmp_path: Path) -> None:
    from gapmodel.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="at least 1 day"):
        prune(sample, tmp_path, 0, now=NOW)
