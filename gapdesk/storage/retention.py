"""Retention: what is older than ``GAPDESK_RETENTION_DAYS`` loses what identifies people,
and keeps what reports count (``gapdesk db prune``).

Rows are anonymised, not deleted, so that a report over an old period gives the same
figures after pruning as before (docs/security.md#retention lists every column):

* texts go: customers' messages, the bot's and agents' replies, escalation briefs,
  better answers in labels, free-text feedback reasons, the customer's words quoted in
  gap-score reasons; Rasa's message id (the link to the raw transcript) too. Before a
  bot turn's text goes, the one fact reports read from texts is kept: whether the
  customer's next message asked it again (``turns.rephrased_next``);
* customer ids (Rasa's sender ids: phone numbers, chat ids, ``whatsapp:+1...``) become
  a keyed pseudonym, ``anon-`` and 32 hex digits of HMAC-SHA256 under a key kept in
  ``var/retention_key`` (0600), never in the database: the same customer always gets
  the same pseudonym, so counts per customer survive, and nobody holding only the
  database can read the id back or test a guess. Rows older than the cutoff move to
  the pseudonym; a customer still writing keeps their id on the newer rows (so a
  report over a period that spans the cutoff counts them twice). A conversation
  waiting for a person keeps its id until it is resolved or handed back;
* intents, rankings, decisions and their reasons, scores, ratings, labels' verdicts and
  intents, escalation reasons and statuses, channels, authors and times are kept;
* failed sign-ins and expired console sign-ins older than the cutoff are deleted, and
  so are customers' trust rows (``customers``) not updated since the cutoff;
* in Rasa's tracker store, idle conversations are deleted and the older events of
  those still going on emptied in place (:mod:`gapdesk.storage.trackers`).

The steps are in :mod:`gapdesk.storage.anonymise` (texts, deletions) and
:mod:`gapdesk.storage.pseudonyms` (customer ids); this module runs them.

Safe from cron: the work is done in small batches, each in its own transaction, so a
failure leaves every batch whole and a second run finishes the job; a run that finds
nothing to do changes nothing. One run at a time: a lock file under ``var/`` and, on
PostgreSQL, an advisory lock that also holds between hosts sharing the database.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from gapdesk.errors import StorageError
from gapdesk.locks import run_lock
from gapdesk.storage import anonymise, pseudonyms, trackers
from gapdesk.storage.models import AuditEvent
from gapdesk.storage.store import Store
from gapmodel.errors import ConfigurationError, GapdeskError

logger = logging.getLogger(__name__)

LOCK_FILE = "prune.lock"
KEY_FILE = "retention_key"
PSEUDONYM_PREFIX = anonymise.PSEUDONYM_PREFIX
BATCH_SIZE = 500
ACTOR = "gapdesk db prune"
# pg_advisory_lock's key: "gapdesk" in ASCII, the same for every host on the database.
ADVISORY_LOCK_KEY = int.from_bytes(b"gapdesk", "big")

# What a run does to each table, in the order it is reported.
TEXTS, IDS, DELETED = anonymise.TEXTS, anonymise.IDS, anonymise.DELETED
KINDS = (TEXTS, IDS, DELETED)
TABLES = (
    "conversations", "turns", "gap_scores", "escalations", "feedback", "labels",
    "audit_events", "customers", "login_failures", "console_sessions", trackers.TABLE,
)  # fmt: skip


class PruneBusyError(GapdeskError):
    """Another ``gapdesk db prune`` is running on this database."""


@dataclass
class PruneResult:
    """What a run changed (or, dry, would change), counted per table and kind."""

    days: int
    cutoff: datetime
    dry_run: bool
    changes: dict[str, Counter[str]] = field(
        default_factory=lambda: {table: Counter() for table in TABLES}
    )
    notes: list[str] = field(default_factory=list)

    def count(self, table: str, kind: str, n: int) -> None:
        self.changes[table][kind] += n

    def total(self) -> int:
        return sum(sum(counts.values()) for counts in self.changes.values())

    def summary(self) -> dict[str, dict[str, int]]:
        """The non-zero counts, JSON-ready (the audit log's record of a run)."""
        return {
            table: {kind: counts[kind] for kind in KINDS if counts[kind]}
            for table, counts in self.changes.items()
            if sum(counts.values())
        }


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    """The moment before which rows are pruned: ``days`` whole days before ``now``."""
    if days < 1:
        raise ConfigurationError("retention must be at least 1 day (0 keeps everything)")
    return (now or datetime.now(UTC)).astimezone(UTC) - timedelta(days=days)


def prune(
    store: Store,
    var_dir: Path,
    days: int,
    *,
    tracker_engine: Engine | None = None,
    tracker_url: str = "",
    dry_run: bool = False,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str], None] | None = None,
) -> PruneResult:
    """Anonymise and delete what is older than ``days`` days (see the module docstring).

    ``tracker_engine``: Rasa's tracker store (None: left alone); ``tracker_url`` only
    names it in messages. ``dry_run`` counts what a run would change and changes nothing
    (no lock, no key file). A failure raises :class:`StorageError` saying what was
    done; every batch before it is complete, and running again finishes the job.
    """
    result = PruneResult(days, cutoff_for(days, now), dry_run)
    if dry_run:
        _run(store, result, lambda conversation_id: "", tracker_engine, tracker_url, batch_size,
             progress)  # fmt: skip
        return result
    with prune_lock(Path(var_dir) / LOCK_FILE), database_lock(store.engine):
        pseudonym = pseudonymiser(Path(var_dir) / KEY_FILE)
        try:
            _run(store, result, pseudonym, tracker_engine, tracker_url, batch_size, progress)
        except GapdeskError as exc:
            _audit(store, result, stopped=str(exc))
            raise
        _audit(store, result)
    return result


def _audit(store: Store, result: PruneResult, stopped: str | None = None) -> None:
    """A run that changed something, in the audit log (``prune``) with its counts; after
    a failure only if the database still takes it (the failure is what to report)."""
    if not result.total():
        return
    detail: dict[str, object] = {
        "days": result.days,
        "cutoff": result.cutoff.isoformat(),
        "changes": result.summary(),
    }
    if stopped:
        detail["stopped"] = stopped[:2000]
    try:
        with store.session() as session:
            session.add(AuditEvent(actor=ACTOR, action="prune", detail=detail))
    except GapdeskError:
        if stopped is None:
            raise
        logger.warning("could not record the stopped prune in the audit log", exc_info=True)


def _run(
    store: Store,
    result: PruneResult,
    pseudonym: Callable[[str], str],
    tracker_engine: Engine | None,
    tracker_url: str,
    batch_size: int,
    progress: Callable[[str], None] | None,
) -> None:
    step = "gapdesk's database"
    steps: list[tuple[str, Callable[[], None]]] = [
        ("turns", lambda: anonymise.remove_turn_texts(store, result, batch_size)),
        ("escalations", lambda: anonymise.remove_briefs(store, result, batch_size)),
        ("labels", lambda: anonymise.remove_better_answers(store, result, batch_size)),
        ("feedback", lambda: anonymise.remove_free_text_reasons(store, result, batch_size)),
        ("audit_events", lambda: anonymise.trim_audit_details(store, result, batch_size)),
        # ids after texts: a turn's rephrase fact is judged within its whole conversation
        ("conversations", lambda: pseudonyms.pseudonymise(store, result, pseudonym, batch_size)),
        ("sign-ins", lambda: anonymise.delete_old_sign_ins(store, result, batch_size)),
        ("customers", lambda: anonymise.delete_idle_customers(store, result, batch_size)),
    ]
    try:
        for name, run_step in steps:
            if progress:
                progress(name)
            run_step()
        step = f"Rasa's tracker store {tracker_url}".rstrip()
        if tracker_engine is not None:
            keep = anonymise.waiting_conversations(store)
            deleted, emptied, note = trackers.prune_events(
                tracker_engine, result.cutoff, keep, result.dry_run, batch_size
            )
            result.count(trackers.TABLE, DELETED, deleted)
            result.count(trackers.TABLE, TEXTS, emptied)
            if note:
                result.notes.append(f"Rasa's tracker store ({tracker_url}): {note}")
    except GapdeskError as exc:
        done = result.summary() or "nothing"
        raise StorageError(
            f"prune stopped in {step}: {exc}. What it changed before is complete and "
            f"consistent ({done}); run it again to finish"
        ) from exc


# -- pseudonyms ---------------------------------------------------------------------------


def pseudonymiser(key_path: Path) -> Callable[[str], str]:
    """The keyed pseudonym of a customer id: ``anon-`` and 32 hex digits of HMAC-SHA256
    under the key in ``key_path`` (made once, 0600, when missing)."""
    key = _key(key_path)

    def pseudonym(conversation_id: str) -> str:
        digest = hmac.new(key, conversation_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:32]

    return pseudonym


def _key(path: Path) -> bytes:
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)  # never replaces a key another process just made
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise ConfigurationError(
            f"{path} holds no usable retention key (at least 32 characters); restore it "
            "from a backup, or delete it to start new pseudonyms"
        )
    return key.encode("utf-8")


# -- one run at a time --------------------------------------------------------------------


def prune_lock(path: Path) -> AbstractContextManager[None]:
    """Hold the prune lock file (released when the process ends, even if killed)."""

    def busy(holder: str) -> PruneBusyError:
        return PruneBusyError(
            f"another gapdesk db prune is running ({holder}); nothing was changed"
        )

    return run_lock(path, busy)


@contextmanager
def database_lock(engine: Engine) -> Iterator[None]:
    """On PostgreSQL, a session-level advisory lock held on its own connection for the
    run, so that runs from several hosts sharing the database exclude each other too
    (released by the server if the connection drops). Elsewhere nothing: SQLite is one
    host's file, and the lock file covers it."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        key = {"key": ADVISORY_LOCK_KEY}
        taken = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), key)
        connection.commit()
        if not taken:
            raise PruneBusyError(
                "another gapdesk db prune is running on this database (another host?); "
                "nothing was changed"
            )
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
            connection.commit()
