"""``gapdesk needs``: the topics of the messages the bot could not answer, and turning one
into a draft intent for review.

``needs list`` prints the period's unmet-needs topics, numbered as the report numbers
them; ``needs draft --topic N`` writes topic N as a Rasa NLU draft under
``data/nlu/drafts/``, which training skips until a person reviews it and moves it into
``data/nlu/`` (docs/reports.md, "Unmet needs").
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gapdesk.cli.report import period_arguments, period_of
from gapdesk.engine.project import Project
from gapdesk.settings import Settings

if TYPE_CHECKING:
    from gapdesk.reports.unmet_needs import NeedTopics


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    needs = commands.add_parser(
        "needs",
        help="the topics of the messages the bot could not answer; draft one as an intent",
        description=(
            "Messages the bot could not answer in a period (handed over as out of scope, "
            "labelled out of scope, clarified then handed over, 'it answered a different "
            "question'), grouped into topics as `gapdesk report` groups them."
        ),
    )
    actions = needs.add_subparsers(dest="needs_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="print the period's topics, numbered")
    period_arguments(listing)
    listing.set_defaults(handler=_cmd_list)
    draft = actions.add_parser(
        "draft",
        help="write one topic as a draft NLU intent for review",
        description=(
            "Write topic N of the period (as `gapdesk needs list` numbers it) as one intent "
            "of Rasa NLU YAML with all its messages. Drafts are never trained on: review "
            "the file, rename the intent, add it to the domain and move it into data/nlu/."
        ),
    )
    period_arguments(draft)
    draft.add_argument("--topic", type=int, required=True, metavar="N", help="topic number")
    draft.add_argument(
        "--out",
        type=Path,
        default=Project().drafts,
        metavar="DIR",
        help=f"folder for the draft (default: {Project().drafts})",
    )
    draft.add_argument("--overwrite", action="store_true", help="replace an existing draft")
    draft.set_defaults(handler=_cmd_draft)


def _topics(args: argparse.Namespace, settings: Settings) -> NeedTopics:
    # pandas, scikit-learn, SQLAlchemy: only when the command runs
    from gapdesk.reports.frames import load_frames
    from gapdesk.reports.outcomes import annotate_turns
    from gapdesk.reports.unmet_needs import find_need_topics
    from gapdesk.storage.store import make_engine

    since, until = period_of(args)
    engine = make_engine(settings.database_url)
    try:
        frames = load_frames(engine, since, until, channel=args.channel or None)
    finally:
        engine.dispose()
    return find_need_topics(annotate_turns(frames), frames)


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.reports.unmet_needs import describe

    needs = describe(_topics(args, settings))
    period = needs["halves"]
    print(
        f"{needs['messages']} unmet messages from {period['first'][0]:%Y-%m-%d %H:%M} to "
        f"{period['second'][1]:%Y-%m-%d %H:%M} UTC, {needs['clustered']} of them in "
        f"{len(needs['topics'])} topics (at least {needs['min_topic_size']} messages each)"
    )
    for topic in needs["topics"]:
        print(
            f"\n{topic['number']:>3}. {topic['name']} ({topic['messages']} messages, "
            f"{topic['first_half']} -> {topic['second_half']}: {topic['trend']})"
        )
        for example in topic["examples"]:
            print(f"       - {example}")
        print(f"     draft: {topic['draft_command']}")
    return 0


def _cmd_draft(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk.reports.unmet_needs import write_draft

    found = _topics(args, settings)
    path = write_draft(found, args.topic, args.out, overwrite=args.overwrite)
    topic = found.topics[args.topic - 1]
    print(f"wrote {path}: topic '{topic.name}', {topic.size} messages")
    print("review it, rename the intent, add it to the domain, then move it into data/nlu/")
    return 0
