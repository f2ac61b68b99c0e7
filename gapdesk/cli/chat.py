"""``gapdesk chat``: talk to the running bot in this terminal."""

from __future__ import annotations

import argparse
import uuid

from gapdesk.cli.connections import rasa_client
from gapdesk.cli.terminal import terminal_text
from gapdesk.settings import Settings

# A reply's further lines start under its first, clear of the "bot>" that begins one.
_INDENT_BOT = "\n" + " " * len("bot> ")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chat = commands.add_parser("chat", help="chat with the running bot in this terminal")
    chat.add_argument("--id", default=None, help="conversation id (default: a new one)")
    chat.set_defaults(handler=_cmd_chat)


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    client = rasa_client(settings)
    conversation_id = args.id or f"cli-{uuid.uuid4().hex[:12]}"
    print(f"chatting as {conversation_id} with {settings.rasa_url} (Ctrl-D to quit)")
    while True:
        try:
            text = input("you> ").strip()
        except EOFError:
            print()
            return 0
        if not text:
            continue
        # Replies can quote the customer (slots filled from messages) or be an agent's.
        for reply in client.say(conversation_id, text):
            if reply.get("text"):
                print(f"bot> {terminal_text(reply['text'], line_break=_INDENT_BOT)}")
            for index, button in enumerate(reply.get("buttons") or [], start=1):
                title, payload = terminal_text(button["title"]), terminal_text(button["payload"])
                print(f"     [{index}] {title}  (type {payload})")
