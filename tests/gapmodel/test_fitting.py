"""Unit tests of gapmodel.fitting: gap labels from cross-validated NLU predictions."""

from __future__ import annotations

import numpy as np

from gapmodel.features import LSA_FEATURE_NAMES, GapFeaturizer
from gapmodel.fitting import (
    OOS_LABEL,
    LiveExample,
    Prediction,
    clarification_hit_rate,
    fit_gap_model,
    fold_features,
    live_features,
)
from gapmodel.knowledge import Answer, KnowledgeBase
from gapmodel.types import GapInput

TRAIN = [
    ("my card has not arrived yet", "card_arrival"),
    ("still waiting for my new card", "card_arrival"),
    ("where is my card", "card_arrival"),
    ("when will my card be delivered", "card_arrival"),
    ("how do I top up by bank transfer", "top_up"),
    ("can I add money with a transfer", "top_up"),
    ("top up my account please", "top_up"),
    ("add money to my account", "top_up"),
]


def _predictions() -> list[Prediction]:
    rows = []
    for index, (text, label) in enumerate(TRAIN * 6):
        wrong = index % 5 == 0
        top = ("top_up" if label == "card_arrival" else "card_arrival") if wrong else label
        other = "card_arrival" if top == "top_up" else "top_up"
        conf = 0.45 if wrong else 0.9
        rows.append(Prediction(text, label, index % 3, [(top, conf), (other, 1 - conf)]))
    for index, text in enumerate(["what's the weather", "tell me a joke", "who won the cup"] * 6):
        rows.append(
            Prediction(text, OOS_LABEL, index % 3, [("top_up", 0.4), ("card_arrival", 0.35)])
        )
    return rows


def test_gap_label_is_wrong_intent_or_out_of_scope() -> None:
    assert Prediction("x", "a", 0, [("b", 0.9)]).is_gap
    assert Prediction("x", OOS_LABEL, 0, [("a", 0.9)]).is_gap
    assert not Prediction("x", "a", 0, [("a", 0.9)]).is_gap
    assert Prediction("x", "a", 0, []).is_gap


def test_fit_gap_model_records_version_and_metrics() -> None:
    model = fit_gap_model(
        _predictions(),
        [t for t, _ in TRAIN],
        [lab for _, lab in TRAIN],
        metadata={"version": "gap-abc", "training_data_hash": "abc"},
    )
    assert model.version == "gap-abc"
    assert model.metadata["training_data_hash"] == "abc"
    assert 0 < model.metadata["gap_rate"] < 1
    assert model.metadata["cv_auroc"] > 0.8
    assert model.metadata["rows"] == len(_predictions())
    # Every wrong prediction ranks the true intent second: a clarification offers it.
    assert model.metadata["clarification_hit_rate"] == 1.0
    score = model.score(GapInput("where is my card", [("card_arrival", 0.9), ("top_up", 0.1)]))
    assert score.intent == "card_arrival"
    assert score.clarification_hit_rate == 1.0


def test_clarification_hit_rate_counts_wrong_intents_with_the_true_one_offered() -> None:
    ranking = [("a", 0.5), ("b", 0.2), ("c", 0.1), ("d", 0.1)]
    predictions = [
        Prediction("x", "a", 0, ranking),  # right: not counted
        Prediction("x", "c", 0, ranking),  # wrong, offered third
        Prediction("x", "d", 0, ranking),  # wrong, not offered
        Prediction("x", OOS_LABEL, 0, ranking),  # out of scope: no topic to offer
        Prediction("x", OOS_LABEL, 0, ranking, unknown_intent="e"),  # hidden intent
    ]
    assert clarification_hit_rate(predictions) == 0.5
    assert clarification_hit_rate(predictions[:1]) is None


def test_the_hit_rate_counts_only_what_the_bot_would_offer() -> None:
    # "b" is small talk (never offered), so the bot's options are a, c and d.
    knowledge_base = KnowledgeBase(
        {
            "a": Answer("a", "A", "about a"),
            "b": Answer("b", "B", "hello", offer_in_clarification=False),
            "c": Answer("c", "C", "about c"),
            "d": Answer("d", "D", "about d"),
        }
    )
    ranking = [("a", 0.5), ("b", 0.2), ("c", 0.1), ("d", 0.1)]
    predictions = [Prediction("x", "d", 0, ranking), Prediction("x", "b", 0, ranking)]
    assert clarification_hit_rate(predictions, knowledge_base) == 0.5
    assert clarification_hit_rate(predictions) == 0.5  # without one: the top three
    assert [a.intent for a in knowledge_base.clarification_options(ranking)] == ["a", "c", "d"]


def test_messages_of_hidden_intents_are_gaps_but_not_out_of_scope_examples() -> None:
    hidden = Prediction("where is my card", OOS_LABEL, 0, [("top_up", 0.6)], "card_arrival")
    assert hidden.is_gap and not hidden.is_out_of_scope_example
    assert Prediction("tell me a joke", OOS_LABEL, 0, [("top_up", 0.4)]).is_out_of_scope_example


def test_the_out_of_scope_index_holds_only_out_of_scope_messages() -> None:
    rows = _predictions()
    hidden_text = TRAIN[0][0]
    rows.append(Prediction(hidden_text, OOS_LABEL, 1, [("top_up", 0.6)], TRAIN[0][1]))
    model = fit_gap_model(rows, [t for t, _ in TRAIN], [lab for _, lab in TRAIN])
    out_of_scope_rows = sum(p.is_out_of_scope_example for p in rows)
    assert model.featurizer.out_of_scope_.shape[1] == out_of_scope_rows  # not the hidden one
    # The in-scope/out-of-scope classifier must call a real intent's message in scope.
    classifier = model.featurizer.domain_classifier_
    assert classifier.predict_proba([hidden_text])[0, 1] < 0.5


def test_each_fold_fits_a_copy_of_the_featurizer_it_is_given() -> None:
    rows, texts, labels = _predictions(), [t for t, _ in TRAIN], [lab for _, lab in TRAIN]
    template = GapFeaturizer(lsa_dimensions=0)
    X = fold_features(rows, texts, labels, template)
    assert not hasattr(template, "index_")  # the template itself stays unfitted
    names = GapFeaturizer().fit(texts, labels).feature_names_
    lsa = [names.index(name) for name in LSA_FEATURE_NAMES]
    assert X.shape == (len(rows), len(names)) and not X[:, lsa].any()
    served = fit_gap_model(rows, texts, labels).featurizer
    assert served.lsa_dimensions_ >= 2


def test_live_turns_join_the_rows_with_their_weights() -> None:
    rows, texts, labels = _predictions(), [t for t, _ in TRAIN], [lab for _, lab in TRAIN]
    # Customers keep asking about crypto, which the NLU calls top_up with confidence:
    # the self-made rows cannot know it is a gap, the live turns say so.
    crypto = [
        LiveExample(
            GapInput(f"can I buy bitcoin {n}", [("top_up", 0.92), ("card_arrival", 0.08)]), True
        )
        for n in range(12)
    ]
    before = fit_gap_model(rows, texts, labels)
    after = fit_gap_model(rows, texts, labels, live=crypto)
    probe = GapInput("can I buy bitcoin today", [("top_up", 0.92), ("card_arrival", 0.08)])
    assert after.metadata["live_rows"] == 12 and before.metadata["live_rows"] == 0
    assert after.metadata["rows"] == len(rows) + 12
    assert after.score(probe).probability > before.score(probe).probability
    light = fit_gap_model(
        rows, texts, labels, live=[LiveExample(c.item, True, 0.05) for c in crypto]
    )
    assert light.score(probe).probability < after.score(probe).probability


def test_a_live_turn_is_featurized_without_its_own_text_in_the_training_data() -> None:
    texts, labels = [t for t, _ in TRAIN], [lab for _, lab in TRAIN]
    # A labelled turn that later became a training example must not look covered.
    seen = LiveExample(GapInput(TRAIN[0][0], [("card_arrival", 0.9), ("top_up", 0.1)]), False)
    featurizer = GapFeaturizer(lsa_dimensions=0).fit(texts, labels)
    fresh = GapFeaturizer(lsa_dimensions=0).fit(texts[1:], labels[1:])
    np.testing.assert_allclose(
        live_features(featurizer, [seen], texts, labels, [], None), fresh.transform([seen.item])
    )
