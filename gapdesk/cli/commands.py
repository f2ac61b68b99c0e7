"""Sub-commands of ``gapdesk`` that need the heavier library parts (imported lazily)."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from gapdesk.cli.terminal import terminal_json, terminal_text
from gapdesk.conversation import ConversationStatus
from gapdesk.datasets import LABELLED_DATA_HELP
from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    """Add the sub-commands to the ``gapdesk`` parser."""
    train = commands.add_parser(
        "train", help="train the Rasa model and the gap model (only what changed since last time)"
    )
    train.add_argument("--force", action="store_true", help="retrain even if nothing changed")
    train.add_argument("--folds", type=int, default=3, help="cross-validation folds for gap labels")
    train.set_defaults(handler=_cmd_train)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser(
        "upgrade", help="create or migrate the tables (GAPDESK_DATABASE_URL)"
    ).set_defaults(handler=_cmd_db_upgrade)

    demo = commands.add_parser("demo", help="the demo bank's cards and transfers")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    demo_commands.add_parser("seed", help="create and reset the demo bank's records").set_defaults(
        handler=_cmd_demo_seed
    )

    commands.add_parser(
        "up", help="start the Rasa server, the action server and the console (Ctrl-C stops all)"
    ).set_defaults(handler=_cmd_up)

    score = commands.add_parser(
        "score", help="score a message against the running bot: decision and reasons"
    )
    score.add_argument("text", help="a customer message")
    score.set_defaults(handler=_cmd_score)

    conversations = commands.add_parser("conversations", help="stored conversations")
    conv_commands = conversations.add_subparsers(
        dest="conversations_command", required=True, metavar="ACTION"
    )
    listing = conv_commands.add_parser("list", help="most recent conversations")
    listing.add_argument("--status", choices=list(ConversationStatus))
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(handler=_cmd_conversations_list)
    show = conv_commands.add_parser("show", help="one conversation with scores and reasons")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_conversations_show)

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

    users = commands.add_parser("users", help="console accounts (agents, supervisors, admins)")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    create = user_commands.add_parser("create", help="add an account; asks for its password")
    create.add_argument("username")
    create.add_argument("--role", choices=["agent", "supervisor", "admin"], required=True)
    create.add_argument("--name", default="", help="name shown to customers and colleagues")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(handler=_cmd_users_create)
    user_commands.add_parser("list", help="every account").set_defaults(handler=_cmd_users_list)

    labels = commands.add_parser("labels", help="people's labels on bot turns")
    label_commands = labels.add_subparsers(dest="labels_command", required=True, metavar="ACTION")
    export = label_commands.add_parser(
        "export", help="every label with the turn it judges, for retraining"
    )
    export.add_argument("--format", choices=["jsonl"], default="jsonl", help="output format")
    export.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    export.set_defaults(handler=_cmd_labels_export)
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
    apply.set_defaults(handler=_cmd_labels_apply)

    chat = commands.add_parser("chat", help="chat with the running bot in this terminal")
    chat.add_argument("--id", default=None, help="conversation id (default: a new one)")
    chat.set_defaults(handler=_cmd_chat)


def _cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk import training
    from gapdesk.engine.project import Project

    current = training.train(
        Project(), settings.models_path, settings.var_path / "cache",
        folds=args.folds, force=args.force, semantic=settings.semantic_features == "on",
        spacy_model=settings.spacy_model,
    )  # fmt: skip
    print(f"models: {current['rasa_model']}, {current['gap_model']}")
    return 0


def _store(settings: Settings):  # -> Store
    from gapdesk.storage.store import Store, make_engine

    return Store(make_engine(settings.database_url))


def _cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.storage.migrate import upgrade

    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0


def _cmd_demo_seed(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.demo.bank import DemoBank
    from gapdesk.storage.store import make_engine

    DemoBank(make_engine(settings.database_url)).seed()
    print(
        "demo bank seeded: cards ending 1937, 4821, 7005; transfers TR-104233, TR-220871, TR-553201"
    )
    return 0


def _cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.supervisor import up

    return up(settings)


def _client(settings: Settings):  # -> RasaClient
    from gapdesk.engine.client import RasaClient

    return RasaClient.from_settings(settings)


def _cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from gapdesk.models_dir import current_models
    from gapdesk.policy import decide_turn
    from gapmodel.knowledge import KnowledgeBase
    from gapmodel.model import GapModel
    from gapmodel.types import GapInput

    parsed = _client(settings).parse(args.text)
    ranking = [(r["name"], float(r["confidence"])) for r in parsed.get("intent_ranking") or []]
    answer = KnowledgeBase.load().get(ranking[0][0] if ranking else None)
    model = GapModel.load(Path(current_models(settings.models_path).get("gap_model", "-")))
    score = model.score(GapInput(args.text, ranking))
    decision = decide_turn(score, args.text, [], 0, answer is not None, settings)
    verdict = {
        "text": args.text,
        "intent": ranking[0] if ranking else None,
        "decision": decision.action,
        "decision_reasons": [str(r) for r in decision.reasons],
        **score.as_dict(),
    }
    print(terminal_json(verdict))
    return 0


def _cmd_conversations_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = _store(settings).list_conversations(args.status, args.limit)
    print(f"{'conversation':<38} {'channel':<10} {'status':<10} {'turns':>5}  updated")
    for row in rows:
        # The id comes from the channel's sender (a widget or REST client picks it).
        conversation_id, channel = terminal_text(row["id"]), terminal_text(row["channel"])
        print(
            f"{conversation_id[:38]:<38} {channel[:10]:<10} {terminal_text(row['status']):<10} "
            f"{row['turns']:>5}  {row['updated_at'][:19]}"
        )
    return 0


def _cmd_conversations_show(args: argparse.Namespace, settings: Settings) -> int:
    conversation = _store(settings).conversation(args.id)
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


# A message's further lines start under its first, clear of the "customer:" and "bot:"
# that begin the layout's own lines.
_INDENT_CUSTOMER = "\n" + " " * len("customer: ")
_INDENT_BOT = "\n" + " " * len("bot: ")


def _cmd_benchmark(args: argparse.Namespace, settings: Settings) -> int:

    from gapdesk.bench import gap_benchmark as benchmark

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
    from gapdesk.bench import bot_figures as figures

    report = figures.run(settings, args.out, args.turns, with_training=not args.no_training)
    print(figures.markdown(report))
    print(f"written: {args.out / 'report.json'}, {args.out / 'report.md'}")
    return 0


def _cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from gapdesk.accounts import create_user
    from gapmodel.errors import AccountError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            raise AccountError("the two passwords differ")
    account = create_user(_store(settings), args.username, password, args.role, args.name)
    name, display_name = terminal_text(account.username), terminal_text(account.display_name)
    print(f"created {account.role} {name} ({display_name})")
    return 0


def _cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.accounts import list_users

    for account in list_users(_store(settings)):
        state = "" if account.active else "  (disabled)"
        name, display_name = terminal_text(account.username), terminal_text(account.display_name)
        print(f"{name:<24} {account.role:<11} {display_name}{state}")
    return 0


def _cmd_labels_export(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.labels import export_labels

    rows = export_labels(_store(settings))
    # Safe for a terminal (stdout by default), and the same rows to any JSON reader.
    lines = "".join(terminal_json(row, indent=None) + "\n" for row in rows)
    if args.out is None:
        sys.stdout.write(lines)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(lines, encoding="utf-8")
        print(f"wrote {len(rows)} labels to {args.out}", file=sys.stderr)
    return 0


def _cmd_labels_apply(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.labels import NLU_FILE_NAME, OUT_OF_SCOPE_FILE_NAME, apply_labels

    learned = apply_labels(_store(settings), args.nlu, args.out_of_scope)
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


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    client = _client(settings)
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
