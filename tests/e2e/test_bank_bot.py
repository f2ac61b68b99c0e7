"""The bank bot over HTTP: answers, scores, logs, escalates, stays silent when paused."""

from __future__ import annotations

import csv

import pytest

from gapmodel.knowledge import KnowledgeBase
from tests.e2e.conftest import ROOT, RunningBot

pytestmark = pytest.mark.e2e
KB = KnowledgeBase.load(ROOT / "data" / "knowledge_base")


def test_card_arrival_is_answered_and_logged_with_a_score(
    bot: RunningBot, conversation_id: str
) -> None:
    replies = bot.say(conversation_id, "my card still hasn't arrived")
    assert [r["text"] for r in replies] == [KB.get("card_arrival").text]
    [turn] = bot.conversation(conversation_id, turns=1)["turns"]
    assert turn["intent"] == "card_arrival"
    assert turn["decision"] == "answer"
    assert 0 <= turn["gap_score"]["probability"] < 0.45
    assert turn["gap_score"]["model_version"].startswith("gap-")
    assert turn["intent_ranking"][0][0] == "card_arrival"


def test_asking_for_a_person_escalates_and_pauses_the_bot(
    bot: RunningBot, conversation_id: str
) -> None:
    replies = bot.say(conversation_id, "I want to speak to a human")
    assert "person" in replies[0]["text"]
    assert bot.say(conversation_id, "hello? my card still hasn't arrived") == []
    conversation = bot.conversation(conversation_id, turns=1)
    assert conversation["status"] == "escalated"
    assert conversation["escalations"][0]["reason_codes"] == ["asked_for_human"]
    assert bot.client.tracker(conversation_id)["paused"] is True


OFF_TOPIC = [
    "asdfgh qwerty zxcvb",
    "lkjlkj ppp ooo",
    "what's the best recipe for lasagne",
    "who won the football world cup in 1998",
    "can you recommend a good sci-fi novel",
]


@pytest.mark.parametrize("text", OFF_TOPIC)
def test_gibberish_and_off_topic_chat_are_clarified_or_escalated(
    bot: RunningBot, text: str
) -> None:
    conversation_id = f"e2e-off-{abs(hash(text))}"
    replies = bot.say(conversation_id, text)
    assert replies, "the customer must always get a reply"
    [turn] = bot.conversation(conversation_id, turns=1)["turns"]
    assert turn["decision"] in {"clarify", "escalate"}, (text, turn["intent"], turn["gap_score"])


# Another business's customers (an online shop): requests no bank can answer.
# (Shipping-address changes are left out: a bank changes addresses too.)
SHOP_CATEGORIES = {"ORDER", "INVOICE", "DELIVERY", "NEWSLETTER"}
PER_INTENT = 4
# A clear majority: on all of Bitext, 88 % are clarified or escalated (docs/benchmarks.md).
SHOP_MIN_CAUGHT = 2 / 3


def _shop_requests() -> list[str]:
    """The first requests of each shop intent in the Bitext data (never trained on)."""
    path = ROOT / "data" / "datasets" / "bitext_customer_support"
    taken: dict[str, list[str]] = {}
    with (path / "bitext_customer_support_4514.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["category"] in SHOP_CATEGORIES:
                taken.setdefault(row["intent"], [])
                if len(taken[row["intent"]]) < PER_INTENT:
                    taken[row["intent"]].append(row["instruction"])
    return [text for texts in taken.values() for text in texts]


def test_another_business_requests_are_mostly_clarified_or_escalated(bot: RunningBot) -> None:
    requests = _shop_requests()
    decisions = {}
    for index, text in enumerate(requests):
        conversation_id = f"e2e-shop-{index}"
        assert bot.say(conversation_id, text), "the customer must always get a reply"
        decisions[text] = bot.conversation(conversation_id, turns=1)["turns"][0]["decision"]
    answered = [text for text, decision in decisions.items() if decision == "answer"]
    caught = 1 - len(answered) / len(requests)
    assert caught >= SHOP_MIN_CAUGHT, f"{caught:.0%} caught; answered: {answered}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "x" * 2_000,  # the longest the bot reads (GAPDESK_MAX_MESSAGE_CHARS)
        "<script>alert('hi')</script> my card?",
        "'; DROP TABLE turns; --",
        "\u0000\u0007\u001b[31m card",
        "¿Dónde está mi tarjeta? 我的卡还没到",
        "🙂🙂🙂",
    ],
)
def test_hostile_input_gets_a_reply_and_loses_nothing(
    bot: RunningBot, text: str, conversation_id: str
) -> None:
    replies = bot.say(conversation_id, text)
    assert replies and all(r.get("text") for r in replies)
    [turn] = bot.conversation(conversation_id, turns=1)["turns"]
    assert turn["decision"] in {"answer", "clarify", "escalate"}


def test_a_card_is_frozen_after_confirming_its_last_four_digits(
    bot: RunningBot, conversation_id: str
) -> None:
    asks = bot.say(conversation_id, "please freeze my card")
    assert "last four digits" in asks[-1]["text"]
    confirm = bot.say(conversation_id, "7005")
    assert "7005" in confirm[0]["text"] and confirm[0].get("buttons")
    done = bot.say(conversation_id, "yes")
    assert "frozen" in done[0]["text"]
    from gapdesk.demo.bank import DemoBank

    assert DemoBank(bot.store.engine).card("7005").status == "frozen"


def test_a_transfer_is_looked_up_by_its_reference(bot: RunningBot, conversation_id: str) -> None:
    replies = bot.say(conversation_id, "can you track my transfer TR-104233")
    assert "TR-104233" in replies[-1]["text"] and "J. Okafor" in replies[-1]["text"]
