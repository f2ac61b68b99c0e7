"""Writing records without ever holding up or breaking a reply.

The action server hands each record to :meth:`Recorder.record`, which only appends it
to an in-memory queue. A background thread writes records to the database; a record
that cannot be written (database down, disk full, bad URL) is appended to a spool
file (JSON lines) and logged, and the spool is replayed, oldest first, before newer
records as soon as the database answers again. Writes are idempotent (each record
has a ``uid``), so a replay after a half-finished attempt writes nothing twice.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

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
        self.retry_seconds = retry_seconds
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="gapdesk-recorder", daemon=True)
        self._thread.start()

    def record(self, record: dict[str, Any]) -> None:
        """Queue a record for writing; never raises, never blocks on the database."""
        self._queue.put(record)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until queued records were handled (written or spooled)."""
        done = threading.Event()
        self._queue.put({"type": "_flush", "event": done})
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def spooled(self) -> int:
        """How many records wait in the spool for the database to come back."""
        with self._lock:
            if not self.spool_path.is_file():
                return 0
            return sum(1 for line in self.spool_path.read_text("utf-8").splitlines() if line)

    def replay_spool(self) -> int:
        """Write spooled records; keep those that still fail. Returns how many were written."""
        with self._lock:
            if not self.spool_path.is_file():
                return 0
            lines = [ln for ln in self.spool_path.read_text("utf-8").splitlines() if ln]
            written, remaining = 0, []
            for index, line in enumerate(lines):
                try:
                    self.sink.apply(json.loads(line))
                    written += 1
                except Exception:  # noqa: BLE001 - still down: keep the rest in order
                    remaining = lines[index:]
                    break
            if remaining:
                self.spool_path.write_text("\n".join(remaining) + "\n", "utf-8")
            else:
                self.spool_path.unlink()
            if written:
                logger.info("replayed %d spooled record(s); %d remain", written, len(remaining))
            return written

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.retry_seconds)
            except queue.Empty:
                self._replay_quietly()
                continue
            if item is None:
                self._replay_quietly()
                return
            if item.get("type") == "_flush":
                self._replay_quietly()
                item["event"].set()
                continue
            self._replay_quietly()
            self._write(item)

    def _replay_quietly(self) -> None:
        try:
            self.replay_spool()
        except Exception:  # noqa: BLE001 - the writer thread must survive anything
            logger.exception("could not replay the spool %s", self.spool_path)

    def _write(self, record: dict[str, Any]) -> None:
        if self.spooled():  # keep order: older spooled records go first
            self._spool(record, "older records are still waiting in the spool")
            return
        try:
            self.sink.apply(record)
        except Exception as exc:  # noqa: BLE001 - any failure: keep the record, log it
            self._spool(record, f"{exc.__class__.__name__}: {exc}")

    def _spool(self, record: dict[str, Any], why: str) -> None:
        with self._lock:
            self.spool_path.parent.mkdir(parents=True, exist_ok=True)
            with self.spool_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        logger.warning(
            "could not store %s record for conversation %s (%s); kept in %s for retry",
            record.get("type"),
            record.get("conversation_id"),
            why,
            self.spool_path,
        )
