from __future__ import annotations

import sys
import types
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import check_estimator

from gapmodel.classifier import GapClassifier
from gapmodel.errors import ModelNotTrainedError
from gapmodel.features import GapFeaturizer
from gapmodel.model import GapModel
from gapmodel.reasons import explain
from gapmodel.types import GapInput


def test_gap_classifier_follows_the_scikit_learn_contract() -> None:
    check_estimator(GapClassifier())


def test_gap_classifier_separates_and_calibrates() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=2000) > 0.8).astype(int)
    classifier = GapClassifier().fit(X[:1500], y[:1500])
    probabilities = classifier.predict_proba(X[1500:])[:, 1]
    assert roc_auc_score(y[1500:], probabilities) > 0.9
    # calibrated: the mean predicted probability is close to the observed rate
    assert abs(probabilities.mean() - y[1500:].mean()) < 0.05


def test_gap_classifier_learns_a_curve_a_straight_line_cannot() -> None:
    # Gaps at both ends of a feature (very short and very long messages, say).
    rng = np.random.default_rng(1)
    X = rng.uniform(-3, 3, size=(3000, 2))
    y = (np.abs(X[:, 0]) + 0.3 * rng.normal(size=3000) > 2).astype(int)
    probabilities = GapClassifier().fit(X[:2000], y[:2000]).predict_proba(X[2000:])[:, 1]
    assert roc_auc_score(y[2000:], probabilities) > 0.95


def test_sample_weights_count_like_repeated_rows() -> None:
    # Live turns join the self-made rows with weights below 1: a weight of 2 must
    # mean what the same row given twice means, in the splines and the calibration.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 2))
    y = (X[:, 0] + rng.normal(size=600) > 0.5).astype(int)
    weights = np.where(np.arange(600) % 3 == 0, 2.0, 1.0)
    repeated = np.concatenate([np.arange(600), np.flatnonzero(weights == 2.0)])
    splits = [
        (np.arange(0, 600, 2), np.arange(1, 600, 2)),
        (np.arange(1, 600, 2), np.arange(0, 600, 2)),
    ]
    splits_repeated = [
        (np.flatnonzero(np.isin(repeated, a)), np.flatnonzero(np.isin(repeated, b)))
        for a, b in splits
    ]
    weighted = GapClassifier(cv=splits).fit(X, y, sample_weight=weights)
    copied = GapClassifier(cv=splits_repeated).fit(X[repeated], y[repeated])
    probe = rng.normal(size=(50, 2))
    np.testing.assert_allclose(
        weighted.predict_proba(probe), copied.predict_proba(probe), atol=1e-4
    )
    unweighted = GapClassifier(cv=splits).fit(X, y)
    assert not np.allclose(weighted.predict_proba(probe), unweighted.predict_proba(probe))


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
def test_scoring_shortcut_gives_the_fitted_pipelines_numbers(calibration: str) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(800, 4))
    X[:, 3] = 0.0  # a feature that never varies (no out-of-scope examples, say)
    y = (X[:, 0] ** 2 + X[:, 1] + rng.normal(size=800) > 1).astype(int)
    classifier = GapClassifier(calibration=calibration).fit(X, y)
    beyond_training = rng.normal(size=(100, 4)) * 3
    np.testing.assert_allclose(
        classifier.predict_proba(beyond_training),
        classifier.calibrated_.predict_proba(beyond_training),
        atol=1e-9,
    )


def test_contributions_are_the_exact_parts_of_the_log_odds() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(800, 3))
    y = (X[:, 0] - X[:, 2] + rng.normal(size=800) > 0.5).astype(int)
    classifier = GapClassifier().fit(X, y)
    message = np.array([[2.0, 0.0, -2.0]])  # far on the gap side of features 0 and 2
    probability, pushes = classifier.explained_proba(message)
    assert probability == pytest.approx(classifier.predict_proba(message)[:, 1], abs=1e-12)
    pushes = pushes[0]
    assert pushes[0] > 0.5 and pushes[2] > 0.5 and pushes[1] < 0.2
    # The parts add up to the fitted pipeline's own log-odds: nothing is approximated.
    pipeline = classifier.calibrated_.calibrated_classifiers_[0].estimator
    assert classifier.intercept_ + classifier._parts(message).sum() == pytest.approx(
        pipeline.decision_function(message)[0], abs=1e-9
    )


TRAIN = [
    ("my card has not arrived yet", "card_arrival"),
    ("still waiting for my new card", "card_arrival"),
    ("when will my card be delivered", "card_arrival"),
    ("how do I top up by bank transfer", "top_up"),
    ("can I add money with a transfer", "top_up"),
    ("top up my account please", "top_up"),
]


def _model() -> GapModel:
    featurizer = GapFeaturizer().fit([t for t, _ in TRAIN], [lab for _, lab in TRAIN])
    inputs = [
        GapInput("my card has not arrived", [("card_arrival", 0.9), ("top_up", 0.1)]),
        GapInput("top up my account", [("top_up", 0.85), ("card_arrival", 0.15)]),
        GapInput("what is the weather", [("top_up", 0.4), ("card_arrival", 0.35)]),
        GapInput("tell me a joke", [("card_arrival", 0.45), ("top_up", 0.4)]),
    ] * 10
    y = np.array([0, 0, 1, 1] * 10)
    classifier = GapClassifier().fit(featurizer.transform(inputs), y)
    return GapModel(featurizer, classifier, {"version": "gap-test"})


def test_model_scores_out_of_scope_higher_with_reasons_in_words() -> None:
    model = _model()
    good = model.score(
        GapInput("my card has not arrived yet", [("card_arrival", 0.93), ("top_up", 0.07)])
    )
    bad = model.score(
        GapInput("what is the capital of peru", [("top_up", 0.38), ("card_arrival", 0.33)])
    )
    assert bad.probability > good.probability
    assert bad.model_version == "gap-test"
    assert bad.reasons, "a high score must come with reasons"
    assert all(isinstance(r.text, str) and r.text for r in bad.reasons)
    codes = {r.code for r in bad.reasons}
    assert codes & {"low_confidence", "ambiguous_intents", "unlike_training", "unknown_words"}


def test_confident_in_scope_answer_gets_no_misleading_reasons() -> None:
    score = _model().score(
        GapInput("still waiting for my new card", [("card_arrival", 0.97), ("top_up", 0.03)])
    )
    assert "low_confidence" not in {r.code for r in score.reasons}
    assert "ambiguous_intents" not in {r.code for r in score.reasons}


def test_a_score_carries_the_features_it_was_computed_from() -> None:
    model = _model()
    item = GapInput("where is my card", [("card_arrival", 0.6), ("top_up", 0.4)])
    score = model.score(item)
    assert list(score.features) == list(model.featurizer.feature_names_)
    assert list(score.features.values()) == pytest.approx(
        model.featurizer.transform([item])[0].tolist()
    )
    stored = score.as_dict()["features"]  # what the turn keeps, for the reports
    assert stored == {name: round(value, 4) for name, value in score.features.items()}


def test_model_round_trips_through_a_file(tmp_path: Path) -> None:
    model = _model()
    model.save(tmp_path / "gap.joblib")
    loaded = GapModel.load(tmp_path / "gap.joblib")
    item = GapInput("top up please", [("top_up", 0.8), ("card_arrival", 0.2)])
    assert loaded.score(item).probability == pytest.approx(model.score(item).probability)


def test_loading_a_model_of_another_version_says_to_retrain(tmp_path: Path) -> None:
    model = _model()
    joblib.dump(model, tmp_path / "old.joblib")  # saved without the format of this code
    with pytest.raises(ModelNotTrainedError, match="another version"):
        GapModel.load(tmp_path / "old.joblib")


def test_a_model_saved_by_the_old_layout_says_to_retrain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files saved before the model classes moved pickle ``gapmodel.scorer.GapModel``."""
    old_module = types.ModuleType("gapmodel.scorer")

    class OldGapModel:  # what gapmodel/scorer.py defined, as far as pickle cares
        pass

    OldGapModel.__module__, OldGapModel.__qualname__ = "gapmodel.scorer", "GapModel"
    old_module.GapModel = OldGapModel  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gapmodel.scorer", old_module)
    joblib.dump(OldGapModel(), tmp_path / "gap-old.joblib")
    monkeypatch.delitem(sys.modules, "gapmodel.scorer")  # the module is gone, as after the move

    with pytest.raises(ModelNotTrainedError, match="another version of gapdesk.*gapdesk train"):
        GapModel.load(tmp_path / "gap-old.joblib")


def test_a_model_that_read_with_another_spacy_pipeline_says_to_retrain(tmp_path: Path) -> None:
    model = _model()
    model.featurizer.coverage_.pipeline_ = "en_other_pipeline 1.0.0 on spaCy 3.0.0"
    model.save(tmp_path / "gap.joblib")
    with pytest.raises(ModelNotTrainedError, match="en_other_pipeline.*gapdesk train"):
        GapModel.load(tmp_path / "gap.joblib")


def test_loading_a_missing_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(ModelNotTrainedError, match="gapdesk train"):
        GapModel.load(tmp_path / "missing.joblib")


def _reasons_pushed_by(feature: str, item: GapInput) -> list[str]:
    """The reason texts when only ``feature`` pushed the score up."""
    model = _model()
    names = model.featurizer.feature_names_
    values = model.featurizer.transform([item])[0]
    pushes = np.array([1.0 if name == feature else 0.0 for name in names])
    return [r.text for r in explain(item, values, pushes, model.featurizer)]


def test_a_question_no_answer_covers_is_explained_by_its_words() -> None:
    item = GapInput("can I deposit cheques here", [("top_up", 0.6), ("card_arrival", 0.3)])
    assert _reasons_pushed_by("unknown_lemma_share", item) == [
        "the question mentions 'deposit' and 'cheque'; no answer covers them"
    ]


def test_words_of_another_topic_are_named_with_the_predicted_intent() -> None:
    item = GapInput("transfer money to my card", [("card_arrival", 0.6), ("top_up", 0.3)])
    assert _reasons_pushed_by("uncovered_lemma_share", item) == [
        "the question mentions 'transfer' and 'money', which the card_arrival answer and "
        "examples never mention"
    ]


def test_reasons_never_quote_words_that_may_identify_someone() -> None:
    item = GapInput(
        "I am John Smith of 12 Baker Street, Leeds: can I deposit cheques",
        [("top_up", 0.6), ("card_arrival", 0.3)],
    )
    [reason] = _reasons_pushed_by("unknown_lemma_share", item)
    assert reason == "the question mentions 'deposit' and 'cheque'; no answer covers them"
    only_a_name = GapInput("Mr Ingleby Worthington", [("top_up", 0.6)])
    assert _reasons_pushed_by("unknown_lemma_share", only_a_name) == [
        "the question uses words no answer covers"
    ]


def test_warming_up_loads_the_spacy_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first customer's score must not pay for loading spaCy (its time budget is short)."""
    from gapmodel import coverage

    model = _model()
    monkeypatch.setattr(coverage, "_readers", {})  # as in a fresh action server
    model.warm_up()
    assert coverage._readers and all(r._nlp is not None for r in coverage._readers.values())


def test_every_feature_can_be_given_as_a_reason_in_words() -> None:
    # A feature missing from explain's tables would raise only when it first pushes a
    # score up enough, in production: here every feature pushes, and each one's
    # condition holds (confidences and gaps to other intents low, the rest high).
    texts = ["where is my new card", "my card has not arrived", "exchange rate for euros"]
    featurizer = GapFeaturizer(semantic=True).fit(
        texts, ["card_arrival", "card_arrival", "exchange_rate"], ["tell me a joke"]
    )
    names = featurizer.feature_names_
    assert any(name.startswith("meaning_") for name in names)
    low = ("top_confidence", "margin", "gap_to_best_other")
    values = np.array([-1.0 if name.endswith(low) else 1.0 for name in names])
    item = GapInput("my cheque bounced", [("card_arrival", 0.4), ("exchange_rate", 0.3)])
    reasons = explain(item, values, np.ones(len(names)), featurizer)
    assert {reason.code for reason in reasons} >= {"low_confidence", "like_out_of_scope"}
    assert all(reason.text for reason in reasons)
