"""The gapdesk CLI against a running bot."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import RunningBot

pytestmark = pytest.mark.e2e


def _gapdesk(bot: RunningBot, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, **bot.settings.as_environ()}
    result = subprocess.run(
        [sys.executable, "-m", "gapdesk", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def test_score_prints_the_decision_and_reasons(bot: RunningBot) -> None:
    confident = json.loads(_gapdesk(bot, "score", "my card still hasn't arrived"))
    assert confident["intent"][0] == "card_arrival"
    assert confident["decision"] == "answer"
    off_topic = json.loads(_gapdesk(bot, "score", "who won the football world cup in 1998"))
    assert off_topic["decision"] in {"clarify", "escalate"}
    assert off_topic["probability"] > confident["probability"]
    assert off_topic["reasons"] and all(r["text"] for r in off_topic["reasons"])


def test_conversations_show_json_has_turns_scores_and_escalation(
    bot: RunningBot, conversation_id: str
) -> None:
    bot.say(conversation_id, "my card still hasn't arrived")
    bot.say(conversation_id, "I want to speak to a human")
    bot.conversation(conversation_id, turns=2)
    shown = json.loads(_gapdesk(bot, "conversations", "show", conversation_id, "--json"))
    assert shown["status"] == "escalated"
    assert [t["decision"] for t in shown["turns"]] == ["answer", "escalate"]
    assert shown["turns"][0]["gap_score"]["reasons"] is not None
    assert conversation_id in _gapdesk(bot, "conversations", "list")


def test_chat_talks_to_the_bot(bot: RunningBot) -> None:
    output = _gapdesk(bot, "chat", stdin="my card still hasn't arrived\n")
    assert "bot> " in output and "working days" in output
