"""``gapdesk benchmark`` and ``gapdesk figures``: measured claims, written as reports."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gapdesk.datasets import LABELLED_DATA_HELP
from gapdesk.settings import Settings

# The learning curve's budgets (loop_benchmark.BUDGETS; not imported: it loads scikit-learn).
LOOP_BUDGETS = "0,50,100,200,400"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    benchmark = commands.add_parser(
        "benchmark",
        help="train the NLU and gap model on TRAIN, score TEST: gap model vs NLU confidence",
        description=f"TRAIN and TEST: labelled data, each {LABELLED_DATA_HELP}. Rows "
        "labelled --oos-label are out-of-scope examples, never an intent.",
    )
    # Not required here: `gapdesk benchmark loop` has its own (checked in the handler).
    benchmark.add_argument("--train", type=Path, nargs="+", metavar="TRAIN")
    benchmark.add_argument("--test", type=Path, nargs="+", metavar="TEST")
    _add_shared_options(benchmark)
    benchmark.set_defaults(handler=_cmd_benchmark, parser=benchmark)
    benchmarks = benchmark.add_subparsers(dest="benchmark", metavar="{loop,topics,load,fuzz}")
    _register_loop(benchmarks)
    _register_topics(benchmarks)
    _register_load(benchmarks)
    _register_fuzz(benchmarks)

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


def _register_loop(benchmarks: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    loop = benchmarks.add_parser(
        "loop",
        help="replay TRAFFIC: does the bot get better from agents' labels? (before/after)",
        description=f"TRAIN and TRAFFIC: labelled data, each {LABELLED_DATA_HELP}. Trains "
        "the bot on TRAIN, replays the first half of TRAFFIC through its decisions, lets "
        "a simulated agent label --budget turns (escalations first, then by gap), "
        "retrains on them as `gapdesk retrain` does, and replays the second half with "
        "both versions, and at each of --budgets for the learning curve.",
    )
    loop.add_argument("--train", type=Path, nargs="+", required=True, metavar="TRAIN")
    loop.add_argument("--traffic", type=Path, nargs="+", required=True, metavar="TRAFFIC")
    loop.add_argument("--budget", type=int, default=200, help="labels the agent gives")
    loop.add_argument(
        "--budgets",
        type=_budgets,
        default=LOOP_BUDGETS,
        metavar="N,N,...",
        help="the budgets of the learning curve (default: %(default)s)",
    )
    loop.add_argument(
        "--shuffle",
        type=int,
        metavar="SEED",
        help="replay TRAFFIC shuffled with this seed (default: in its order)",
    )
    _add_shared_options(loop)
    loop.set_defaults(handler=_cmd_loop, parser=loop)


def _register_topics(benchmarks: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    topics = benchmarks.add_parser(
        "topics",
        help="cluster MESSAGES the bot cannot answer into topics: do they match the true ones?",
        description=f"MESSAGES: labelled data, each {LABELLED_DATA_HELP}, whose labels are "
        "the messages' true topics (used only to score). Clusters them as the unmet-needs "
        "report does (sentence vectors, HDBSCAN, the default smallest topic) and reports "
        "the adjusted Rand index against the true topics (unclustered messages count as "
        "singleton clusters), the purity of the ten largest topics and the share of the "
        "messages they hold, each topic's name, size and purity, and the same figures "
        "for k-means on tf-idf/LSA vectors with as many clusters. BANKING77-OOS id-oos: "
        "--messages data/datasets/banking77_oos/id-oos/test --label-file label_original",
    )
    topics.add_argument("--messages", type=Path, nargs="+", required=True, metavar="MESSAGES")
    topics.add_argument(
        "--label-file",
        default="label",
        metavar="NAME",
        help="in seq.in folders, the file of true topics (default: %(default)s; "
        "BANKING77-OOS id-oos keeps its hidden intents in label_original)",
    )
    topics.add_argument("--out", type=Path, help="folder for report.json, report.md, topics.png")
    topics.set_defaults(handler=_cmd_topics, parser=topics)


def _register_load(benchmarks: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = benchmarks.add_parser(
        "load",
        help="many conversations at once: latency, throughput and losses against baselines",
        description="Starts bots side by side on loopback (the trained bot, the same "
        "bot with gap scoring off, plain Rasa answering with responses, no action "
        "server, and with --postgres one instance against two behind HAProxy) and "
        "measures each in turn over the REST channel: a paced run of "
        "--conversations customers with think times offering --rate messages/s, a "
        "saturation run of --saturation-conversations customers writing back to back, "
        "the CPU seconds per turn of each process, and a loss audit (every message in "
        "Rasa's tracker, every gap-scored turn in the database exactly once). Messages "
        "are BANKING77's test questions.",
    )
    load.add_argument(
        "--conversations",
        type=_positive_int,
        default=200,
        help="paced run's customers at once (default: %(default)s)",
    )
    load.add_argument(
        "--rate",
        type=_positive_float,
        default=20.0,
        help="messages/s they offer together (default: %(default)s)",
    )
    load.add_argument(
        "--seconds",
        type=_positive_float,
        default=60.0,
        help="length of the paced run (default: %(default)s)",
    )
    load.add_argument(
        "--saturation-conversations",
        type=_positive_int,
        default=50,
        help="saturation run's customers (default: %(default)s)",
    )
    load.add_argument(
        "--saturation-seconds",
        type=_positive_float,
        default=30.0,
        help="length of the saturation run (default: %(default)s)",
    )
    load.add_argument(
        "--seed", type=int, default=0, help="seed of who says what when (default: %(default)s)"
    )
    load.add_argument(
        "--postgres",
        metavar="URL",
        default="",
        help="a PostgreSQL server (postgresql+psycopg2://postgres@127.0.0.1:5432/test) on "
        "which to create scratch databases: adds one instance against two behind HAProxy, "
        "both on PostgreSQL with Redis locks",
    )
    load.add_argument(
        "--redis",
        metavar="URL",
        default="redis://127.0.0.1:6379/1",
        help="Redis for the scale-out bots' locks (default: %(default)s)",
    )
    load.add_argument(
        "--out",
        type=Path,
        default=Path("var/benchmark/load"),
        help="folder for report.json, report.md, latency.png",
    )
    load.set_defaults(handler=_cmd_load, parser=load)


def _progress(line: str) -> None:
    """A long benchmark's steps, on standard error (the report goes to standard output)."""
    print(line, file=sys.stderr, flush=True)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text}")
    return value


def _add_shared_options(parser: argparse.ArgumentParser) -> None:
    """What both benchmarks take besides their data."""
    parser.add_argument("--oos-label", default="oos", help="label of out-of-scope rows")
    parser.add_argument("--out", type=Path, help="folder for report.json, report.md, plots")
    parser.add_argument(
        "--no-generic-oos",
        action="store_true",
        help="do not add the shipped generic out-of-scope corpus to TRAIN",
    )


def _budgets(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from exc
    if not sizes or min(sizes) < 0:
        raise argparse.ArgumentTypeError(f"budgets are numbers of labels, 0 or more: {text!r}")
    return sizes


def _cmd_loop(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.bench import loop_benchmark  # scikit-learn: only when used

    if args.budget < 0:
        args.parser.error("--budget must be 0 or more")
    report = loop_benchmark.run(
        args.train,
        args.traffic,
        settings,
        args.oos_label,
        args.budget,
        args.out,
        args.shuffle,
        args.budgets,
        generic_out_of_scope=None if args.no_generic_oos else loop_benchmark.GENERIC_OUT_OF_SCOPE,
        progress=_progress,
    )
    print(json.dumps(report))
    return 0


def _cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.bench import topic_benchmark  # scikit-learn: only when used

    report = topic_benchmark.run(
        args.messages,
        args.label_file,
        args.out,
        progress=_progress,
    )
    print(json.dumps(report))
    return 0


def _cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.bench import load_benchmark  # NumPy, SQLAlchemy: only when used

    plan = load_benchmark.LoadPlan(
        args.conversations,
        args.rate,
        args.seconds,
        args.saturation_conversations,
        args.saturation_seconds,
        args.seed,
        args.postgres,
        args.redis,
    )
    report = load_benchmark.run(settings, args.out, plan, progress=_progress)
    print(load_benchmark.markdown(report))
    print(
        f"written: {args.out / 'report.json'}, {args.out / 'report.md'}, {args.out / 'latency.png'}"
    )
    return 0


def _cmd_benchmark(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.bench import gap_benchmark as benchmark  # scikit-learn: only when used

    if not args.train or not args.test:
        args.parser.error("--train and --test are required (or: gapdesk benchmark loop)")

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


def _register_fuzz(benchmarks: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fuzz = benchmarks.add_parser(
        "fuzz",
        help="hostile input on every public endpoint: no 5xx, no crash, no silent drop",
        description="Starts the bot, the action server and the console on loopback with "
        "every messaging channel configured (a stand-in Telegram API; Twilio's and "
        "Slack's replies fail offline) and sends --count hostile requests from --seed, the "
        "endpoints in turn: the REST and callback webhooks, socket.io, Telegram, Twilio "
        "and Slack (validly signed), the console's sign-in, reply, label and hand-back "
        "forms. Reports per endpoint the statuses, 5xx, silent drops (a well-formed "
        "message neither answered nor in Rasa's tracker), malformed requests not refused "
        "with a reason, unescaped markup, crashed services and the time taken.",
    )
    fuzz.add_argument(
        "--count", type=_positive_int, default=10_000, help="requests (default: %(default)s)"
    )
    fuzz.add_argument("--seed", type=int, default=0, help="the inputs' seed (default: %(default)s)")
    fuzz.add_argument(
        "--out",
        type=Path,
        default=Path("var/benchmark/fuzz"),
        help="folder for report.json, report.md and the services' logs",
    )
    fuzz.set_defaults(handler=_cmd_fuzz, parser=fuzz)


def _cmd_fuzz(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.bench import fuzz_run

    report = fuzz_run.run(
        settings,
        args.out,
        args.count,
        args.seed,
        progress=_progress,
    )
    print(fuzz_run.markdown(report))
    failed = report["failures"] or report["crashed"]
    return 1 if failed else 0
