"""``gapdesk users``: console accounts (agents, supervisors, admins)."""

from __future__ import annotations

import argparse
import getpass
import sys

from gapdesk.cli.connections import open_store
from gapdesk.cli.terminal import terminal_text
from gapdesk.errors import AccountError
from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="console accounts (agents, supervisors, admins)")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    create = user_commands.add_parser("create", help="add an account; asks for its password")
    create.add_argument("username")
    create.add_argument("--role", choices=["agent", "supervisor", "admin"], required=True)
    create.add_argument("--name", default="", help="name shown to customers and colleagues")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(handler=_cmd_create)
    user_commands.add_parser("list", help="every account").set_defaults(handler=_cmd_list)


def _cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.accounts import create_user  # SQLAlchemy: only when used

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            raise AccountError("the two passwords differ")
    account = create_user(open_store(settings), args.username, password, args.role, args.name)
    name, display_name = terminal_text(account.username), terminal_text(account.display_name)
    print(f"created {account.role} {name} ({display_name})")
    return 0


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.accounts import list_users  # SQLAlchemy: only when used

    for account in list_users(open_store(settings)):
        state = "" if account.active else "  (disabled)"
        name, display_name = terminal_text(account.username), terminal_text(account.display_name)
        print(f"{name:<24} {account.role:<11} {display_name}{state}")
    return 0
