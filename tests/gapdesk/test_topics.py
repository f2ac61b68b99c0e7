"""Unmet needs as topics: obvious topics are found, named from their words, drafted."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import yaml

from gapdesk import topics
from gapdesk.datasets import read_rasa_nlu
from gapdesk.topics import Topic, default_min_topic_size, draft_intent, find_topics, intent_name

EXCHANGE = [
    "what is your exchange rate for euros",
    "what exchange rate do you use",
    "how is the exchange rate calculated",
    "where can i see today's exchange rate",
    "is the exchange rate the same on weekends",
    "which exchange rate applies to dollars",
    "why is your exchange rate so bad",
    "does the exchange rate change during the day",
    "what exchange rate will i get for pounds",
    "tell me the exchange rate for yen",
]
LOST_CARD = [
    "i lost my card",
    "my card was stolen",
    "someone stole my card yesterday",
    "i can't find my card, i think i lost it",
    "my wallet with my card was stolen",
    "what do i do if my card is lost",
    "i think i lost my card on the bus",
    "my card got stolen at the station",
    "report a lost card",
    "report a stolen card please",
]
CLOSE_ACCOUNT = [
    "how do i close my account",
    "i want to close my account",
    "please delete my account",
    "can you close my account today",
    "i'd like to delete my account and data",
    "how can i delete my account",
    "close my account now",
    "i no longer want my account, close it",
    "delete my account please",
    "what happens when i close my account",
]
NOISE = [
    "what's the weather in lisbon",
    "recommend a good film",
    "who won the football last night",
    "how tall is mount everest",
    "best pizza place nearby",
]
TRUE_TOPICS = {"exchange": EXCHANGE, "lost": LOST_CARD, "close": CLOSE_ACCOUNT}


def _messages() -> tuple[list[str], list[str]]:
    """The three topics interleaved with the noise, as live traffic arrives."""
    texts, labels = [], []
    for i in range(10):
        for name, messages in TRUE_TOPICS.items():
            texts.append(messages[i])
            labels.append(name)
        if i < len(NOISE):
            texts.append(NOISE[i])
            labels.append("noise")
    return texts, labels


def _majorities(found: list[Topic], labels: list[str]) -> list[str]:
    """Each topic's most common true topic; every topic must be mostly that one."""
    majorities = []
    for topic in found:
        members = [labels[i] for i in topic.members]
        majority = max(set(members), key=members.count)
        assert members.count(majority) / topic.size >= 0.8, (topic.name, members)
        majorities.append(majority)
    return majorities


def test_three_obvious_topics_and_noise_are_split_into_those_topics() -> None:
    texts, labels = _messages()
    found = find_topics(texts)
    assert sorted(_majorities(found, labels)) == sorted(TRUE_TOPICS)
    assert all(t.size >= 8 for t in found)
    clustered = {i for topic in found for i in topic.members}
    assert all(labels[i] != "noise" for i in clustered), "noise is left unclustered"
    assert [t.size for t in found] == sorted((t.size for t in found), reverse=True)
    for topic in found:
        assert len(topic.examples) == topics.EXAMPLES
        assert set(topic.examples) <= {texts[i] for i in topic.members}


def test_names_are_drawn_from_each_topics_own_words() -> None:
    texts, labels = _messages()
    for topic in find_topics(texts):
        members = [labels[i] for i in topic.members]
        majority = max(set(members), key=members.count)
        own_words = " ".join(TRUE_TOPICS[majority]).lower()
        assert topic.terms and topic.name == ", ".join(topic.terms)
        for term in topic.terms:
            assert all(word in own_words for word in term.split()), (term, majority)
        assert {"i", "my", "the", "please", "what"}.isdisjoint(" ".join(topic.terms).split())
    by_name = " | ".join(t.name for t in find_topics(texts))
    assert "exchange" in by_name and "card" in by_name and "account" in by_name


def test_without_the_sentence_encoder_tfidf_vectors_are_used_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(topics, "shared_encoder", lambda: None)
    texts, labels = _messages()
    with caplog.at_level(logging.WARNING, logger="gapdesk.topics"):
        found = find_topics(texts)
    assert "sentence encoder unavailable" in caplog.text
    # Words alone may split a topic ("lost" and "stolen" share no word), never mix two.
    assert set(_majorities(found, labels)) >= set(TRUE_TOPICS)


@pytest.mark.parametrize("texts", [[], ["hello"], ["my card is lost"] * 3])
def test_too_few_messages_give_no_topics(texts: list[str]) -> None:
    assert find_topics(texts) == []


def test_messages_without_words_give_no_names_and_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topics, "shared_encoder", lambda: None)
    found = find_topics(["1234", "?", "!!", "42", "..."] * 4)  # no words: no tf-idf either
    assert all(t.name == "unnamed topic" for t in found)
    # Hand-made vectors: two tight groups of messages that are only digits or stop words.
    texts = ["123", "456", "789", "101", "112", "the", "and", "of", "to", "it"]
    vectors = np.repeat(np.eye(2), 5, axis=0) + 0.001 * np.arange(10)[:, None]
    found = find_topics(texts, vectors=vectors / np.linalg.norm(vectors, axis=1)[:, None])
    assert [t.size for t in found] == [5, 5]
    assert [t.name for t in found] == ["unnamed topic"] * 2
    assert intent_name(found[0]) == "new_topic"


def test_the_smallest_topic_is_one_percent_of_the_messages_with_a_floor_of_five() -> None:
    assert default_min_topic_size(0) == 5
    assert default_min_topic_size(300) == 5
    assert default_min_topic_size(1080) == 11
    assert default_min_topic_size(20_000) == 200


def test_the_draft_is_rasa_nlu_yaml_with_one_intent_of_the_topics_messages(tmp_path: Path) -> None:
    texts = [
        "what is the fee for a sepa transfer?",
        "unrelated message",
        "sepa transfer fee: how much? # asking for a friend",
        "[card](thing) fee for sepa",
        "What is the fee for a SEPA transfer?",  # a repeat in another case: written once
        "sepa fee   with\nspaces",
    ]
    topic = Topic(
        name="sepa transfer, fee",
        terms=("sepa transfer", "fee"),
        members=(0, 2, 3, 4, 5),
        examples=(texts[0],),
    )
    path = draft_intent(topic, texts, tmp_path / "data" / "nlu" / "drafts" / "sepa.yml")
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert document["version"] == "3.1"
    assert [block["intent"] for block in document["nlu"]] == ["sepa_transfer_fee"]
    rows = read_rasa_nlu([path])
    assert {r.label for r in rows} == {"sepa_transfer_fee"}
    assert [r.text for r in rows] == [
        "what is the fee for a sepa transfer?",
        "sepa transfer fee: how much? # asking for a friend",
        "(card) fee for sepa",  # never read as an entity annotation
        "sepa fee with spaces",
    ]
    assert "unrelated message" not in path.read_text(encoding="utf-8")


def test_an_intent_name_is_the_topics_words_in_rasa_form() -> None:
    topic = Topic(name="", terms=("Exchange rate", "fees", "rate"), members=(), examples=())
    assert intent_name(topic) == "exchange_rate_fees"
