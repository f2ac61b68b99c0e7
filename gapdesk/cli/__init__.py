"""The ``gapdesk`` command line.

Each command group is a module here with ``register(commands)`` beside its handlers;
each handler is a thin wrapper: parse arguments, call the library, print. Library
errors become a one-line message and exit code 2 here, in one place.

Building the parser stays fast (``gapdesk --help``, ``gapdesk chat``): a handler imports
scikit-learn (the gap model, training, benchmarks) or SQLAlchemy (the database) itself,
only when its command runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from gapdesk.cli import (
    bench,
    chat,
    conversations,
    data,
    db,
    demo,
    labels,
    models,
    needs,
    report,
    retrain,
    score,
    signals,
    train,
    up,
    users,
)
from gapdesk.settings import Settings, load_settings
from gapmodel.errors import GapdeskError

Handler = Callable[[argparse.Namespace, Settings], int]

# In the order `gapdesk --help` lists them.
COMMAND_GROUPS = (
    data, train, models, db, demo, up, score, conversations, bench, users, labels, signals,
    retrain, report, needs, chat,
)  # fmt: skip


def _settings_epilog() -> str:
    rows = [f"  {name} (default: {default!r})" for name, default, _ in Settings.table()]
    return "settings (environment variables or .env):\n" + "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gapdesk",
        description="gapdesk: a Rasa bot that scores every answer for its information gap.",
        epilog=_settings_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        for chatty in ("alembic", "httpx"):  # every migration step / HTTP request at INFO
            logging.getLogger(chatty).setLevel(logging.WARNING)
        handler: Handler = args.handler
        return handler(args, settings)
    except GapdeskError as exc:
        print(f"gapdesk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
