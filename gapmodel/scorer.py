"""The gap scorer: a calibrated classifier over :mod:`gapmodel.features`.

:class:`GapClassifier` is a plain scikit-learn estimator over numeric features (it
passes ``sklearn.utils.estimator_checks``). :class:`GapModel` bundles it with the
fitted featurizer and metadata, scores :class:`GapInput` objects and explains each
score in words an agent can act on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy.interpolate import BSpline
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import SplineTransformer
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from gapmodel.coverage import FALLBACK, shared_reader
from gapmodel.errors import ModelNotTrainedError
from gapmodel.features import GapFeaturizer, GapInput


class GapClassifier(ClassifierMixin, BaseEstimator):
    """An additive model of the gap: one learned curve per feature, calibrated.

    Each feature is expanded into a cubic spline basis and a logistic regression weighs
    the bases, so the log-odds of a gap are a sum of one smooth curve per feature. A
    curve can bend where a straight line cannot (measured on BANKING77-OOS: +0.003
    AUROC with the bot's own out-of-scope examples, +0.007 without), and the score
    stays a sum of per-feature parts: a reason's weight is how far that feature's own
    curve raises the log-odds above a typical message's (:meth:`explained_proba`), not an
    approximation. Sigmoid or isotonic calibration on cross-validation folds
    makes 0.7 mean "70 % of such answers miss". ``C``, ``knots`` and ``calibration``
    are ordinary hyper-parameters.
    """

    def __init__(
        self, *, C: float = 1.0, knots: int = 5, calibration: str = "sigmoid", cv: int = 5
    ) -> None:
        self.C = C
        self.knots = knots
        self.calibration = calibration
        self.cv = cv

    def fit(self, X: Any, y: Any) -> GapClassifier:
        X, y = validate_data(self, X, y)
        self.classes_ = unique_labels(y)
        additive = make_pipeline(
            SplineTransformer(n_knots=self.knots, degree=3),
            LogisticRegression(C=self.C, max_iter=3000),
        )
        counts = np.unique(y, return_counts=True)[1]
        folds = int(min(self.cv, counts.min())) if len(self.classes_) > 1 else 0
        if folds >= 2:
            # ensemble=False: calibrate on out-of-fold predictions, then keep one model
            # fitted on all the data (scoring one message costs one model, not five).
            self.calibrated_ = CalibratedClassifierCV(
                additive, method=self.calibration, cv=folds, ensemble=False
            )
            self.calibrated_.fit(X, y)
            fitted = self.calibrated_.calibrated_classifiers_[0]
            # Two classes: one calibrator, of the gap's score (more: no shortcut below).
            self.calibrator_ = fitted.calibrators[0] if len(self.classes_) == 2 else None
            additive = fitted.estimator
        else:  # too few examples of a class to calibrate on folds
            self.calibrated_ = additive.fit(X, y)
            self.calibrator_ = None
        self.curves_: list[BSpline] = []
        if len(self.classes_) == 2:  # a gap or not: the case gapdesk scores
            self._keep_curves(additive)
            # An explanation is relative to a typical message: each part's training mean.
            self.typical_parts_ = self._parts(X).mean(axis=0)
        return self

    def _keep_curves(self, additive: Pipeline) -> None:
        """Each feature's curve as one spline, evaluated directly when scoring.

        The same numbers as the fitted pipeline (a test checks), several times cheaper:
        scikit-learn's transform builds the whole basis matrix and checks its input at
        every step, over a millisecond for one message.
        """
        splines, linear = additive[0], additive[-1]
        weights = linear.coef_[0].astype(np.float64).reshape(len(splines.bsplines_), -1)
        self.curves_ = [
            BSpline.construct_fast(basis.t, w, basis.k, extrapolate=False)
            for basis, w in zip(splines.bsplines_, weights, strict=True)
        ]
        # Outside the range seen in training a curve stays at its last value.
        self.curve_ranges_ = [(b.t[b.k], b.t[-b.k - 1]) for b in splines.bsplines_]
        self.intercept_ = float(linear.intercept_[0])

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "calibrated_")
        X = validate_data(self, X, reset=False)
        if len(self.classes_) == 1:
            return np.ones((X.shape[0], 1))
        if not self.curves_:  # more than two classes: no shortcut
            return self.calibrated_.predict_proba(X)
        gap = self._gap_probability(self._parts(X))
        return np.column_stack([1.0 - gap, gap])

    def _gap_probability(self, parts: np.ndarray) -> np.ndarray:
        log_odds = self.intercept_ + parts.sum(axis=1)
        if self.calibrator_ is None:
            return 1.0 / (1.0 + np.exp(-log_odds))
        return np.clip(self.calibrator_.predict(log_odds), 0.0, 1.0)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "calibrated_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _parts(self, X: np.ndarray) -> np.ndarray:
        """Each feature's term of the log-odds (rows x features)."""
        X = np.asarray(X, dtype=np.float64)  # what scipy's splines evaluate
        columns = [
            curve(np.clip(X[:, j], low, high))
            for j, (curve, (low, high)) in enumerate(
                zip(self.curves_, self.curve_ranges_, strict=True)
            )
        ]
        return np.column_stack(columns)

    def explained_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The gap probability of each row, and how far each feature pushes its log-odds
        above a typical message's (0 where it pulls below): one evaluation of the curves
        for both, as scoring a message needs both."""
        check_is_fitted(self, "calibrated_")
        X = validate_data(self, X, reset=False)
        if not self.curves_:
            return self.predict_proba(X)[:, -1], np.zeros_like(X, dtype=float)
        parts = self._parts(X)
        return self._gap_probability(parts), np.maximum(parts - self.typical_parts_, 0.0)


# The shape of a saved GapModel: bumped when older files cannot be scored by this code
# (2: the centroid and spaCy coverage features; 3: the additive spline classifier;
# 4: the LSA features), so loading one says to retrain.
MODEL_FORMAT = 4


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "weight": round(self.weight, 3)}


@dataclass(frozen=True)
class GapScore:
    probability: float
    reasons: list[Reason]
    model_version: str
    latency_ms: float
    # For the decision: the intent whose answer was scored (its costs may differ), and
    # the model's estimate of how often a clarification offers the right topic.
    intent: str | None = None
    clarification_hit_rate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "probability": round(self.probability, 4),
            "reasons": [r.as_dict() for r in self.reasons],
            "model_version": self.model_version,
            "latency_ms": round(self.latency_ms, 2),
        }


@dataclass
class GapModel:
    """A trained, versioned gap model: featurizer + classifier + what it was made from."""

    featurizer: GapFeaturizer
    classifier: GapClassifier
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unversioned"))

    def predict_proba(self, inputs: Sequence[GapInput]) -> np.ndarray:
        """Gap probability of each input."""
        features = self.featurizer.transform(inputs)
        return self.classifier.predict_proba(features)[:, -1]

    def warm_up(self) -> None:
        """Score once, so that what scoring prepares on first use (caches, the sentence
        encoder) is ready now and not inside the first customer's time budget."""
        self.score(GapInput("hello, where is my card?", [("greet", 0.5), ("card_arrival", 0.5)]))

    def score(self, item: GapInput, max_reasons: int = 3) -> GapScore:
        started = time.perf_counter()
        features = self.featurizer.transform([item])
        probabilities, pushes = self.classifier.explained_proba(features)
        probability = float(probabilities[0])
        reasons = explain(item, features[0], pushes[0], self.featurizer)[:max_reasons]
        latency = (time.perf_counter() - started) * 1000
        hit_rate = self.metadata.get("clarification_hit_rate")
        return GapScore(probability, reasons, self.version, latency, item.intent, hit_rate)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.metadata["format"] = MODEL_FORMAT
        joblib.dump(self, path)

    @staticmethod
    def load(path: Path) -> GapModel:
        if not Path(path).is_file():
            raise ModelNotTrainedError(f"no gap model at {path}; run `gapdesk train`")
        model = joblib.load(path)
        if not isinstance(model, GapModel):
            raise ModelNotTrainedError(f"{path} does not hold a gap model")
        if model.metadata.get("format") != MODEL_FORMAT:
            raise ModelNotTrainedError(
                f"{path} was saved by another version of gapdesk; run `gapdesk train`"
            )
        # Another spaCy pipeline (or its blank fallback) reads other lemmas: the coverage
        # features would silently mean something else than in training.
        trained_with = model.featurizer.coverage_.pipeline_
        here = shared_reader(model.featurizer.spacy_model).identity
        if trained_with != here:
            missing = here.startswith(FALLBACK) and not trained_with.startswith(FALLBACK)
            remedy = (
                f"install {model.featurizer.spacy_model} (or run `gapdesk train` to do without)"
                if missing
                else "run `gapdesk train`"
            )
            raise ModelNotTrainedError(
                f"{path} was trained reading messages with {trained_with}, but here they "
                f"are read with {here}: {remedy}"
            )
        return model


def explain(
    item: GapInput, values: np.ndarray, pushes: np.ndarray, featurizer: GapFeaturizer
) -> list[Reason]:
    """Plain-word reasons for the features that pushed this score up, strongest first."""
    names = featurizer.feature_names_
    named = dict(zip(names, values, strict=True))
    intent = item.intent or "no intent"
    runner_up = item.ranking[1][0] if len(item.ranking) > 1 else None
    texts = {
        "top_confidence": (
            "low_confidence",
            f"the NLU was only {named['top_confidence']:.0%} sure the topic is {intent}",
        ),
        "margin": (
            "ambiguous_intents",
            f"two topics were almost equally likely: {intent} and {runner_up}",
        ),
        "ranking_entropy": ("ambiguous_intents", "the NLU spread its belief over many topics"),
        "sim_predicted_intent": (
            "unlike_intent_examples",
            f"the message is unlike the examples the bot learned for {intent}",
        ),
        "sim_any_intent": (
            "unlike_training",
            "the message is unlike anything the bot was trained on (likely out of scope)",
        ),
        "sim_gap_to_best_other": (
            "closer_to_other_intent",
            f"the message is closer to examples of another topic than to {intent}",
        ),
        "neighbour_disagrees": (
            "closer_to_other_intent",
            f"its most similar training example belongs to another topic than {intent}",
        ),
        "unknown_word_share": ("unknown_words", _unknown_words_text(item, featurizer)),
        "log_word_count": ("message_length", "the message is unusually short or long"),
        "sim_out_of_scope": (
            "like_out_of_scope",
            "the message resembles questions this bot cannot answer",
        ),
        "out_of_scope_closer": (
            "like_out_of_scope",
            "the message is closer to questions this bot cannot answer than to its topics",
        ),
        "out_of_scope_probability": (
            "like_out_of_scope",
            "its wording is typical of questions outside this bot's topics",
        ),
        "centroid_predicted_intent": (
            "unlike_intent_examples",
            f"the message is unlike a typical question about {intent}",
        ),
        "uncovered_lemma_share": ("not_covered", ""),  # worded below, naming the words
        "unknown_lemma_share": ("not_covered_anywhere", ""),
        "lsa_predicted_intent": (
            "unlike_intent_examples",
            f"the message is about other things than the examples the bot learned for {intent}",
        ),
        "lsa_any_intent": (
            "unlike_training",
            "the message is about other things than anything the bot was trained on",
        ),
        "lsa_gap_to_best_other": (
            "closer_to_other_intent",
            f"by what it is about, the message is closer to another topic than to {intent}",
        ),
        "lsa_out_of_scope_closer": (
            "like_out_of_scope",
            "by what it is about, the message is closer to questions this bot cannot answer",
        ),
        "meaning_predicted_intent": (
            "unlike_intent_examples",
            f"what the message means is unlike the examples the bot learned for {intent}",
        ),
        "meaning_any_intent": (
            "unlike_training",
            "what the message means is unlike anything the bot was trained on",
        ),
        "meaning_gap_to_best_other": (
            "closer_to_other_intent",
            f"by meaning, the message is closer to another topic than to {intent}",
        ),
        "meaning_out_of_scope_closer": (
            "like_out_of_scope",
            "by meaning, the message is closer to questions this bot cannot answer",
        ),
    }
    holds = {  # a reason is only given when it is true of this message
        "top_confidence": named["top_confidence"] < 0.5,
        "margin": named["margin"] < 0.2 and runner_up is not None,
        "ranking_entropy": named["ranking_entropy"] > 0.5,
        "sim_predicted_intent": True,
        "sim_any_intent": True,
        "sim_gap_to_best_other": named["sim_gap_to_best_other"] < 0,
        "neighbour_disagrees": named["neighbour_disagrees"] > 0,
        "unknown_word_share": named["unknown_word_share"] > 0,
        "log_word_count": True,
        "sim_out_of_scope": True,
        "out_of_scope_closer": named["out_of_scope_closer"] > 0,
        "out_of_scope_probability": named["out_of_scope_probability"] > 0.5,
        "centroid_predicted_intent": True,
        "uncovered_lemma_share": named["uncovered_lemma_share"] > 0,
        "unknown_lemma_share": named["unknown_lemma_share"] > 0,
        "lsa_predicted_intent": True,
        "lsa_any_intent": True,
        "lsa_gap_to_best_other": named["lsa_gap_to_best_other"] < 0,
        "lsa_out_of_scope_closer": named["lsa_out_of_scope_closer"] > 0,
        "meaning_predicted_intent": True,
        "meaning_any_intent": True,
        "meaning_gap_to_best_other": named.get("meaning_gap_to_best_other", 0) < 0,
        "meaning_out_of_scope_closer": named.get("meaning_out_of_scope_closer", 0) > 0,
    }
    reasons: dict[str, Reason] = {}
    for index in np.argsort(-pushes):
        name = names[index]
        if pushes[index] <= 0.05:
            break
        if not holds[name]:
            continue
        code, text = texts[name]
        if code not in reasons:
            text = text or _coverage_text(name, item, featurizer)
            reasons[code] = Reason(code, text, float(pushes[index]))
    return list(reasons.values())


def _coverage_text(name: str, item: GapInput, featurizer: GapFeaturizer) -> str:
    """The words of the message that what the bot knows does not cover, in a sentence.

    Worded only when the reason is given: naming the words looks up the message's
    lemmas again (the reader keeps the last few messages' readings).
    """
    unknown, elsewhere = featurizer.coverage_.uncovered(item)
    if name == "unknown_lemma_share":
        if not unknown:  # only words that may identify someone: not quoted
            return "the question uses words no answer covers"
        them = "it" if len(unknown) == 1 else "them"
        return f"the question mentions {_quoted(unknown)}; no answer covers {them}"
    intent = item.intent or "no intent"
    words = [*unknown, *elsewhere]
    if not words:
        return f"the question uses words the {intent} answer and examples never mention"
    return (
        f"the question mentions {_quoted(words)}, "
        f"which the {intent} answer and examples never mention"
    )


def _quoted(words: Sequence[str], most: int = 3) -> str:
    """'a', 'b' and 'c' (at most ``most`` words)."""
    shown = [f"'{w}'" for w in words[:most]]
    if len(shown) < 2:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _unknown_words_text(item: GapInput, featurizer: GapFeaturizer) -> str:
    unknown = featurizer.unknown_words(item.text)[:4]
    if not unknown:
        return "the message uses words the bot rarely saw in training"
    quoted = ", ".join(f"'{w}'" for w in unknown)
    return f"the message uses words the bot was never trained on: {quoted}"


def data_hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()
