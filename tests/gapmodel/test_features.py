"""Unit tests of gapmodel.features: ranking features and the fitted featurizer."""

from __future__ import annotations

import pytest
from sklearn.exceptions import NotFittedError

from gapmodel.features import FEATURE_NAMES, GapFeaturizer, GapInput, ranking_features

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


def test_without_semantic_features_only_the_lexical_ones_are_made(
    featurizer: GapFeaturizer,
) -> None:
    assert featurizer.feature_names_ == FEATURE_NAMES
