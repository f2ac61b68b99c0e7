"""``gapdesk up``: the Rasa server, the action server and the console together."""

from __future__ import annotations

import argparse

from gapdesk.settings import Settings
from gapdesk.supervisor import SERVICE_NAMES, up, up_one


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "up",
        help="start the Rasa server, the action server and the console, restart one that "
        "dies (Ctrl-C stops all)",
    )
    parser.add_argument(
        "--service",
        choices=sorted(SERVICE_NAMES),
        help="run only this service and exit when it dies, for a supervisor such as "
        "systemd to restart it (deploy/systemd/)",
    )
    parser.set_defaults(handler=_cmd_up)


def _cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    return up_one(settings, args.service) if args.service else up(settings)
