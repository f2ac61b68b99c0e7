"""``gapdesk signals``: what the bot would learn from, counted by signal; changes nothing."""

from __future__ import annotations

import argparse

from gapdesk.cli.connections import open_store
from gapdesk.cli.terminal import terminal_json
from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    signals = commands.add_parser(
        "signals",
        help="what the bot would learn from (labels, ratings) since the current version",
        description="Counts people's labels and customers' ratings by signal: the live "
        "turns they make gap-model training rows of, the NLU examples they add, and what "
        "is counted but not used (contradictions, unknown intents, ...). Reads only.",
    )
    signals.add_argument(
        "--all", action="store_true", help="every signal, not only those since the current version"
    )
    signals.set_defaults(handler=_cmd_signals)


def _cmd_signals(args: argparse.Namespace, settings: Settings) -> int:
    # SQLAlchemy: only when used
    from gapdesk.datasets import read_rasa_nlu
    from gapdesk.engine.project import Project
    from gapdesk.labels import NLU_FILE_NAME
    from gapdesk.registry import Registry
    from gapdesk.signals import gather

    store = open_store(settings)
    current = None if args.all else Registry(store, settings.models_path).current()
    nlu = Project().nlu_files()  # drafts left out: not training data until moved
    training_data = read_rasa_nlu(p for p in nlu if p.name != NLU_FILE_NAME)
    summary = gather(store, training_data, current.created_at if current else None).summary()
    summary["since"] = f"version {current.name}" if current else "the beginning"
    print(terminal_json(summary))
    return 0
