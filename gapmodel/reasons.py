"""Plain-word reasons for a gap score, for the agents who read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from gapmodel.types import GapInput, Reason

if TYPE_CHECKING:
    from gapmodel.features import GapFeaturizer


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
