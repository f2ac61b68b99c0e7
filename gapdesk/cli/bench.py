"""``gapdesk benchmark`` and ``gapdesk figures``: measured claims, written as reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gapdesk.datasets import LABELLED_DATA_HELP
from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    benchmark = commands.add_parser(
        "benchmark",
        help="train the NLU and gap model on TRAIN, score TEST: gap model vs NLU confidence",
        description=f"TRAIN and TEST: labelled data, each {LABELLED_DATA_HELP}. Rows "
        "labelled --oos-label are out-of-scope examples, never an intent.",
    )
    benchmark.add_argument("--train", type=Path, nargs="+", required=True, metavar="TRAIN")
    benchmark.add_argument("--test", type=Path, nargs="+", required=True, metavar="TEST")
    benchmark.add_argument("--oos-label", default="oos", help="label of out-of-scope rows")
    benchmark.add_argument("--out", type=Path, help="folder for report.json, report.md, plots")
    benchmark.add_argument(
        "--no-generic-oos",
        action="store_true",
        help="do not add the shipped generic out-of-scope corpus to TRAIN",
    )
    benchmark.set_defaults(handler=_cmd_benchmark)

    figures = commands.add_parser(
        "figures",
        help="measure NLU accuracy, turn latency against a plain-response baseline, and "
        "training time; writes report.json and report.md",
    )
    figures.add_argument("--out", type=Path, default=Path("var/figures"), help="report folder")
    figures.add_argument("--turns", type=int, default=200, help="turns per bot for latency")
    figures.add_argument(
        "--no-training", action="store_true", help="skip timing a training from scratch"
    )
    figures.set_defaults(handler=_cmd_figures)


def _cmd_benchmark(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.bench import gap_benchmark as benchmark  # scikit-learn: only when used

    report = benchmark.run(
        args.train,
        args.test,
        args.oos_label,
        args.out,
        generic_out_of_scope=None if args.no_generic_oos else benchmark.GENERIC_OUT_OF_SCOPE,
        semantic=settings.semantic_features == "on",
        spacy_model=settings.spacy_model,
    )
    print(json.dumps(report))
    return 0


def _cmd_figures(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.bench import bot_figures as figures  # scikit-learn: only when used

    report = figures.run(settings, args.out, args.turns, with_training=not args.no_training)
    print(figures.markdown(report))
    print(f"written: {args.out / 'report.json'}, {args.out / 'report.md'}")
    return 0
