"""``gapdesk train``: the Rasa model and the gap model, only what changed.

A pair of models trained for the first time becomes a new version in the registry and
serves; a pair already registered changes nothing (so ``make run`` after a rollback
keeps the rolled-back-to version). Old versions' files are pruned
(``GAPDESK_MODELS_KEEP``).
"""

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
    # scikit-learn and SQLAlchemy: only when used
    from gapdesk import training
    from gapdesk.registry import publish_trained
    from gapdesk.storage.migrate import upgrade
    from gapdesk.storage.store import Store, make_engine

    trained = training.train(
        Project(), settings.models_path, settings.var_path / "cache",
        folds=args.folds, force=args.force, semantic=settings.semantic_features == "on",
        spacy_model=settings.spacy_model,
    )  # fmt: skip
    upgrade(settings.database_url)  # the registry's table, on a new database too
    store = Store(make_engine(settings.database_url))
    version, new = publish_trained(store, settings.models_path, trained, settings.models_keep)
    state = "new, now serving" if new else ("serving" if version.current else "not serving")
    print(f"models: {version.name} ({state}): {version.rasa_model}, {version.gap_model}")
    return 0
