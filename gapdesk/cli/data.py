"""``gapdesk data``: labelled data into Rasa training data, and gap benchmarks from it."""

from __future__ import annotations

import argparse
from pathlib import Path

from gapdesk.datasets import (
    LABELLED_DATA_HELP,
    group_by_label,
    hold_out_intents,
    read_labelled,
    write_answer_rules,
    write_domain_intents,
    write_labelled_csv,
    write_rasa_nlu,
)
from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def _cmd_import_intents(args: argparse.Namespace, settings: Settings) -> int:
    groups = group_by_label(read_labelled(args.source))
    note = args.note or f"Converted from {args.source} by `gapdesk data import-intents`."
    write_rasa_nlu(groups, Path("data/nlu") / f"{args.name}.yml", note)
    write_domain_intents(groups, Path("bot/domain") / f"{args.name}.yml")
    write_answer_rules(groups, Path("data/rules") / f"{args.name}.yml")
    examples = sum(len(texts) for texts in groups.values())
    print(f"wrote {len(groups)} intents, {examples} examples (data/nlu, bot/domain, data/rules)")
    return 0


def _cmd_hold_out(args: argparse.Namespace, settings: Settings) -> int:
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
