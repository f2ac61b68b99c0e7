"""``gapdesk train``: the Rasa model and the gap model, only what changed."""

from __future__ import annotations

import argparse

from gapdesk.engine.project import Project
from gapdesk.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = commands.add_parser(
        "train", help="train the Rasa model and the gap model (only what changed since last time)"
    )
    train.add_argument("--force", action="store_true", help="retrain even if nothing changed")
    train.add_argument("--folds", type=int, default=3, help="cross-validation folds for gap labels")
    train.set_defaults(handler=_cmd_train)


def _cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from gapdesk import training  # scikit-learn: only when used

    current = training.train(
        Project(), settings.models_path, settings.var_path / "cache",
        folds=args.folds, force=args.force, semantic=settings.semantic_features == "on",
        spacy_model=settings.spacy_model,
    )  # fmt: skip
    print(f"models: {current['rasa_model']}, {current['gap_model']}")
    return 0
