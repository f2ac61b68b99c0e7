"""``gapdesk models``: the registry of trained versions, and which one serves."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gapdesk.cli.connections import open_store
from gapdesk.cli.terminal import terminal_json
from gapdesk.settings import Settings

if TYPE_CHECKING:
    from gapdesk.registry import Registry, Version


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser("models", help="trained model versions: list, promote, roll back")
    actions = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="every version, newest first").set_defaults(handler=_cmd_list)
    show = actions.add_parser("show", help="one version: data, signals and evaluation (JSON)")
    show.add_argument("version", help="a version name (v1, v2, ...)")
    show.set_defaults(handler=_cmd_show)
    promote = actions.add_parser("promote", help="serve this version from now on")
    promote.add_argument("version")
    promote.set_defaults(handler=_cmd_promote)
    actions.add_parser(
        "rollback", help="serve again the version that served before the current one"
    ).set_defaults(handler=_cmd_rollback)
    for name, pinned, what in (("pin", True, "keep"), ("unpin", False, "let pruning delete")):
        pin = actions.add_parser(name, help=f"{what} this version's files whatever MODELS_KEEP")
        pin.add_argument("version")
        pin.set_defaults(handler=_cmd_pin, pinned=pinned)


def _registry(settings: Settings) -> Registry:
    from gapdesk.registry import Registry  # SQLAlchemy: only when used

    return Registry(open_store(settings), settings.models_path)


def _line(version: Version) -> str:
    marks = "*" if version.current else " "
    marks += "p" if version.pinned else " "
    auroc = version.evaluation.get("cv_auroc")
    figures = f"cv AUROC {auroc}" if auroc is not None else ""
    created = version.created_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"{marks} {version.name:<6} {created}  {version.status:<11} {version.trigger:<8} {figures}"
    )


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    versions = _registry(settings).versions()
    if not versions:
        print("no model versions yet: run `gapdesk train`")
    for version in versions:
        print(_line(version))
    return 0


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    print(terminal_json(_registry(settings).get(args.version).as_dict()))
    return 0


def _cmd_promote(args: argparse.Namespace, settings: Settings) -> int:
    version = _registry(settings).promote(args.version, why="gapdesk models promote")
    print(f"{version.name} now serves ({version.rasa_model}, {version.gap_model})")
    return 0


def _cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    version = _registry(settings).rollback()
    print(f"rolled back: {version.name} serves again")
    return 0


def _cmd_pin(args: argparse.Namespace, settings: Settings) -> int:
    version = _registry(settings).pin(args.version, args.pinned)
    print(f"{version.name} is {'pinned' if version.pinned else 'not pinned'}")
    return 0
