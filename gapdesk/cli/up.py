"""``gapdesk up``: the Rasa server, the action server and the console together."""

from __future__ import annotations

import argparse

from gapdesk.settings import Settings
from gapdesk.supervisor import up


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser(
        "up", help="start the Rasa server, the action server and the console (Ctrl-C stops all)"
    ).set_defaults(handler=_cmd_up)


def _cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    return up(settings)
