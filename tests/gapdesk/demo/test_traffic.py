"""``gapdesk demo traffic`` offline: which messages, which conversations, which clicks."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from gapdesk.cli import main
from gapdesk.datasets import LabelledText
from gapdesk.demo.traffic import (
    CLOSERS,
    MAX_MESSAGES,
    DemoConversation,
    check_loopback,
    choose_click,
    load_messages,
    plan_conversations,
    send_traffic,
    usable,
)
from gapdesk.ratings import answer_payloads, parse_payload, reason_payloads, satisfaction_payloads
from gapmodel.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[3]
UID = "8c4b8a3e-5f0e-4c55-9a39-9f2a6b1f1d2e"
BANK = [LabelledText(f"card question {n}", "card_arrival") for n in range(5)] + [
    LabelledText(f"rate question {n}", "exchange_rate") for n in range(5)
]
SHOP = [LabelledText(f"where is my order {n}", "track_order") for n in range(5)]


def test_only_real_usable_messages_are_loaded() -> None:
    bank, shop = load_messages(ROOT)
    assert len(bank) > 2000 and len(shop) > 1000
    assert all(usable(row.text) for row in bank + shop)
    assert not usable("/request_human") and not usable("cancel order {{Order Number}}")
    assert not usable("x" * 201)


def test_the_plan_spreads_the_messages_and_is_the_same_for_the_same_seed() -> None:
    planned = plan_conversations(BANK, SHOP, messages=30, conversations=8, seed=4, run="ab12")
    assert len(planned) == 8 and len({c.id for c in planned}) == 8
    assert all(c.id.startswith("demo-ab12-") for c in planned)
    questions = [m for c in planned for m in c.messages if m not in CLOSERS]
    assert len(questions) == 30 and all(c.messages for c in planned)
    assert plan_conversations(BANK, SHOP, 30, 8, seed=4, run="ab12") == planned
    assert plan_conversations(BANK, SHOP, 30, 8, seed=5, run="ab12") != planned
    shop_texts = {row.text for row in SHOP}
    for conversation in planned:
        asked = [m for m in conversation.messages if m not in CLOSERS]
        assert all((m in shop_texts) == conversation.off_topic for m in asked)
        assert not (conversation.off_topic and conversation.pleased)


def test_fewer_messages_than_conversations_makes_fewer_conversations() -> None:
    planned = plan_conversations(BANK, SHOP, messages=3, conversations=10, seed=0)
    assert [c.id for c in planned] == ["demo-0001", "demo-0002", "demo-0003"]


@pytest.mark.parametrize(("messages", "conversations"), [(0, 1), (MAX_MESSAGES + 1, 1), (5, 0)])
def test_counts_are_bounded(messages: int, conversations: int) -> None:
    with pytest.raises(ConfigurationError):
        plan_conversations(BANK, SHOP, messages, conversations)


def test_traffic_goes_to_this_machine_only() -> None:
    check_loopback("http://127.0.0.1:5005")
    check_loopback("http://localhost:5005")
    with pytest.raises(ConfigurationError, match="this machine only"):
        check_loopback("https://bot.example.com")


def _customer(pleased: bool, off_topic: bool = False) -> DemoConversation:
    return DemoConversation("demo-1", ("hi",), off_topic=off_topic, pleased=pleased, seed=0)


def _reply(payloads: dict[str, str]) -> list[dict[str, Any]]:
    return [{"text": "...", "buttons": [{"title": k, "payload": v} for k, v in payloads.items()]}]


class Always(random.Random):
    """A die that always rolls 0: every 'sometimes' happens."""

    def random(self) -> float:
        return 0.0


def test_customers_rate_answers_as_they_feel() -> None:
    thumbs = _reply(answer_payloads(UID))
    up = choose_click(thumbs, _customer(pleased=True), Always())
    down = choose_click(thumbs, _customer(pleased=False), Always())
    assert parse_payload(up or "").rating == "up"  # type: ignore[union-attr]
    assert parse_payload(down or "").rating == "down"  # type: ignore[union-attr]


def test_a_shop_customer_says_the_answer_was_to_a_different_question() -> None:
    reason = choose_click(_reply(reason_payloads(UID)), _customer(False, True), Always())
    assert parse_payload(reason or "").reason == "wrong_topic"  # type: ignore[union-attr]


def test_scores_follow_the_mood() -> None:
    ask = _reply(satisfaction_payloads(UID))
    for pleased, scores in ((True, {"4", "5"}), (False, {"1", "2", "3"})):
        picked = choose_click(ask, _customer(pleased), Always())
        assert parse_payload(picked or "").rating in scores  # type: ignore[union-attr]


def test_a_topic_is_picked_but_never_a_person_or_a_confirmation() -> None:
    offered = _reply({"Card": "/card_arrival", "Person": "/request_human"})
    assert choose_click(offered, _customer(True), Always()) == "/card_arrival"
    assert choose_click(_reply({"Person": "/request_human"}), _customer(True), Always()) is None
    assert choose_click([{"text": "plain answer"}], _customer(True), Always()) is None


class FakeClient:
    """Answers every message with thumbs, and a closer with the 1-5 question."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def say(self, conversation_id: str, text: str, connection: Any = None) -> list[dict]:
        self.sent.append((conversation_id, text))
        if text.startswith("/"):
            return [{"text": "Thanks for letting us know!"}]
        if text in CLOSERS:
            return _reply(satisfaction_payloads(UID))
        return _reply(answer_payloads(UID))


def test_traffic_is_sent_conversation_by_conversation_with_progress() -> None:
    planned = plan_conversations(BANK, SHOP, messages=12, conversations=4, seed=1, run="r")
    client, lines = FakeClient(), list[str]()
    result = send_traffic(client, planned, progress=lines.append)  # type: ignore[arg-type]
    typed = [t for _, t in client.sent if not t.startswith("/")]
    assert typed == [m for c in planned for m in c.messages]
    assert result.messages == len(typed) and result.clicks == len(client.sent) - len(typed)
    assert result.ids == [c.id for c in planned] and len(lines) == 4
    assert lines[0].startswith(f"[1/4] {planned[0].id} (")


def test_the_command_refuses_a_remote_bot(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GAPDESK_RASA_URL", "http://bot.example.com:5005")
    assert main(["demo", "traffic", "--messages", "5"]) == 2
    assert "this machine only" in capsys.readouterr().err
