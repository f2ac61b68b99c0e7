"""The recorder never loses a record: a database outage spools, recovery replays."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gapdesk.storage.migrate import upgrade
from gapdesk.storage.recorder import Recorder, new_record
from gapdesk.storage.store import Store, make_engine
from tests.conftest import POSTGRES_ADMIN_URL


def _turn(conversation_id: str, n: int) -> dict:
    return new_record("turn", conversation_id, customer_text=f"message {n}", decision="answer")


def test_records_reach_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    recorder = Recorder(Store(make_engine(url)), tmp_path / "spool.jsonl")
    for n in range(3):
        recorder.record(_turn("c", n))
    assert recorder.flush()
    recorder.close()
    turns = Store(make_engine(url)).conversation("c")["turns"]
    assert [t["customer_text"] for t in turns] == ["message 0", "message 1", "message 2"]
    assert not (tmp_path / "spool.jsonl").exists()


def test_outage_spools_and_recovery_replays_in_order(tmp_path: Path, postgres_url: str) -> None:
    """PostgreSQL database missing (as in an outage), then restored: nothing is lost."""
    missing_db_url = postgres_url + "_outage"
    recorder = Recorder(Store(make_engine(missing_db_url)), tmp_path / "spool.jsonl")
    for n in range(3):
        recorder.record(_turn("c", n))  # never raises, never blocks
    assert recorder.flush()
    assert recorder.spooled() == 3

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    database = missing_db_url.rsplit("/", 1)[1]
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        upgrade(missing_db_url)
        recorder.record(_turn("c", 3))
        assert recorder.flush()
        recorder.close()
        assert recorder.spooled() == 0
        turns = Store(make_engine(missing_db_url)).conversation("c")["turns"]
        assert [t["customer_text"] for t in turns] == [f"message {n}" for n in range(4)]
    finally:
        recorder.close()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def test_a_half_written_replay_writes_nothing_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    store = Store(make_engine(url))
    record = _turn("c", 0)
    store.apply(record)  # written, but also still in the spool (crash before removal)
    spool = tmp_path / "spool.jsonl"
    import json

    spool.write_text(json.dumps(record) + "\n", encoding="utf-8")
    recorder = Recorder(store, spool)
    assert recorder.flush()
    recorder.close()
    assert len(store.conversation("c")["turns"]) == 1
    assert not spool.exists()


class FlakySink:
    """A sink whose database is down until ``up`` is set; 'bad' records always fail."""

    def __init__(self) -> None:
        self.up = False
        self.written: list[str] = []

    def apply(self, record: dict) -> None:
        from gapdesk.errors import TransientStorageError

        if record.get("customer_text") == "bad":
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        if not self.up:
            raise TransientStorageError("database unavailable")
        self.written.append(record["customer_text"])


def test_a_record_that_can_never_be_written_does_not_block_the_others(tmp_path: Path) -> None:
    sink = FlakySink()
    sink.up = True
    recorder = Recorder(sink, tmp_path / "spool.jsonl")
    for said in ("before", "bad", "after"):
        recorder.record(new_record("turn", "c", customer_text=said))
    assert recorder.flush()
    recorder.close()
    assert sink.written == ["before", "after"]
    assert recorder.spooled() == 0
    assert '"bad"' in (tmp_path / "spool.dead.jsonl").read_text()


def test_bad_records_in_the_spool_are_set_aside_when_it_is_replayed(tmp_path: Path) -> None:
    sink = FlakySink()
    recorder = Recorder(sink, tmp_path / "spool.jsonl", retry_seconds=60)
    for said in ("one", "bad", "two"):
        recorder.record(new_record("turn", "c", customer_text=said))
    assert recorder.flush()
    assert recorder.spooled() == 3  # database down: all kept, in order
    with (tmp_path / "spool.jsonl").open("a") as spool:
        spool.write("{truncated json\n")
    sink.up = True
    recorder.record(new_record("turn", "c", customer_text="three"))
    assert recorder.flush()
    recorder.close()
    assert sink.written == ["one", "two", "three"]
    dead = (tmp_path / "spool.dead.jsonl").read_text()
    assert '"bad"' in dead and "{truncated json" in dead


def test_close_writes_what_is_still_queued(tmp_path: Path) -> None:
    sink = FlakySink()
    sink.up = True
    recorder = Recorder(sink, tmp_path / "spool.jsonl")
    for n in range(50):
        recorder.record(new_record("turn", "c", customer_text=str(n)))
    recorder.close()
    assert sink.written == [str(n) for n in range(50)]


def test_a_spool_that_cannot_be_written_keeps_records_and_the_writer_alive(
    tmp_path: Path,
) -> None:
    sink = FlakySink()
    blocker = tmp_path / "var"
    blocker.write_text("a file where the spool directory should be")
    recorder = Recorder(sink, blocker / "spool" / "records.jsonl", retry_seconds=60)
    recorder.record(new_record("turn", "c", customer_text="during the outage"))
    assert recorder.flush()
    sink.up = True
    recorder.record(new_record("turn", "c", customer_text="after"))
    assert recorder.flush(), "the writer thread must still be running"
    recorder.close()
    assert sink.written == ["during the outage", "after"]


def test_records_still_held_at_shutdown_are_written_to_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("a file where the spool directory should be")
    recorder = Recorder(FlakySink(), blocker / "spool" / "records.jsonl", retry_seconds=60)
    recorder.record(new_record("turn", "c", customer_text="kept only in the log"))
    recorder.close()
    assert '"customer_text": "kept only in the log"' in caplog.text
