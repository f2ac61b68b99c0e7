"""Unit tests of gapmodel.features: ranking features and the fitted featurizer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from gapmodel.coverage import COVERAGE_FEATURE_NAMES
from gapmodel.features import (
    FEATURE_NAMES,
    LSA_FEATURE_NAMES,
    GapFeaturizer,
    ranking_features,
    tfidf_rows,
)
from gapmodel.types import GapInput

TRAINING = [
    ("where is my new card", "card_arrival"),
    ("my card has not arrived yet", "card_arrival"),
    ("when will my card arrive", "card_arrival"),
    ("what is the exchange rate", "exchange_rate"),
    ("exchange rate for euros", "exchange_rate"),
    ("how much is the exchange rate today", "exchange_rate"),
]


@pytest.fixture(scope="module")
def featurizer() -> GapFeaturizer:
    texts, labels = zip(*TRAINING, strict=True)
    return GapFeaturizer().fit(list(texts), list(labels))


def _features(featurizer: GapFeaturizer, text: str, intent: str) -> dict[str, float]:
    item = GapInput(text, ranking=[(intent, 0.9), ("other", 0.1)])
    return dict(zip(featurizer.feature_names_, featurizer.transform([item])[0], strict=True))


# ranking_features


def test_confident_ranking_has_large_margin_and_low_entropy() -> None:
    top, margin, entropy = ranking_features([("a", 0.96), ("b", 0.03), ("c", 0.01)])
    assert top == pytest.approx(0.96)
    assert margin == pytest.approx(0.93)
    assert entropy < 0.25


def test_torn_ranking_has_no_margin_and_full_entropy() -> None:
    top, margin, entropy = ranking_features([("a", 0.5), ("b", 0.5)])
    assert (top, margin) == (0.5, 0.0)
    assert entropy == pytest.approx(1.0)


def test_empty_ranking_is_maximally_uncertain() -> None:
    assert ranking_features([]) == (0.0, 0.0, 1.0)


def test_single_intent_ranking_has_zero_entropy() -> None:
    assert ranking_features([("a", 0.7)]) == (0.7, 0.7, 0.0)


# GapFeaturizer


def test_output_has_one_column_per_feature_name(featurizer: GapFeaturizer) -> None:
    items = [GapInput("where is my card", [("card_arrival", 0.8)]), GapInput("hi", [])]
    assert featurizer.transform(items).shape == (2, len(featurizer.feature_names_))
    assert featurizer.feature_names_[: len(FEATURE_NAMES)] == FEATURE_NAMES


def test_training_example_is_more_similar_to_its_intent_than_an_unrelated_message(
    featurizer: GapFeaturizer,
) -> None:
    known = _features(featurizer, "when will my card arrive", "card_arrival")
    unrelated = _features(featurizer, "I lost my passport abroad", "card_arrival")
    assert known["sim_predicted_intent"] > unrelated["sim_predicted_intent"]


def test_neighbour_disagrees_when_nearest_example_has_another_label(
    featurizer: GapFeaturizer,
) -> None:
    wrong = _features(featurizer, "what is the exchange rate", "card_arrival")
    right = _features(featurizer, "what is the exchange rate", "exchange_rate")
    assert wrong["neighbour_disagrees"] == 1.0
    assert right["neighbour_disagrees"] == 0.0


def test_closer_to_another_intent_gives_a_negative_similarity_gap(
    featurizer: GapFeaturizer,
) -> None:
    features = _features(featurizer, "what is the exchange rate", "card_arrival")
    assert features["sim_gap_to_best_other"] < 0


def test_unknown_word_share_counts_unseen_words(featurizer: GapFeaturizer) -> None:
    assert _features(featurizer, "where is my card", "card_arrival")["unknown_word_share"] == 0
    half = _features(featurizer, "Where zorbly card fliggle", "card_arrival")
    assert half["unknown_word_share"] == pytest.approx(0.5)


def test_unknown_words_lists_unseen_words_once(featurizer: GapFeaturizer) -> None:
    assert featurizer.unknown_words("zorbly card zorbly fliggle") == ["zorbly", "fliggle"]


def test_word_count_feature_grows_with_message_length(featurizer: GapFeaturizer) -> None:
    short = _features(featurizer, "card", "card_arrival")["log_word_count"]
    long = _features(featurizer, "where is my new card it has not arrived", "card_arrival")
    assert long["log_word_count"] > short > 0


def test_transform_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        GapFeaturizer().transform([GapInput("hi", [("greet", 1.0)])])


def test_semantic_features_rank_a_paraphrase_above_an_unrelated_message() -> None:
    texts, labels = zip(*TRAINING, strict=True)
    featurizer = GapFeaturizer(semantic=True).fit(list(texts), list(labels))
    assert featurizer.semantic_, "the embedding model ships with the project's dependencies"
    intent = TRAINING[0][1]
    paraphrase = _features(featurizer, TRAINING[0][0].upper() + " please", intent)
    unrelated = _features(featurizer, "who painted the mona lisa", intent)
    assert paraphrase["meaning_predicted_intent"] > unrelated["meaning_predicted_intent"]


def test_without_semantic_features_the_lexical_coverage_and_lsa_ones_are_made(
    featurizer: GapFeaturizer,
) -> None:
    assert featurizer.feature_names_ == FEATURE_NAMES + COVERAGE_FEATURE_NAMES + LSA_FEATURE_NAMES


def test_lsa_features_tell_what_a_message_is_about(featurizer: GapFeaturizer) -> None:
    intent = "card_arrival"
    about_it = _features(featurizer, "has my card arrived", intent)
    about_another = _features(featurizer, "the exchange rate please", intent)
    assert about_it["lsa_predicted_intent"] > about_another["lsa_predicted_intent"]
    assert about_another["lsa_gap_to_best_other"] < 0 < about_it["lsa_gap_to_best_other"]
    # No word the space knows: no direction, so no nearness to anything.
    unknown = _features(featurizer, "zzz qqq", intent)
    assert [unknown[name] for name in LSA_FEATURE_NAMES] == [0.0] * len(LSA_FEATURE_NAMES)


@pytest.mark.parametrize("out_of_scope", [["weather"], []])
def test_without_a_word_used_twice_there_is_no_lsa_space_and_no_lsa_signal(
    out_of_scope: list[str],
) -> None:
    featurizer = GapFeaturizer().fit(["hello there", "bye now"], ["greet", "goodbye"], out_of_scope)
    assert featurizer.lsa_words_ is None
    row = _features(featurizer, "hello there", "greet")
    assert [row[name] for name in LSA_FEATURE_NAMES] == [0.0] * len(LSA_FEATURE_NAMES)


def test_without_out_of_scope_examples_nothing_is_closer_to_them() -> None:
    texts, labels = zip(*TRAINING, strict=True)
    featurizer = GapFeaturizer().fit(list(texts), list(labels))
    assert featurizer.lsa_words_ is not None
    for text in ("what is the exchange rate", "who won the match", "rate my new card"):
        assert _features(featurizer, text, "card_arrival")["lsa_out_of_scope_closer"] == 0.0


def test_no_inputs_give_no_rows(featurizer: GapFeaturizer) -> None:
    assert featurizer.transform([]).shape == (0, len(featurizer.feature_names_))


def test_a_message_like_the_intent_as_a_whole_is_nearer_its_centroid(
    featurizer: GapFeaturizer,
) -> None:
    typical = _features(featurizer, "my new card has not arrived", "card_arrival")
    other = _features(featurizer, "my new card has not arrived", "exchange_rate")
    assert typical["centroid_predicted_intent"] > other["centroid_predicted_intent"]
    assert _features(featurizer, "my card", "no_such_intent")["centroid_predicted_intent"] == 0.0


def test_words_the_intent_never_uses_are_uncovered(featurizer: GapFeaturizer) -> None:
    # spaCy lemmas: "arrived" and "cards" are what card_arrival examples say ("arrive").
    covered = _features(featurizer, "my cards arrived", "card_arrival")
    assert covered["uncovered_lemma_share"] == 0.0
    # "cheque" is unknown to every intent, "rate" only to card_arrival.
    cheque = _features(featurizer, "can I deposit a cheque at the rate", "card_arrival")
    assert cheque["uncovered_lemma_share"] == 1.0
    assert cheque["unknown_lemma_share"] == pytest.approx(2 / 3)


def test_answers_count_as_what_the_bot_knows_about_an_intent() -> None:
    texts, labels = zip(*TRAINING, strict=True)
    answers = {"card_arrival": "Cards are delivered by post within a week."}
    featurizer = GapFeaturizer().fit(list(texts), list(labels), answers=answers)
    assert _features(featurizer, "delivered by post", "card_arrival")["uncovered_lemma_share"] == 0


def test_redaction_masks_are_not_words_of_the_message(featurizer: GapFeaturizer) -> None:
    masked = _features(featurizer, "my card [CARD] has not arrived", "card_arrival")
    assert masked["uncovered_lemma_share"] == 0.0


def test_the_fast_domain_probability_equals_the_pipelines() -> None:
    texts, labels = zip(*TRAINING, strict=True)
    out_of_scope = ["what is the weather today", "tell me a joke", "who won the match"]
    featurizer = GapFeaturizer().fit(list(texts), list(labels), out_of_scope)
    assert featurizer.domain_classifier_ is not None
    texts = ("my card has not arrived", "what is the weather like", "", "top up ??")
    expected = featurizer.domain_classifier_.predict_proba(texts)[:, 1]
    fast = featurizer._out_of_scope_probability(list(texts))
    np.testing.assert_allclose(fast, expected, rtol=1e-9)


def test_tfidf_rows_equal_each_vectorizers_own_transform() -> None:
    texts, labels = zip(*TRAINING, strict=True)
    out_of_scope = ["what is the weather today", "tell me a joke", "who won the match"]
    featurizer = GapFeaturizer().fit(list(texts), list(labels), out_of_scope)
    assert featurizer.domain_classifier_ is not None and featurizer.lsa_words_ is not None
    domain_union = featurizer.domain_classifier_[0]
    vectorizers = [
        featurizer.vectorizer_,
        featurizer.lsa_words_,
        *(step for _, step in domain_union.transformer_list),
    ]
    # Known words, repeated words, nothing known at all, and nothing.
    messages = ["my card card has not arrived", "exchange rate rate rate", "zzz qqq", ""]
    for vectorizer in vectorizers:
        fast = tfidf_rows(vectorizer, messages)
        expected = vectorizer.transform(messages)
        assert fast.dtype == expected.dtype
        np.testing.assert_allclose(fast.toarray(), expected.toarray(), rtol=1e-6)
