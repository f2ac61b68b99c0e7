"""``gapdesk score``: one message against the running bot, with the decision and reasons."""

from __future__ import annotations

import argparse
from pathlib import Path

from gapdesk.cli.connections import rasa_client
from gapdesk.cli.terminal import terminal_json
from gapdesk.models_dir import current_models
from gapdesk.policy import decide_turn
from gapdesk.settings import Settings
from gapmodel.knowledge import KnowledgeBase
from gapmodel.types import GapInput


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    score = commands.add_parser(
        "score", help="score a message against the running bot: decision and reasons"
    )
    score.add_argument("text", help="a customer message")
    score.set_defaults(handler=_cmd_score)


def _cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    from gapmodel.model import GapModel  # scikit-learn: only when used

    parsed = rasa_client(settings).parse(args.text)
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
