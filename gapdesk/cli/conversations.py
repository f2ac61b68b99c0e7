"""``gapdesk conversations``: the stored conversations, as a supervisor reads them."""

from __future__ import annotations

import argparse
import sys

from gapdesk.cli.connections import open_store
from gapdesk.cli.terminal import terminal_json, terminal_text
from gapdesk.conversation import ConversationStatus
from gapdesk.settings import Settings

# A message's further lines start under its first, clear of the "customer:" and "bot:"
# that begin the layout's own lines.
_INDENT_CUSTOMER = "\n" + " " * len("customer: ")
_INDENT_BOT = "\n" + " " * len("bot: ")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    conversations = commands.add_parser("conversations", help="stored conversations")
    conv_commands = conversations.add_subparsers(
        dest="conversations_command", required=True, metavar="ACTION"
    )
    listing = conv_commands.add_parser("list", help="most recent conversations")
    listing.add_argument("--status", choices=[status.value for status in ConversationStatus])
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(handler=_cmd_list)
    show = conv_commands.add_parser("show", help="one conversation with scores and reasons")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_show)


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = open_store(settings).list_conversations(args.status, args.limit)
    print(f"{'conversation':<38} {'channel':<10} {'status':<10} {'turns':>5}  updated")
    for row in rows:
        # The id comes from the channel's sender (a widget or REST client picks it).
        conversation_id, channel = terminal_text(row["id"]), terminal_text(row["channel"])
        print(
            f"{conversation_id[:38]:<38} {channel[:10]:<10} {terminal_text(row['status']):<10} "
            f"{row['turns']:>5}  {row['updated_at'][:19]}"
        )
    return 0


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    conversation = open_store(settings).conversation(args.id)
    if conversation is None:
        print(f"gapdesk: no conversation {args.id!r}", file=sys.stderr)
        return 1
    if args.json:
        print(terminal_json(conversation))
        return 0
    # Every stored field goes through terminal_text: customers wrote the messages and
    # chose the conversation id, and reasons and briefs quote them.
    header = [terminal_text(conversation[key]) for key in ("id", "channel", "status")]
    print(f"{header[0]}  [{header[1]}, {header[2]}]")
    for turn in conversation["turns"]:
        score = turn["gap_score"] or {}
        probability = score.get("probability")
        gap = "  gap n/a" if probability is None else f"  gap {probability:.2f}"
        print(f"\ncustomer: {terminal_text(turn['customer_text'], line_break=_INDENT_CUSTOMER)}")
        confidence = turn["confidence"] or 0
        intent, decision = terminal_text(turn["intent"]), terminal_text(turn["decision"])
        print(f"  intent {intent} ({confidence:.2f}){gap} -> {decision}")
        for reason in score.get("reasons") or []:
            print(f"    - {terminal_text(reason['text'])}")
        print(f"bot: {terminal_text(turn['answer_text'], line_break=_INDENT_BOT)}")
    for escalation in conversation["escalations"]:
        codes = terminal_text(", ".join(escalation["reason_codes"]))
        print(f"\nESCALATED ({codes}): {terminal_text(escalation['brief'])}")
    return 0
