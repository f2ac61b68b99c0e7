"""``gapdesk demo``: the demo bank's cards and transfers."""

from __future__ import annotations

import argparse

from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser("demo", help="the demo bank's cards and transfers")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    demo_commands.add_parser("seed", help="create and reset the demo bank's records").set_defaults(
        handler=_cmd_demo_seed
    )


def _cmd_demo_seed(args: argparse.Namespace, settings: Settings) -> int:
    # SQLAlchemy: only when used
    from gapdesk.demo.bank import SEED_CARDS, SEED_TRANSFERS, DemoBank
    from gapdesk.storage.store import make_engine

    DemoBank(make_engine(settings.database_url)).seed()
    cards = ", ".join(sorted(last_four for last_four, *_ in SEED_CARDS))
    transfers = ", ".join(sorted(reference for reference, *_ in SEED_TRANSFERS))
    print(f"demo bank seeded: cards ending {cards}; transfers {transfers}")
    return 0
