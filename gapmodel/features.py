"""Features of one answered message that tell whether the answer misses the need.

A :class:`GapInput` is what the action server knows at answer time: the message and
the NLU's intent ranking. :class:`GapFeaturizer` turns inputs
into a numeric matrix; it is fitted on the bot's own training examples so it can say
how near a message is to what the bot was taught, and (with spaCy, see
:mod:`gapmodel.coverage`) whether what the bot knows about the predicted intent covers
what the message talks about.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.utils.validation import check_is_fitted

from gapmodel.coverage import COVERAGE_FEATURE_NAMES, DEFAULT_SPACY_MODEL, CoverageFeaturizer
from gapmodel.embeddings import shared_encoder
from gapmodel.errors import ConfigurationError
from gapmodel.types import GapInput, words

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
    "sim_out_of_scope",
    "out_of_scope_closer",
    "out_of_scope_probability",
    "centroid_predicted_intent",
)
# How near a message is, in a vector space, to the predicted intent's examples, to any
# intent's, to the best other intent's rather than the predicted one's, and to
# out-of-scope examples rather than any intent's (GapFeaturizer._nearness).
_NEARNESS = ("predicted_intent", "any_intent", "gap_to_best_other", "out_of_scope_closer")
# In a latent semantic analysis (LSA) space learned from the words of the bot's examples
# and out-of-scope examples: messages that share no wording but are worded like each
# other's neighbours come out close.
LSA_FEATURE_NAMES = tuple(f"lsa_{name}" for name in _NEARNESS)
# With sentence embeddings (gapmodel/embeddings.py): the same questions asked by meaning.
SEMANTIC_FEATURE_NAMES = tuple(f"meaning_{name}" for name in _NEARNESS)


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


def tfidf_rows(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> sparse.csr_matrix:
    """``vectorizer.transform(texts)``, computed from its fitted parts.

    The same numbers without scikit-learn's input checks, which cost about half a
    millisecond per vectorizer and message; four vectorizers read every scored message
    (tests/gapmodel/test_features.py checks both agree).
    """
    if vectorizer.norm not in ("l2", None):
        return vectorizer.transform(texts)
    # CountVectorizer's own transform: the vocabulary lookup, with ``binary`` applied.
    counts = CountVectorizer.transform(vectorizer, texts).astype(vectorizer.dtype)
    data = counts.data
    if vectorizer.sublinear_tf:
        np.log(data, out=data)
        data += 1
    if vectorizer.use_idf:
        data *= vectorizer.idf_[counts.indices]
    if vectorizer.norm == "l2":
        row_of = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=counts.shape[0]))
        data /= np.where(norms > 0, norms, 1.0)[row_of]
    return counts


class GapFeaturizer(BaseEstimator):
    """Turns :class:`GapInput` objects into the features named by ``feature_names_``.

    A scikit-learn estimator for its parameters (``clone``, ``set_params``), but not a
    transformer: ``fit`` learns from training texts and ``transform`` reads
    :class:`GapInput` objects, so there is no ``fit_transform`` and no place in a
    ``Pipeline``.

    ``fit(texts, labels, out_of_scope)`` takes the NLU training examples and examples
    of messages the bot cannot answer. Lexical similarity is the cosine of character
    n-gram tf-idf vectors, which copes with typos and unseen inflections; the same
    comparisons are made again in an LSA space of at most ``lsa_dimensions`` learned
    from the examples' words (measured on BANKING77-OOS: +0.005 AUROC without the bot's
    own out-of-scope examples, +0.002 with them; below 2 dimensions, none is made);
    with ``semantic=True`` (and the embedding model installed) sentence embeddings add
    them by meaning. ``answers`` (``{intent: answer text}``) count as what the bot knows
    about an intent for the coverage features.
    """

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (2, 4),
        neighbours: int = 3,
        lsa_dimensions: int = 100,
        semantic: bool = False,
        spacy_model: str = DEFAULT_SPACY_MODEL,
    ) -> None:
        self.ngram_range = ngram_range
        self.neighbours = neighbours
        self.lsa_dimensions = lsa_dimensions
        self.semantic = semantic
        self.spacy_model = spacy_model

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        out_of_scope: Sequence[str] = (),
        answers: Mapping[str, str] | None = None,
    ) -> GapFeaturizer:
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=self.ngram_range, sublinear_tf=True, min_df=2
        )
        self.vectorizer_.fit([t.lower() for t in [*texts, *out_of_scope]])
        # Stored transposed (features x examples, CSR): a message's similarities are then
        # one sparse row-times-matrix product, ~30x faster than against the original.
        self.index_ = self.vectorizer_.transform([t.lower() for t in texts]).T.tocsr()
        self.out_of_scope_ = (
            self.vectorizer_.transform([t.lower() for t in out_of_scope])
            if out_of_scope
            else sparse.csr_matrix((0, self.index_.shape[0]))
        ).T.tocsr()
        self.domain_classifier_ = self._fit_domain_classifier(texts, out_of_scope)
        self.labels_ = np.asarray(labels)
        self.intents_ = {label: self.labels_ == label for label in set(labels)}
        self.centroids_ = self._centroids()
        self.coverage_ = CoverageFeaturizer(spacy_model=self.spacy_model).fit(
            texts, labels, answers
        )
        self.vocabulary_ = frozenset(w for t in texts for w in words(t))
        self.lsa_words_, self.lsa_projection_ = self._fit_lsa([*texts, *out_of_scope])
        self.lsa_dimensions_ = self.lsa_projection_.shape[1]
        self.lsa_index_ = np.ascontiguousarray(self._in_lsa(texts).T)  # (dimensions, examples)
        self.lsa_out_of_scope_ = np.ascontiguousarray(self._in_lsa(out_of_scope).T)
        encoder = shared_encoder() if self.semantic else None
        self.semantic_ = encoder is not None
        if encoder is not None:
            self.embeddings_ = encoder.encode(list(texts), remember=True).T  # (384, examples)
            self.out_of_scope_embeddings_ = encoder.encode(list(out_of_scope), remember=True).T
        self.feature_names_ = (
            FEATURE_NAMES
            + COVERAGE_FEATURE_NAMES
            + LSA_FEATURE_NAMES
            + (SEMANTIC_FEATURE_NAMES if self.semantic_ else ())
        )
        return self

    def _centroids(self) -> dict[str, np.ndarray]:
        """Each intent's typical message: the normalised mean of its examples' vectors.

        Nearest examples say whether one example resembles the message; the centroid
        says whether the message is like the intent as a whole, which tells on-topic
        questions the bot has no intent for from its own (measured: +0.015 AUROC on
        BANKING77-OOS without the bot's own out-of-scope examples).
        """
        centroids = {}
        for label, members in self.intents_.items():
            mean = np.asarray(self.index_[:, members].mean(axis=1)).ravel()
            centroids[label] = (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)
        return centroids

    def _fit_lsa(self, texts: Sequence[str]) -> tuple[TfidfVectorizer | None, np.ndarray]:
        """Word tf-idf and its projection onto the LSA dimensions (truncated SVD).

        The projection is kept as a plain (words x dimensions) array: a message is then
        one sparse-times-dense product of one dtype, where the SVD's own transform copies
        its components for every message (2 ms of a score). Fewer than 2 dimensions
        (asked for, or all that the texts' words allow) give no vectorizer and an empty
        projection: every message's LSA vector is empty, and its features 0.
        """
        none = None, np.zeros((0, 0), dtype=np.float32)
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32
        )
        try:
            vectors = vectorizer.fit_transform(texts)
        except ValueError:  # no word occurs in two texts
            return none
        dimensions = min(self.lsa_dimensions, vectors.shape[1] - 1, vectors.shape[0] - 1)
        if dimensions < 2:
            return none
        svd = TruncatedSVD(dimensions, random_state=0).fit(vectors)
        return vectorizer, np.ascontiguousarray(svd.components_.T, dtype=np.float32)

    def _in_lsa(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts`` in the LSA space (empty without one)."""
        if self.lsa_words_ is None:
            return np.zeros((len(texts), 0), dtype=np.float32)
        vectors = np.asarray(tfidf_rows(self.lsa_words_, texts) @ self.lsa_projection_)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9, None)

    @staticmethod
    def _fit_domain_classifier(
        texts: Sequence[str], out_of_scope: Sequence[str]
    ) -> Pipeline | None:
        """Words and character n-grams that tell in-scope messages from out-of-scope ones."""
        if not out_of_scope:
            return None
        features = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2),
        )
        classifier = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
        y = [0] * len(texts) + [1] * len(out_of_scope)
        return make_pipeline(features, classifier).fit([*texts, *out_of_scope], y)

    def transform(self, inputs: Sequence[GapInput]) -> np.ndarray:
        check_is_fitted(self, "index_")
        vectors = tfidf_rows(self.vectorizer_, [item.text.lower() for item in inputs])
        similarities = (vectors @ self.index_).toarray()
        oos_similarities = (vectors @ self.out_of_scope_).toarray()
        if self.domain_classifier_ is None:
            oos_probability = np.zeros(len(inputs))
        else:
            oos_probability = self._out_of_scope_probability([item.text for item in inputs])
        rows = [
            [*self._row(item, sims, oos), p_oos, self._centroid_similarity(item, vector)]
            for item, sims, oos, p_oos, vector in zip(
                inputs, similarities, oos_similarities, oos_probability, vectors, strict=True
            )
        ]
        lexical = np.asarray(rows, dtype=float).reshape(len(inputs), len(FEATURE_NAMES))
        in_lsa = self._in_lsa([item.text for item in inputs])
        blocks = [
            lexical,
            self.coverage_.transform(inputs),
            self._nearness(inputs, in_lsa, self.lsa_index_, self.lsa_out_of_scope_),
        ]
        if self.semantic_:
            blocks.append(self._semantic(inputs))
        return np.hstack(blocks)

    def _out_of_scope_probability(self, texts: list[str]) -> np.ndarray:
        """The domain classifier's P(out of scope), computed from its fitted parts.

        The same numbers as ``domain_classifier_.predict_proba``, without the input
        checks of each pipeline step: those cost a millisecond per message, a sixth of
        a score (tests/gapmodel/test_features.py checks both agree).
        """
        pipeline: Any = self.domain_classifier_
        union, classifier = pipeline[0], pipeline[-1]
        vectors = sparse.hstack([tfidf_rows(step, texts) for _, step in union.transformer_list])
        logits = vectors @ classifier.coef_[0] + classifier.intercept_[0]
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=float).ravel()

    def _semantic(self, inputs: Sequence[GapInput]) -> np.ndarray:
        encoder = shared_encoder()
        if encoder is None:
            raise ConfigurationError(
                "this gap model uses sentence embeddings, which cannot be loaded here"
            )
        vectors = encoder.encode([item.text for item in inputs])
        return self._nearness(inputs, vectors, self.embeddings_, self.out_of_scope_embeddings_)

    def _nearness(
        self,
        inputs: Sequence[GapInput],
        vectors: np.ndarray,
        examples: np.ndarray,
        out_of_scope: np.ndarray,
    ) -> np.ndarray:
        """Nearness to the predicted intent, to any, to the best other, to out of scope.

        ``vectors`` are the messages', ``examples`` and ``out_of_scope`` the training
        examples' (one column each), all unit length. Without out-of-scope examples
        nothing is closer to them (0), whatever the sign of the other similarities.
        """
        similarities = vectors @ examples
        oos_similarities = vectors @ out_of_scope
        rows = []
        for item, sims, oos in zip(inputs, similarities, oos_similarities, strict=True):
            members = self.intents_.get(item.intent or "")
            if members is None:
                members = np.zeros(sims.size, dtype=bool)
            predicted, anywhere = self._mean_top(sims[members]), self._mean_top(sims)
            other = self._mean_top(sims[~members])
            oos_closer = self._mean_top(oos) - anywhere if oos.size else 0.0
            rows.append([predicted, anywhere, predicted - other, oos_closer])
        return np.asarray(rows, dtype=float).reshape(len(inputs), len(_NEARNESS))

    def _centroid_similarity(self, item: GapInput, vector: sparse.csr_matrix) -> float:
        centroid = self.centroids_.get(item.intent or "")
        return 0.0 if centroid is None else float((vector @ centroid)[0])

    def _mean_top(self, sims: np.ndarray) -> float:
        if sims.size == 0:
            return 0.0
        k = min(self.neighbours, sims.size)
        return float(np.partition(sims, sims.size - k)[-k:].mean())

    def _row(self, item: GapInput, sims: np.ndarray, oos_sims: np.ndarray) -> list[float]:
        top, margin, entropy = ranking_features(item.ranking)
        members = self.intents_.get(item.intent or "")
        if members is None:
            members = np.zeros(sims.size, dtype=bool)
        sim_predicted = self._mean_top(sims[members])
        sim_any = self._mean_top(sims)
        sim_other = self._mean_top(sims[~members])
        # No similar example at all counts as disagreement: nothing supports the intent.
        nearest = int(np.argmax(sims)) if sims.size else -1
        disagrees = float(nearest < 0 or sims[nearest] <= 0 or self.labels_[nearest] != item.intent)
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
            self._mean_top(oos_sims),
            self._mean_top(oos_sims) - sim_any,
        ]

    def unknown_words(self, text: str) -> list[str]:
        """Words of ``text`` never seen in training (for explanations)."""
        check_is_fitted(self, "vocabulary_")
        return [w for w in dict.fromkeys(words(text)) if w not in self.vocabulary_]
