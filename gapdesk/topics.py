"""Unmet needs as topics: the messages the bot could not answer, grouped by what they ask.

A supervisor cannot read a thousand unanswered messages, but can read twenty topics,
each with a name, a size and five typical messages, and turn one into a new intent.
:func:`find_topics` finds those topics; :func:`draft_intent` writes one as a Rasa NLU
draft for review.

How, and why this way:

* **Vectors by meaning.** Messages are embedded with the project's sentence encoder
  (all-MiniLM-L6-v2, :func:`gapmodel.embeddings.shared_encoder`): customers ask the
  same thing in different words, which word counts miss. Without the encoder the
  topics come from tf-idf/LSA vectors instead (warned): they still work, less well.
* **Density clustering** (scikit-learn's HDBSCAN): the number of topics comes from the
  data, and a message in no dense region stays *unclustered* instead of being forced
  into the nearest topic, where it would blur the topic's name and examples.
* **Defaults for any bot**, not tuned to one test set: the smallest topic is 1 % of
  the messages, never fewer than 5 (:func:`default_min_topic_size`). How they were
  chosen, on the BANKING77-OOS id-oos train and valid splits only: ``docs/topics.md``.
* **Names by class-based tf-idf** (c-TF-IDF): the words frequent in a topic and rare
  in the others, stop words and greetings left out.

No database, no settings: the caller passes texts (already redacted) and stores
what it needs of the result.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from gapdesk.datasets import LabelledText, group_by_label, write_rasa_nlu
from gapmodel.embeddings import shared_encoder

logger = logging.getLogger(__name__)

# The smallest topic: a share of the messages, with a floor. A topic is worth an
# intent only if enough customers ask it, and a share scales with the traffic; the
# floor keeps a small sample from splitting into pairs. Chosen on the id-oos train
# and valid splits (docs/topics.md).
MIN_TOPIC_SHARE = 0.01
MIN_TOPIC_FLOOR = 5
# HDBSCAN's min_samples: how many neighbours make a region dense. Small values keep
# more messages in topics; larger ones made fewer, less pure topics on train and valid.
MIN_SAMPLES = 2
EXAMPLES = 5
NAME_TERMS = 3
LSA_DIMENSIONS = 50  # the fallback did best with 50 of 50, 100, 200 on train and valid
UNCLUSTERED = -1
# Words that say nothing of what a customer needs, on top of scikit-learn's English
# stop words: greetings, politeness, how a request is put, and the halves of
# contractions the tokenizer leaves.
FILLER_WORDS = frozenset(
    {"hi", "hello", "hey", "please", "pls", "plz", "thanks", "thank", "thx", "ok", "okay",
     "yes", "yeah", "does", "did", "doing", "want", "need", "know", "like", "just", "tell",
     "let", "help", "really", "don", "didn", "doesn", "isn", "wasn", "aren", "won",
     "wouldn", "couldn", "shouldn", "ve", "ll", "re", "im"}
)  # fmt: skip
# Words scikit-learn's list stops that can name a need ("top up", "bill", "interest"),
# kept for names; a particle only ends a phrase ("top up", not "up" or "up cash").
NEED_WORDS = frozenset(
    {"top", "up", "off", "back", "bill", "amount", "interest", "call", "system", "name",
     "detail", "empty", "full", "move"}
)  # fmt: skip
PARTICLES = frozenset({"up", "ups", "off", "offs", "back"})
NAME_STOP_WORDS = (ENGLISH_STOP_WORDS - NEED_WORDS) | FILLER_WORDS
# Words of two or more letters (any alphabet): digits and punctuation name no topic.
_WORD = r"(?u)\b[^\W\d_]{2,}\b"


@dataclass(frozen=True)
class Topic:
    """One group of messages asking the same thing.

    ``members`` index the texts given to :func:`find_topics`; ``examples`` are the
    (distinct) messages nearest the topic's centre, the most typical ones to show.
    """

    name: str
    terms: tuple[str, ...]
    members: tuple[int, ...]
    examples: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.members)


def default_min_topic_size(n: int) -> int:
    """1 % of ``n`` messages, at least :data:`MIN_TOPIC_FLOOR`."""
    return max(MIN_TOPIC_FLOOR, round(MIN_TOPIC_SHARE * n))


def find_topics(
    texts: Sequence[str],
    *,
    min_topic_size: int | None = None,
    min_samples: int = MIN_SAMPLES,
    vectors: np.ndarray | None = None,
) -> list[Topic]:
    """The topics of ``texts``, largest first; messages in none are left out.

    ``min_topic_size`` defaults to :func:`default_min_topic_size` of ``len(texts)``.
    ``vectors`` (one unit row per text) skips embedding, for callers that have them.
    """
    texts = list(texts)
    size = default_min_topic_size(len(texts)) if min_topic_size is None else min_topic_size
    if size < 2 or min_samples < 1:
        raise ValueError("a topic needs at least 2 messages and min_samples at least 1")
    if len(texts) < size:
        return []
    if vectors is None:
        vectors, _ = message_vectors(texts, lsa_axes(len(texts), size))
    labels = cluster(vectors, size, min_samples)
    return describe(texts, vectors, labels)


def message_vectors(
    texts: Sequence[str], lsa_dimensions: int = LSA_DIMENSIONS
) -> tuple[np.ndarray, str]:
    """Unit vectors of ``texts`` and what made them: the sentence encoder, or LSA
    with at most ``lsa_dimensions`` axes when the encoder is unavailable."""
    encoder = shared_encoder()
    if encoder is None:
        logger.warning(
            "sentence encoder unavailable: topics come from tf-idf/LSA vectors, "
            "which tell apart fewer of them"
        )
        return lsa_vectors(texts, lsa_dimensions), "tf-idf/LSA"
    return encoder.encode(list(texts)), "MiniLM"


def lsa_axes(n: int, min_topic_size: int) -> int:
    """LSA axes for ``n`` messages: one per topic there can be, at most LSA_DIMENSIONS.

    LSA helps by merging words that occur together into fewer axes; a few dozen
    messages kept in as many axes would be plain tf-idf, where two loose topics of
    different words look no farther apart than their own messages do.
    """
    return max(2, min(LSA_DIMENSIONS, n // max(min_topic_size, 1)))


def lsa_vectors(texts: Sequence[str], dimensions: int = LSA_DIMENSIONS) -> np.ndarray:
    """Word tf-idf projected onto at most ``dimensions`` LSA axes, as unit rows.

    The fallback when no sentence encoder is installed, and the benchmark's baseline.
    """
    vectorizer = TfidfVectorizer(
        sublinear_tf=True, stop_words="english", ngram_range=(1, 2), token_pattern=_WORD
    )
    try:
        tfidf = vectorizer.fit_transform(texts)
    except ValueError:  # no words at all (empty, digits only): nothing to tell apart
        return np.zeros((len(texts), 1))
    axes = min(dimensions, tfidf.shape[0] - 1, tfidf.shape[1] - 1)
    if axes < 1:
        return np.asarray(normalize(tfidf).toarray())
    reduced = TruncatedSVD(axes, random_state=0).fit_transform(tfidf)
    return np.asarray(normalize(reduced))


def cluster(vectors: np.ndarray, min_topic_size: int, min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """One topic number per row, :data:`UNCLUSTERED` (-1) for rows in no dense region.

    Euclidean distance between unit vectors orders pairs as cosine similarity does.
    Clusters are selected by "excess of mass", HDBSCAN's default: on the id-oos train
    and valid splits its ten largest topics held more of the messages than "leaf"
    selection's (46 % and 39 % against 41 % and 33 %), still above 0.7 purity.
    """
    if len(vectors) < max(min_topic_size, min_samples, 2):
        return np.full(len(vectors), UNCLUSTERED)
    model = HDBSCAN(
        min_cluster_size=min_topic_size,
        min_samples=min_samples,
        cluster_selection_method="eom",
        copy=True,
    )
    return np.asarray(model.fit_predict(vectors))


def describe(texts: Sequence[str], vectors: np.ndarray, labels: np.ndarray) -> list[Topic]:
    """Topics from cluster numbers (-1: unclustered), named and exemplified, largest first."""
    numbers = sorted(set(labels.tolist()) - {UNCLUSTERED})
    members = [np.flatnonzero(labels == number) for number in numbers]
    terms = topic_terms(texts, members)
    topics = [
        Topic(
            name=", ".join(words) or "unnamed topic",
            terms=words,
            members=tuple(int(i) for i in rows),
            examples=_typical(texts, vectors, rows),
        )
        for rows, words in zip(members, terms, strict=True)
    ]
    return sorted(topics, key=lambda topic: (-topic.size, topic.members[0]))


def topic_terms(
    texts: Sequence[str], members: Sequence[np.ndarray], count: int = NAME_TERMS
) -> list[tuple[str, ...]]:
    """Each topic's most distinctive words by c-TF-IDF against the other topics.

    Each topic's messages are one document; the unclustered messages are one more,
    so that words common everywhere rank low. A word's weight in a topic is its share
    of the topic's words times ``log(1 + average words per document / its count in
    all of them)``.
    """
    if not members:
        return []
    clustered = np.zeros(len(texts), dtype=bool)
    for rows in members:
        clustered[rows] = True
    documents = [" ".join(texts[i] for i in rows) for rows in members]
    documents.append(" ".join(t for t, inside in zip(texts, clustered, strict=True) if not inside))
    vectorizer = CountVectorizer(
        stop_words=sorted(NAME_STOP_WORDS),
        ngram_range=(1, 2),
        token_pattern=_WORD,
        lowercase=True,
    )
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(float)
    except ValueError:  # only stop words: no names to draw
        return [() for _ in members]
    vocabulary = vectorizer.get_feature_names_out()
    frequency = np.maximum(counts.sum(axis=0), 1.0)
    average = counts.sum() / len(documents)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    weights = share * np.log1p(average / frequency)
    return [_pick_terms(vocabulary, row, count) for row in weights[: len(members)]]


def _pick_terms(vocabulary: np.ndarray, weights: np.ndarray, count: int) -> tuple[str, ...]:
    """The ``count`` heaviest terms that do not repeat each other's words.

    A phrase replaces the words it contains ("exchange rate" replaces "exchange"); a
    term that only partly overlaps a chosen one ("app exchange") is skipped, and so is
    one that starts with a particle ("up", "up cash").
    """
    chosen: list[str] = []
    for index in np.argsort(-weights, kind="stable"):
        if weights[index] <= 0 or len(chosen) == count:
            break
        term = str(vocabulary[index])
        if term.split()[0] in PARTICLES:
            continue
        words = _stems(term)
        overlapping = [c for c in chosen if _stems(c) & words]
        if all(_stems(c) < words for c in overlapping):
            chosen = [c for c in chosen if c not in overlapping] + [term]
    return tuple(chosen)


def _stems(term: str) -> set[str]:
    """A term's words, plurals as singulars (enough for names: "rates" is "rate")."""
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in term.split()}  # fmt: skip


def _typical(texts: Sequence[str], vectors: np.ndarray, rows: np.ndarray) -> tuple[str, ...]:
    """The distinct messages nearest the topic's centre (mean vector), nearest first."""
    centre = vectors[rows].mean(axis=0)
    nearest = rows[np.argsort(-(vectors[rows] @ centre), kind="stable")]
    examples: dict[str, str] = {}
    for i in nearest:
        examples.setdefault(texts[i].lower(), texts[i])
        if len(examples) == EXAMPLES:
            break
    return tuple(examples.values())


def intent_name(topic: Topic) -> str:
    """A Rasa intent name from the topic's words: ``exchange_rate_fees``."""
    words = re.findall(r"[a-z0-9]+", " ".join(topic.terms).lower())
    unique = list(dict.fromkeys(words))
    return "_".join(unique) or "new_topic"


def draft_intent(topic: Topic, texts: Sequence[str], path: Path) -> Path:
    """Write ``topic`` as one draft intent of Rasa NLU YAML at ``path`` and return it.

    ``texts`` are the messages the topic's ``members`` index, already redacted by the
    caller. The draft is for a person to review, rename and move into the bot's
    training data; a message repeated (in any case) is written once, as Rasa wants.
    """
    name = intent_name(topic)
    rows = (LabelledText(" ".join(texts[i].split()), name) for i in topic.members)
    note = (
        f"Draft intent from the unmet-needs topic '{topic.name}' ({topic.size} messages).\n"
        "Review it: rename the intent, drop what does not belong, add it to the domain."
    )
    write_rasa_nlu(dict(group_by_label(rows)), path, note)
    return path
