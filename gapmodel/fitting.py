"""Fitting the gap model on cross-validated NLU predictions of the bot's own data.

Labels come from the bot's own data: each training message is parsed by an NLU model
that did not see it (k-fold), and the answer misses when the predicted intent is not
the labelled one. Out-of-scope examples are parsed too and are gaps by definition.
Producing the predictions (running Rasa) is the application's job (gapdesk.training).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from gapmodel.classifier import GapClassifier
from gapmodel.coverage import DEFAULT_SPACY_MODEL
from gapmodel.features import GapFeaturizer
from gapmodel.knowledge import CLARIFICATION_OPTIONS, KnowledgeBase
from gapmodel.model import GapModel
from gapmodel.types import GapInput

OOS_LABEL = "oos"


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


@dataclass(frozen=True)
class LiveExample:
    """A turn the bot served, as a training row: the message and the NLU ranking the bot
    saw, whether its answer missed (a person's or a customer's word for it), and how
    much the row counts against a self-made label's 1."""

    item: GapInput
    is_gap: bool
    weight: float = 1.0


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


def live_features(
    featurizer: GapFeaturizer,
    live: Sequence[LiveExample],
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    out_of_scope: Sequence[str],
    answers: Mapping[str, str] | None,
) -> np.ndarray:
    """Features of live turns, each measured as the bot saw it: against training data
    without its own text (a labelled turn may have become a training example since)."""
    texts = {example.item.text.lower() for example in live}
    keep = [text.lower() not in texts for text in train_texts]
    oos_kept = [text for text in out_of_scope if text.lower() not in texts]
    if not all(keep) or len(oos_kept) < len(out_of_scope):
        featurizer = clone(featurizer).set_params(lsa_dimensions=featurizer.lsa_dimensions_)
        featurizer.fit(
            [t for t, k in zip(train_texts, keep, strict=True) if k],
            [lab for lab, k in zip(train_labels, keep, strict=True) if k],
            oos_kept,
            answers,
        )
    return featurizer.transform([example.item for example in live])


def fit_gap_model(
    predictions: Sequence[Prediction],
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    metadata: dict[str, Any] | None = None,
    semantic: bool = False,
    spacy_model: str = DEFAULT_SPACY_MODEL,
    knowledge_base: KnowledgeBase | None = None,
    live: Sequence[LiveExample] = (),
) -> GapModel:
    """Fit the gap classifier on cross-validated predictions; record held-out AUROC.

    The knowledge base's answers count as what the bot knows about each intent (a fold
    that hides an intent from its NLU hides its answer too), and its offerable topics
    are what a clarification offers. ``live`` turns join the rows with their weights.
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
    weights = np.ones(len(y))
    if live:
        X_live = live_features(featurizer, live, train_texts, train_labels, out_of_scope, answers)
        X = np.vstack([X, X_live])
        y = np.concatenate([y, [int(example.is_gap) for example in live]])
        weights = np.concatenate([weights, [example.weight for example in live]])
    classifier = GapClassifier()
    held_out = cross_val_predict(
        classifier, X, y, cv=5, method="predict_proba", params={"sample_weight": weights}
    )[:, 1]
    classifier.fit(X, y, sample_weight=weights)
    info = dict(metadata or {})
    info.update(
        {
            "rows": len(y),
            "live_rows": len(live),
            "gap_rate": round(float(y.mean()), 4),
            "cv_auroc": round(float(roc_auc_score(y, held_out, sample_weight=weights)), 4)
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
