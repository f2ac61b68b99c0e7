"""The ``gapdesk`` command line.

Each sub-command is a thin wrapper: parse arguments, call the library, print.
Library errors become a one-line message and exit code 2 here, in one place.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gapdesk.datasets import LABELLED_DATA_HELP
from gapdesk.settings import Settings, load_settings
from gapmodel.errors import GapdeskError

Handler = Callable[[argparse.Namespace, Settings], int]


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

    data = commands.add_parser("data", help="convert labelled data into Rasa training data")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    imp = data_commands.add_parser(
        "import-intents",
        help="write NLU examples, domain intents and answer rules from a labelled CSV/folder",
    )
    imp.add_argument("source", type=Path, help=LABELLED_DATA_HELP)
    imp.add_argument("--name", default="intents", help="file stem for the written files")
    imp.add_argument("--note", default="", help="source and licence note for the NLU file")
    imp.set_defaults(handler=_cmd_import_intents)
    hold = data_commands.add_parser(
        "hold-out",
        help="make a gap benchmark from labelled data without out-of-scope questions",
        description="Holds out a share of the intents (the bot never learns them: their "
        "messages become out-of-scope questions) and splits every intent's rows into "
        "train and test. Writes train.csv, train_out_of_scope.csv and test.csv.",
    )
    hold.add_argument("source", type=Path, help=LABELLED_DATA_HELP)
    hold.add_argument("--out", type=Path, required=True, help="folder for the three CSV files")
    hold.add_argument("--share", type=float, default=0.25, help="share of intents held out")
    hold.add_argument("--test-share", type=float, default=0.3, help="share of rows for test")
    hold.add_argument("--seed", type=int, default=0, help="seed of the random choices")
    hold.add_argument(
        "--oos-label", default="oos", help="label of rows already out of scope (kept so)"
    )
    hold.set_defaults(handler=_cmd_hold_out)

    from gapdesk.cli import commands as cli_commands

    cli_commands.register(commands)
    return parser


def _cmd_import_intents(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.datasets import (
        group_by_label,
        read_labelled,
        write_answer_rules,
        write_domain_intents,
        write_rasa_nlu,
    )

    groups = group_by_label(read_labelled(args.source))
    note = args.note or f"Converted from {args.source} by `gapdesk data import-intents`."
    write_rasa_nlu(groups, Path("data/nlu") / f"{args.name}.yml", note)
    write_domain_intents(groups, Path("bot/domain") / f"{args.name}.yml")
    write_answer_rules(groups, Path("data/rules") / f"{args.name}.yml")
    examples = sum(len(texts) for texts in groups.values())
    print(f"wrote {len(groups)} intents, {examples} examples (data/nlu, bot/domain, data/rules)")
    return 0


def _cmd_hold_out(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.datasets import hold_out_intents, read_labelled, write_labelled_csv

    rows = read_labelled(args.source)
    split = hold_out_intents(rows, args.share, args.test_share, args.seed, args.oos_label)
    write_labelled_csv(split.train, args.out / "train.csv")
    write_labelled_csv(split.train_out_of_scope, args.out / "train_out_of_scope.csv")
    write_labelled_csv(split.test, args.out / "test.csv")
    print(f"held out {len(split.held_out)} intents: {', '.join(split.held_out)}")
    print(
        f"wrote {args.out}: train.csv {len(split.train)}, train_out_of_scope.csv "
        f"{len(split.train_out_of_scope)}, test.csv {len(split.test)} rows"
    )
    return 0


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
