"""Writing records without ever holding up or breaking a reply.

The action server hands each record to :meth:`Recorder.record`, which only appends it
to an in-memory queue. A background thread writes records to the database:

* the database is unreachable (:class:`TransientStorageError`): the record is appended
  to a spool file (JSON lines) and logged; the spool is replayed, oldest first and
  before newer records, as soon as the database answers again;
* the record itself can never be written (bad data): it goes to a dead-letter file
  beside the spool and is logged as an error, so it cannot block the records after it;
* not even the spool can be written (a full or read-only disk): the record is kept in
  memory, logged as an error, and tried again with each later record and retry tick.

Writes are idempotent (each record has a ``uid``), so a replay after a half-finished
attempt writes nothing twice. Spool files are locked (``fcntl``) and rewritten
atomically, so action-server processes sharing ``var/`` do not lose each other's lines.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from gapdesk.errors import TransientStorageError

logger = logging.getLogger(__name__)


class RecordSink(Protocol):
    def apply(self, record: dict[str, Any]) -> None: ...


def new_record(record_type: str, conversation_id: str, **fields: Any) -> dict[str, Any]:
    """A record with its idempotency key and timestamp."""
    return {
        "type": record_type,
        "uid": str(uuid.uuid4()),
        "conversation_id": conversation_id,
        "created_at": datetime.now(UTC).isoformat(),
        **fields,
    }


class Recorder:
    """Queue + writer thread + spool file. Call :meth:`close` to drain on shutdown."""

    def __init__(self, sink: RecordSink, spool_path: Path, retry_seconds: float = 5.0) -> None:
        self.sink = sink
        self.spool_path = Path(spool_path)
        self.dead_letter_path = self.spool_path.with_suffix(".dead.jsonl")
        self.retry_seconds = retry_seconds
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._held: list[dict[str, Any]] = []  # neither stored nor spooled yet
        self._thread = threading.Thread(target=self._run, name="gapdesk-recorder", daemon=True)
        self._thread.start()

    def record(self, record: dict[str, Any]) -> None:
        """Queue a record for writing; never raises, never blocks on the database."""
        self._queue.put(record)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until queued records were handled (written, spooled, set aside or held)."""
        done = threading.Event()
        self._queue.put({"type": "_flush", "event": done})
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Handle what is queued, then stop the writer thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)
        for record in self._held:  # the last place left: the log, one JSON line each
            line = json.dumps(record, ensure_ascii=False, default=str)
            logger.error("record neither stored nor spooled, in full: %s", line)

    def spooled(self) -> int:
        """How many records wait in the spool for the database to come back."""
        with self._locked():
            return len(self._spool_lines())

    def replay_spool(self) -> int:
        """Write spooled records in order; stop at the first transient failure."""
        if not self.spool_path.exists():  # the usual case: no lock, no read per record
            return 0
        with self._locked():
            pending = self._spool_lines()
            written = 0
            while pending:
                line = pending[0]
                try:
                    self.sink.apply(json.loads(line))
                    written += 1
                except TransientStorageError:
                    break  # still down: keep this one and the rest, in order
                except Exception as exc:  # this record can never be written
                    self._dead_letter_line(line, f"{exc.__class__.__name__}: {exc}")
                pending.pop(0)
            self._rewrite_spool(pending)
        if written:
            logger.info("replayed %d spooled record(s); %d remain", written, len(pending))
        return written

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.retry_seconds)
            except queue.Empty:
                self._replay_quietly()
                self._retry_held()
                continue
            self._replay_quietly()
            self._retry_held()
            if item is None:
                return
            if item.get("type") == "_flush":
                item["event"].set()
                continue
            self._write_or_hold(item)

    def _write_or_hold(self, record: dict[str, Any], retry: bool = False) -> None:
        try:
            self._write(record)
        except Exception:  # the writer thread must survive anything
            if not retry:  # a held record was logged when it was first held
                logger.exception(
                    "could neither store nor spool %s record for conversation %s; held in memory",
                    record.get("type"),
                    record.get("conversation_id"),
                )
            self._held.append(record)

    def _retry_held(self) -> None:
        held, self._held = self._held, []
        for record in held:
            self._write_or_hold(record, retry=True)
        if self._held:
            logger.warning("%d record(s) still held in memory, not stored", len(self._held))

    def _replay_quietly(self) -> None:
        try:
            self.replay_spool()
        except Exception:  # the writer thread must survive anything
            logger.exception("could not replay the spool %s", self.spool_path)

    def _write(self, record: dict[str, Any]) -> None:
        if self.spool_path.exists() and self.spooled():  # older spooled records go first
            self._spool(record, "older records are still waiting in the spool")
            return
        try:
            self.sink.apply(record)
        except TransientStorageError as exc:
            self._spool(record, str(exc))
        except Exception as exc:  # bad data: set it aside, keep recording
            line = json.dumps(record, ensure_ascii=False, default=str)
            with self._locked():
                self._dead_letter_line(line, f"{exc.__class__.__name__}: {exc}")

    # -- files ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock shared by every process and thread using this spool."""
        self.spool_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.spool_path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _spool_lines(self) -> list[str]:
        if not self.spool_path.is_file():
            return []
        return [line for line in self.spool_path.read_text("utf-8").splitlines() if line]

    def _rewrite_spool(self, lines: list[str]) -> None:
        if not lines:
            self.spool_path.unlink(missing_ok=True)
            return
        temporary = self.spool_path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text("\n".join(lines) + "\n", "utf-8")
        os.replace(temporary, self.spool_path)

    def _spool(self, record: dict[str, Any], why: str) -> None:
        with self._locked(), self.spool_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        logger.warning(
            "could not store %s record for conversation %s (%s); kept in %s for retry",
            record.get("type"),
            record.get("conversation_id"),
            why,
            self.spool_path,
        )

    def _dead_letter_line(self, line: str, why: str) -> None:
        with self.dead_letter_path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        logger.error("record can never be stored (%s); set aside in %s", why, self.dead_letter_path)
