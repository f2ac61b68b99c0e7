"""``gapdesk train``: the Rasa model and the gap model, retrained only when inputs change.

Labels come from the bot's own data: each training message is parsed by an NLU model
that did not see it (k-fold), and the answer misses when the predicted intent is not
the labelled one. Out-of-scope examples (the bot's own and the generic corpus under
``data/out_of_scope``) are parsed too and are gaps by definition.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from gapmodel import engine
from gapmodel.coverage import DEFAULT_SPACY_MODEL, shared_reader
from gapmodel.datasets import LabelledText, read_lines, read_rasa_nlu
from gapmodel.features import GapFeaturizer, GapInput
from gapmodel.knowledge import CLARIFICATION_OPTIONS, KnowledgeBase
from gapmodel.scorer import GapClassifier, GapModel, data_hash

logger = logging.getLogger(__name__)

OOS_LABEL = "oos"
CURRENT_FILE = "current.json"
# Share of intents each cross-validation fold's NLU never sees: their messages teach
# the gap model what a question without an intent looks like (see bot/nlu_predict.py).
UNKNOWN_INTENT_SHARE = 0.2


@dataclass(frozen=True)
class Prediction:
    """One message with its label and the ranking of an NLU that never saw it."""

    text: str
    label: str
    fold: int
    ranking: list[tuple[str, float]]
    unknown_intent: str | None = None  # the real intent, hidden from this fold's NLU

    @property
    def is_out_of_scope_example(self) -> bool:
        """An out-of-scope message; not a real intent's message hidden from one fold."""
        return self.label == OOS_LABEL and not self.unknown_intent

    @property
    def is_gap(self) -> bool:
        return self.label == OOS_LABEL or not self.ranking or self.ranking[0][0] != self.label


def read_predictions(path: Path) -> list[Prediction]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        ranking = [(str(name), float(conf)) for name, conf in item["ranking"]]
        rows.append(
            Prediction(
                item["text"], str(item["label"]), int(item["fold"]), ranking,
                item.get("unknown_intent"),
            )
        )  # fmt: skip
    return rows


def write_messages(path: Path, rows: Sequence[LabelledText]) -> Path:
    """Labelled messages as JSON lines, the input of ``bot/nlu_predict.py``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"text": r.text, "label": r.label}, ensure_ascii=False) for r in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def fold_features(
    predictions: Sequence[Prediction],
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    featurizer: GapFeaturizer,
    answers: Mapping[str, str] | None = None,
) -> np.ndarray:
    """Features of cross-validated predictions, each fold measured against the other folds.

    A message must not be compared with itself: its fold's similarity indexes are built
    from the training and out-of-scope examples of the other folds, as its NLU model was.
    Each fold fits a copy of ``featurizer`` (its parameters, not its fitted state).
    """
    fold_of_text = {p.text: p.fold for p in predictions if p.label != OOS_LABEL or p.unknown_intent}
    train_folds = np.array([fold_of_text.get(t, -1) for t in train_texts])
    labels = np.asarray(train_labels)
    blocks: dict[int, np.ndarray] = {}
    for fold in sorted({p.fold for p in predictions}):
        unknown = {p.unknown_intent for p in predictions if p.fold == fold and p.unknown_intent}
        keep = (train_folds != fold) & ~np.isin(labels, list(unknown))
        fold_featurizer = clone(featurizer).fit(
            [t for t, k in zip(train_texts, keep, strict=True) if k],
            [lab for lab, k in zip(train_labels, keep, strict=True) if k],
            [p.text for p in predictions if p.is_out_of_scope_example and p.fold != fold],
            {intent: text for intent, text in (answers or {}).items() if intent not in unknown},
        )
        members = [i for i, p in enumerate(predictions) if p.fold == fold]
        inputs = [as_input(predictions[i]) for i in members]
        blocks.update(zip(members, fold_featurizer.transform(inputs), strict=True))
    return np.vstack([blocks[i] for i in range(len(predictions))])


def clarification_hit_rate(
    predictions: Sequence[Prediction], knowledge_base: KnowledgeBase | None = None
) -> float | None:
    """How often a clarification would offer the right topic when the intent is wrong.

    Measured on cross-validated predictions of real intents that the NLU got wrong:
    the share whose true intent is among the options the bot would offer
    (:meth:`KnowledgeBase.clarification_options`; without a knowledge base, every
    intent counts as offerable). The decision weighs a clarification's cost against
    this chance.
    """
    wrong = [p for p in predictions if p.is_gap and p.label != OOS_LABEL and not p.unknown_intent]
    if not wrong:
        return None

    def offered(ranking: list[tuple[str, float]]) -> list[str]:
        if knowledge_base is None:
            return [intent for intent, _ in ranking[:CLARIFICATION_OPTIONS]]
        return [answer.intent for answer in knowledge_base.clarification_options(ranking)]

    return round(sum(p.label in offered(p.ranking) for p in wrong) / len(wrong), 4)


def as_input(prediction: Prediction) -> GapInput:
    return GapInput(prediction.text, prediction.ranking)


def fit_gap_model(
    predictions: Sequence[Prediction],
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    metadata: dict[str, Any] | None = None,
    semantic: bool = False,
    spacy_model: str = DEFAULT_SPACY_MODEL,
    knowledge_base: KnowledgeBase | None = None,
) -> GapModel:
    """Fit the gap classifier on cross-validated predictions; record held-out AUROC.

    The knowledge base's answers count as what the bot knows about each intent (a fold
    that hides an intent from its NLU hides its answer too), and its offerable topics
    are what a clarification offers.
    """
    answers = (
        {a.intent: a.text for a in knowledge_base.answers.values()} if knowledge_base else None
    )
    out_of_scope = [p.text for p in predictions if p.is_out_of_scope_example]
    featurizer = GapFeaturizer(semantic=semantic, spacy_model=spacy_model).fit(
        train_texts, train_labels, out_of_scope, answers
    )
    # The folds compare in as many LSA dimensions as the served model, so that their
    # similarities mean the same (a small bot's folds could afford fewer on their own).
    for_folds = clone(featurizer).set_params(lsa_dimensions=featurizer.lsa_dimensions_)
    X = fold_features(predictions, train_texts, train_labels, for_folds, answers)
    y = np.array([int(p.is_gap) for p in predictions])
    classifier = GapClassifier()
    held_out = cross_val_predict(classifier, X, y, cv=5, method="predict_proba")[:, 1]
    classifier.fit(X, y)
    info = dict(metadata or {})
    info.update(
        {
            "rows": len(y),
            "gap_rate": round(float(y.mean()), 4),
            "cv_auroc": round(float(roc_auc_score(y, held_out)), 4)
            if 0 < y.sum() < len(y)
            else None,
            "nlu_cv_accuracy": round(
                float(np.mean([not p.is_gap for p in predictions if p.label != OOS_LABEL])), 4
            ),
            "clarification_hit_rate": clarification_hit_rate(predictions, knowledge_base),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    return GapModel(featurizer, classifier, info)


def files_hash(paths: Sequence[Path]) -> str:
    """Short content hash of files (their paths included)."""
    return data_hash(*(str(p).encode() + b"\0" + p.read_bytes() for p in paths))[:12]


def current_models(models_dir: Path) -> dict[str, str]:
    """Paths of the models in use, as recorded by the last training."""
    pointer = models_dir / CURRENT_FILE
    if not pointer.is_file():
        return {}
    return dict(json.loads(pointer.read_text(encoding="utf-8")))


def train(
    project: engine.Project,
    models_dir: Path,
    cache_dir: Path,
    folds: int = 3,
    force: bool = False,
    semantic: bool = False,
    spacy_model: str = DEFAULT_SPACY_MODEL,
) -> dict[str, str]:
    """Train what is missing for the current inputs; return the current model paths.

    Three stages, each cached by a hash of its own inputs: the Rasa model, the
    cross-validated NLU predictions, and the gap model fitted on them. The first two
    run at the same time (one core each).
    """
    rasa_model = models_dir / f"bot-{files_hash(project.rasa_inputs())}.tar.gz"
    cv_key = f"{files_hash(project.crossval_inputs())}-{folds}-{UNKNOWN_INTENT_SHARE}"
    cv_file = cache_dir / f"crossval-{cv_key}.jsonl"
    # The spaCy pipeline that reads here is an input too: installing or upgrading it
    # means new lemmas, so a new gap model (GapModel.load refuses a mismatch).
    reader = shared_reader(spacy_model).identity.encode()
    gap_version = data_hash(files_hash(project.gap_model_inputs()).encode(), reader)[:12]
    gap_version += "-semantic" if semantic else ""
    if spacy_model != DEFAULT_SPACY_MODEL:
        gap_version += f"-{spacy_model}"
    gap_model_path = models_dir / f"gap-{gap_version}.joblib"
    if force:
        for path in (rasa_model, cv_file, gap_model_path):
            path.unlink(missing_ok=True)

    started = time.monotonic()
    jobs = []
    logs = cache_dir.parent / "logs"
    if not rasa_model.is_file():
        command = engine.train_bot_command(project, models_dir, rasa_model.name[: -len(".tar.gz")])
        jobs.append(engine.run(command, "Rasa training", logs / "train-rasa.log"))
    if not cv_file.is_file():
        oos_texts = [t for f in sorted(project.out_of_scope.glob("*.txt")) for t in read_lines(f)]
        extra = cache_dir / "out_of_scope.jsonl"
        write_messages(extra, [LabelledText(t, OOS_LABEL) for t in oos_texts])
        command = engine.nlu_predictions_command(
            "crossval", project.config, [project.nlu], cv_file,
            folds=folds, extra=extra, unknown_share=UNKNOWN_INTENT_SHARE,
        )  # fmt: skip
        jobs.append(engine.run(command, "NLU cross-validation", logs / "train-crossval.log"))
    engine.wait_all(jobs)

    if not gap_model_path.is_file():
        examples = read_rasa_nlu([project.nlu])
        model = fit_gap_model(
            read_predictions(cv_file),
            [e.text for e in examples],
            [e.label for e in examples],
            {"version": f"gap-{gap_version}", "training_data_hash": gap_version, "folds": folds},
            semantic,
            spacy_model,
            KnowledgeBase.load(project.root / project.knowledge_base),
        )
        model.save(gap_model_path)
        logger.info(
            "gap model %s: cv AUROC %s, NLU cv accuracy %s",
            model.version, model.metadata["cv_auroc"], model.metadata["nlu_cv_accuracy"],
        )  # fmt: skip
    if jobs or not (models_dir / CURRENT_FILE).is_file():
        logger.info("training took %.0f s", time.monotonic() - started)
    return _record_current(models_dir, rasa_model, gap_model_path)


def _record_current(models_dir: Path, rasa_model: Path, gap_model: Path) -> dict[str, str]:
    """Point models/current.json at these models and delete older ones."""
    for old in [*models_dir.glob("bot-*.tar.gz"), *models_dir.glob("gap-*.joblib")]:
        if old not in (rasa_model, gap_model):
            old.unlink()
    current = {"rasa_model": str(rasa_model), "gap_model": str(gap_model)}
    (models_dir / CURRENT_FILE).write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return current
