"""Features of one answered message that tell whether the answer misses the need.

A :class:`GapInput` is what the action server knows at answer time: the message, the
NLU's intent ranking and the candidate answer. :class:`GapFeaturizer` turns inputs
into a numeric matrix; it is fitted on the bot's own training examples so it can say
how near a message is to what the bot was taught.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class GapInput:
    """One bot answer to score."""

    text: str
    ranking: Sequence[tuple[str, float]]
    answer: str | None = None
    previous_texts: Sequence[str] = field(default_factory=tuple)

    @property
    def intent(self) -> str | None:
        return self.ranking[0][0] if self.ranking else None


FEATURE_NAMES = (
    "top_confidence",
    "margin",
    "ranking_entropy",
    "sim_predicted_intent",
    "sim_any_intent",
    "sim_gap_to_best_other",
    "neighbour_disagrees",
    "unknown_word_share",
    "log_word_count",
)


def ranking_features(ranking: Sequence[tuple[str, float]]) -> tuple[float, float, float]:
    """Top confidence, its margin over the runner-up, and the normalised entropy."""
    confidences = [max(float(c), 0.0) for _, c in ranking]
    if not confidences:
        return 0.0, 0.0, 1.0
    top = confidences[0]
    second = confidences[1] if len(confidences) > 1 else 0.0
    total = sum(confidences) or 1.0
    probabilities = [c / total for c in confidences if c > 0]
    entropy = -sum(p * math.log(p) for p in probabilities)
    normaliser = math.log(len(confidences)) if len(confidences) > 1 else 1.0
    return top, top - second, entropy / normaliser


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class GapFeaturizer(TransformerMixin, BaseEstimator):
    """Turns :class:`GapInput` objects into the features in :data:`FEATURE_NAMES`.

    ``fit(texts, labels)`` takes the NLU training examples. Similarity is the cosine of
    character n-gram tf-idf vectors, which copes with typos and unseen inflections.
    """

    def __init__(self, *, ngram_range: tuple[int, int] = (2, 4), neighbours: int = 3) -> None:
        self.ngram_range = ngram_range
        self.neighbours = neighbours

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> GapFeaturizer:
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=self.ngram_range, sublinear_tf=True, min_df=2
        )
        self.matrix_ = self.vectorizer_.fit_transform([t.lower() for t in texts])
        self.labels_ = np.asarray(labels)
        self.intents_ = {label: np.flatnonzero(self.labels_ == label) for label in set(labels)}
        self.vocabulary_ = frozenset(w for t in texts for w in words(t))
        return self

    def transform(self, inputs: Sequence[GapInput]) -> np.ndarray:
        check_is_fitted(self, "matrix_")
        vectors = self.vectorizer_.transform([item.text.lower() for item in inputs])
        similarities = (vectors @ self.matrix_.T).toarray()
        rows = [self._row(item, sims) for item, sims in zip(inputs, similarities, strict=True)]
        return np.asarray(rows, dtype=float).reshape(len(inputs), len(FEATURE_NAMES))

    def _mean_top(self, sims: np.ndarray) -> float:
        if sims.size == 0:
            return 0.0
        k = min(self.neighbours, sims.size)
        return float(np.sort(sims)[-k:].mean())

    def _row(self, item: GapInput, sims: np.ndarray) -> list[float]:
        top, margin, entropy = ranking_features(item.ranking)
        members = self.intents_.get(item.intent or "", np.empty(0, dtype=int))
        sim_predicted = self._mean_top(sims[members])
        sim_any = self._mean_top(sims)
        others = np.setdiff1d(np.arange(sims.size), members, assume_unique=True)
        sim_other = self._mean_top(sims[others])
        nearest = int(np.argmax(sims)) if sims.size else -1
        disagrees = float(nearest >= 0 and self.labels_[nearest] != item.intent)
        tokens = words(item.text)
        unknown = sum(t not in self.vocabulary_ for t in tokens) / len(tokens) if tokens else 1.0
        return [
            top,
            margin,
            entropy,
            sim_predicted,
            sim_any,
            sim_predicted - sim_other,
            disagrees,
            unknown,
            math.log1p(len(tokens)),
        ]

    def unknown_words(self, text: str) -> list[str]:
        """Words of ``text`` never seen in training (for explanations)."""
        check_is_fitted(self, "vocabulary_")
        return [w for w in dict.fromkeys(words(text)) if w not in self.vocabulary_]
