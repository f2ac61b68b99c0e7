"""``gapdesk demo``: the demo bank's cards and transfers, and demonstration traffic."""

from __future__ import annotations

import argparse

from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="the demo bank's cards and transfers; real messages sent to the bot"
    )
    demo_commands = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    demo_commands.add_parser("seed", help="create and reset the demo bank's records").set_defaults(
        handler=_cmd_demo_seed
    )
    traffic = demo_commands.add_parser(
        "traffic",
        help="replay real BANKING77 and Bitext messages through the running bot (loopback only)",
        description="Send real customers' messages (BANKING77's test split, Bitext's online "
        "shop) through the running bot's REST channel, as conversations demo-<run>-<n>, "
        "clicking rating buttons as customers would, so the report has traffic to show.",
    )
    traffic.add_argument("--messages", type=int, default=60, help="dataset messages (1-2000)")
    traffic.add_argument(
        "--conversations", type=int, default=20, help="conversations to spread them over (1-500)"
    )
    traffic.add_argument("--seed", type=int, default=0, help="the same seed, the same plan")
    traffic.set_defaults(handler=_cmd_demo_traffic)


def _cmd_demo_seed(args: argparse.Namespace, settings: Settings) -> int:
    # SQLAlchemy: only when used
    from gapdesk.demo.bank import SEED_CARDS, SEED_TRANSFERS, DemoBank
    from gapdesk.storage.store import make_engine

    DemoBank(make_engine(settings.database_url)).seed()
    cards = ", ".join(sorted(last_four for last_four, *_ in SEED_CARDS))
    transfers = ", ".join(sorted(reference for reference, *_ in SEED_TRANSFERS))
    print(f"demo bank seeded: cards ending {cards}; transfers {transfers}")
    return 0


def _cmd_demo_traffic(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.demo import traffic  # httpx: only when used
    from gapdesk.engine.client import RasaClient

    traffic.check_loopback(settings.rasa_url)
    traffic.check_counts(args.messages, args.conversations)
    bank, shop = traffic.load_messages()
    planned = traffic.plan_conversations(
        bank, shop, args.messages, args.conversations, args.seed, traffic.new_run_id()
    )
    print(
        f"sending {args.messages} messages in {len(planned)} conversations to {settings.rasa_url}"
    )
    result = traffic.send_traffic(RasaClient.from_settings(settings), planned)
    print(
        f"sent {result.messages} messages and {result.clicks} clicks in "
        f"{result.conversations} conversations; the bot replied {result.replies} times"
    )
    return 0
