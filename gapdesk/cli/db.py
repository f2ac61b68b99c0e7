"""``gapdesk db``: the database schema."""

from __future__ import annotations

import argparse

from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser(
        "upgrade", help="create or migrate the tables (GAPDESK_DATABASE_URL)"
    ).set_defaults(handler=_cmd_db_upgrade)


def _cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.storage.migrate import upgrade  # Alembic, SQLAlchemy: only when used

    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0
