"""Plain-word reasons for a gap score, for the agents who read them.

One table says, for every feature, which reason it gives, in which words, and when
that reason is true of the message (a feature may push a score up for a message the
reason would misdescribe: a confident NLU is never "only 97 % sure").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gapmodel.types import GapInput, Reason

if TYPE_CHECKING:
    from gapmodel.features import GapFeaturizer

# Only pushes above this (in log-odds) are worth a reason.
_SMALLEST_PUSH = 0.05

Values = Mapping[str, float]


@dataclass(frozen=True)
class _Template:
    """How one feature is given as a reason.

    ``text`` is formatted with ``intent``, ``runner_up`` and ``confidence``; an empty
    ``text`` is worded from the message's own words (:func:`_worded`).
    """

    code: str
    text: str = ""
    holds: Callable[[Values, GapInput], bool] = lambda values, item: True


def _below(feature: str, limit: float) -> Callable[[Values, GapInput], bool]:
    return lambda values, item: values[feature] < limit


def _above(feature: str, limit: float) -> Callable[[Values, GapInput], bool]:
    return lambda values, item: values[feature] > limit


_CLOSER = "closer_to_other_intent"
_OUT_OF_SCOPE = "like_out_of_scope"
_UNLIKE_INTENT = "unlike_intent_examples"
_UNLIKE_TRAINING = "unlike_training"
_REASONS: dict[str, _Template] = {
    "top_confidence": _Template(
        "low_confidence",
        "the NLU was only {confidence:.0%} sure the topic is {intent}",
        _below("top_confidence", 0.5),
    ),
    "margin": _Template(
        "ambiguous_intents",
        "two topics were almost equally likely: {intent} and {runner_up}",
        lambda values, item: values["margin"] < 0.2 and len(item.ranking) > 1,
    ),
    "ranking_entropy": _Template(
        "ambiguous_intents",
        "the NLU spread its belief over many topics",
        _above("ranking_entropy", 0.5),
    ),
    "sim_predicted_intent": _Template(
        _UNLIKE_INTENT, "the message is unlike the examples the bot learned for {intent}"
    ),
    "sim_any_intent": _Template(
        _UNLIKE_TRAINING,
        "the message is unlike anything the bot was trained on (likely out of scope)",
    ),
    "sim_gap_to_best_other": _Template(
        _CLOSER,
        "the message is closer to examples of another topic than to {intent}",
        _below("sim_gap_to_best_other", 0),
    ),
    "neighbour_disagrees": _Template(
        _CLOSER,
        "its most similar training example belongs to another topic than {intent}",
        _above("neighbour_disagrees", 0),
    ),
    "unknown_word_share": _Template("unknown_words", "", _above("unknown_word_share", 0)),
    "log_word_count": _Template("message_length", "the message is unusually short or long"),
    "sim_out_of_scope": _Template(
        _OUT_OF_SCOPE, "the message resembles questions this bot cannot answer"
    ),
    "out_of_scope_closer": _Template(
        _OUT_OF_SCOPE,
        "the message is closer to questions this bot cannot answer than to its topics",
        _above("out_of_scope_closer", 0),
    ),
    "out_of_scope_probability": _Template(
        _OUT_OF_SCOPE,
        "its wording is typical of questions outside this bot's topics",
        _above("out_of_scope_probability", 0.5),
    ),
    "centroid_predicted_intent": _Template(
        _UNLIKE_INTENT, "the message is unlike a typical question about {intent}"
    ),
    "uncovered_lemma_share": _Template("not_covered", "", _above("uncovered_lemma_share", 0)),
    "unknown_lemma_share": _Template("not_covered_anywhere", "", _above("unknown_lemma_share", 0)),
    "lsa_predicted_intent": _Template(
        _UNLIKE_INTENT,
        "the message is about other things than the examples the bot learned for {intent}",
    ),
    "lsa_any_intent": _Template(
        _UNLIKE_TRAINING,
        "the message is about other things than anything the bot was trained on",
    ),
    "lsa_gap_to_best_other": _Template(
        _CLOSER,
        "by what it is about, the message is closer to another topic than to {intent}",
        _below("lsa_gap_to_best_other", 0),
    ),
    "lsa_out_of_scope_closer": _Template(
        _OUT_OF_SCOPE,
        "by what it is about, the message is closer to questions this bot cannot answer",
        _above("lsa_out_of_scope_closer", 0),
    ),
    "meaning_predicted_intent": _Template(
        _UNLIKE_INTENT,
        "what the message means is unlike the examples the bot learned for {intent}",
    ),
    "meaning_any_intent": _Template(
        _UNLIKE_TRAINING, "what the message means is unlike anything the bot was trained on"
    ),
    "meaning_gap_to_best_other": _Template(
        _CLOSER,
        "by meaning, the message is closer to another topic than to {intent}",
        _below("meaning_gap_to_best_other", 0),
    ),
    "meaning_out_of_scope_closer": _Template(
        _OUT_OF_SCOPE,
        "by meaning, the message is closer to questions this bot cannot answer",
        _above("meaning_out_of_scope_closer", 0),
    ),
}


def explain(
    item: GapInput, values: np.ndarray, pushes: np.ndarray, featurizer: GapFeaturizer
) -> list[Reason]:
    """Plain-word reasons for the features that pushed this score up, strongest first.

    One reason per code: the strongest feature that gives it, when it holds.
    """
    names = featurizer.feature_names_
    named = dict(zip(names, (float(v) for v in values), strict=True))
    words = {
        "intent": item.intent or "no intent",
        "runner_up": item.ranking[1][0] if len(item.ranking) > 1 else None,
        "confidence": named.get("top_confidence", 0.0),
    }
    reasons: dict[str, Reason] = {}
    for index in np.argsort(-pushes):
        if pushes[index] <= _SMALLEST_PUSH:
            break
        name = names[index]
        template = _REASONS[name]
        if template.code in reasons or not template.holds(named, item):
            continue
        text = template.text.format(**words) if template.text else _worded(name, item, featurizer)
        reasons[template.code] = Reason(template.code, text, float(pushes[index]))
    return list(reasons.values())


def _worded(name: str, item: GapInput, featurizer: GapFeaturizer) -> str:
    """The reasons that name the message's own words."""
    if name == "unknown_word_share":
        return _unknown_words_text(item, featurizer)
    return _coverage_text(name, item, featurizer)


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
