"""``gapdesk labels``: people's labels on bot turns, exported or turned into training data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gapdesk.cli.connections import open_store
from gapdesk.cli.terminal import terminal_json
from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    labels = commands.add_parser("labels", help="people's labels on bot turns")
    label_commands = labels.add_subparsers(dest="labels_command", required=True, metavar="ACTION")
    export = label_commands.add_parser(
        "export", help="every label with the turn it judges, for retraining"
    )
    export.add_argument("--format", choices=["jsonl"], default="jsonl", help="output format")
    export.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    export.set_defaults(handler=_cmd_export)
    apply = label_commands.add_parser(
        "apply",
        help="write the labels' lessons as training data (data/nlu/labels.yml, "
        "data/out_of_scope/labels.txt) to review, commit and `gapdesk train` on",
    )
    apply.add_argument("--nlu", type=Path, default=Path("data/nlu"), help="NLU data folder")
    apply.add_argument(
        "--out-of-scope",
        type=Path,
        default=Path("data/out_of_scope"),
        help="out-of-scope examples folder",
    )
    apply.set_defaults(handler=_cmd_apply)


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.labels import export_labels  # SQLAlchemy: only when used

    rows = export_labels(open_store(settings))
    # Safe for a terminal (stdout by default), and the same rows to any JSON reader.
    lines = "".join(terminal_json(row, indent=None) + "\n" for row in rows)
    if args.out is None:
        sys.stdout.write(lines)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(lines, encoding="utf-8")
        print(f"wrote {len(rows)} labels to {args.out}", file=sys.stderr)
    return 0


def _cmd_apply(args: argparse.Namespace, settings: Settings) -> int:
    # SQLAlchemy: only when used
    from gapdesk.labels import NLU_FILE_NAME, OUT_OF_SCOPE_FILE_NAME, apply_labels

    learned = apply_labels(open_store(settings), args.nlu, args.out_of_scope)
    intents = {example.label for example in learned.intent_examples}
    print(
        f"{len(learned.intent_examples)} NLU examples for {len(intents)} intents "
        f"-> {args.nlu / NLU_FILE_NAME}\n"
        f"{len(learned.out_of_scope)} out-of-scope examples "
        f"-> {args.out_of_scope / OUT_OF_SCOPE_FILE_NAME}"
    )
    skipped = {
        "a gap with no intent given": learned.without_intent,
        "an intent the NLU data does not have": learned.unknown_intent,
        "already a training example": learned.already_known,
        "a training example of another intent (check that example)": learned.conflicting,
    }
    for why, count in skipped.items():
        if count:
            print(f"skipped {count}: {why}")
    print("Review the files, commit them, then run `gapdesk train`.")
    return 0
