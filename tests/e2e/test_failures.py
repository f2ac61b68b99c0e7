"""When a part fails, the customer still gets a clear answer and nothing is lost."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import BotFactory

pytestmark = pytest.mark.e2e


def test_action_server_down_gives_an_apology_and_logs_it(start_bot: BotFactory) -> None:
    bot = start_bot()
    bot.service("action server").stop()
    replies = bot.say("e2e-actions-down", "my card still hasn't arrived")
    assert len(replies) == 1
    assert "technical problem" in replies[0]["text"]
    log = (bot.log_dir / "rasa.log").read_text(encoding="utf-8", errors="replace")
    assert "action server down or failing" in log
