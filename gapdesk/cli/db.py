"""``gapdesk db``: the database schema, and retention (``prune``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gapdesk.settings import Settings
from gapmodel.errors import ConfigurationError

if TYPE_CHECKING:
    from gapdesk.storage.retention import PruneResult


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database schema and retention")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser(
        "upgrade", help="create or migrate the tables (GAPDESK_DATABASE_URL)"
    ).set_defaults(handler=_cmd_db_upgrade)
    prune = db_commands.add_parser(
        "prune",
        help="anonymise what is older than the retention (GAPDESK_RETENTION_DAYS); "
        "safe to run daily from cron",
        description="Older than the retention: remove texts, pseudonymise customer ids, "
        "delete old failed sign-ins, prune Rasa's tracker store; keep what reports count. "
        "Idempotent, in small transactions, one run at a time. Exit code 0 when done "
        "(or retention is off), 2 when it stopped or another run holds the lock.",
    )
    prune.add_argument(
        "--days",
        type=int,
        default=None,
        metavar="N",
        help="keep N days instead of GAPDESK_RETENTION_DAYS (at least 1)",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="count what would change, per table; change nothing"
    )
    prune.set_defaults(handler=_cmd_db_prune)


def _cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.storage.migrate import upgrade  # Alembic, SQLAlchemy: only when used

    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0


def _cmd_db_prune(args: argparse.Namespace, settings: Settings) -> int:
    days = settings.retention_days if args.days is None else args.days
    if args.days is not None and args.days < 1:
        raise ConfigurationError("--days must be at least 1 (GAPDESK_RETENTION_DAYS=0 keeps all)")
    if days == 0:
        print("retention is off (GAPDESK_RETENTION_DAYS=0): everything is kept; nothing to do")
        return 0
    from gapdesk.storage.retention import prune  # SQLAlchemy: only when used
    from gapdesk.storage.store import Store, make_engine
    from gapdesk.storage.trackers import tracker_engine

    engine = make_engine(settings.database_url)
    trackers, why_not = tracker_engine(settings.tracker_store_url)
    try:
        result = prune(
            Store(engine),
            settings.var_path,
            days,
            tracker_engine=trackers,
            tracker_url=_without_password(settings.tracker_store_url),
            dry_run=args.dry_run,
        )
    finally:
        engine.dispose()
        if trackers is not None:
            trackers.dispose()
    if why_not:
        result.notes.append(f"Rasa's tracker store: {why_not}")
    _print(result)
    return 0


def _print(result: PruneResult) -> None:
    from gapdesk.storage.retention import KINDS, TABLES

    verb = "would change" if result.dry_run else "changed"
    print(f"retention {result.days} days: rows from before {result.cutoff:%Y-%m-%d %H:%M} UTC")
    print(f"{'table':<18}" + "".join(f"{kind:>19}" for kind in KINDS))
    for table in TABLES:
        counts = result.changes[table]
        print(f"{table:<18}" + "".join(f"{counts[kind]:>19}" for kind in KINDS))
    for note in result.notes:
        print(f"note: {note}")
    total = result.total()
    dry = " (dry run: nothing was changed)" if result.dry_run else ""
    print(f"{verb} {total} row(s){dry}" if total else f"nothing to change{dry}")


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
