"""Supervised as ``gapdesk up`` runs it, the bot survives its action server being killed."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable

import pytest

from gapdesk.supervision import port_in_use
from tests.e2e.conftest import BotFactory

pytestmark = pytest.mark.e2e

ACTIONS = "action server"


def _wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_action_server_comes_back_by_itself(
    start_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bot = start_bot(supervised=True)
    assert bot.supervisor is not None
    state = bot.supervisor.state(ACTIONS)
    port = bot.settings.action_server_port
    try:
        process = bot.service(ACTIONS).process
        assert process is not None
        # SIGKILL leaves Sanic's worker serving the port: the supervisor must end it.
        os.kill(process.pid, signal.SIGKILL)
        _wait_for(lambda: state.restart_at is not None or state.restarts > 0, timeout=30)

        replies = bot.say("e2e-supervised", "my card still hasn't arrived")
        assert len(replies) == 1
        assert "technical problem" in replies[0]["text"]

        _wait_for(lambda: state.restarts == 1 and state.healthy_since is not None, timeout=120)
        later = "how do I top up by card"
        replies = bot.say("e2e-supervised", later)
        assert replies and "technical problem" not in replies[0]["text"]
        conversation = bot.conversation("e2e-supervised", turns=1, timeout=30)
        assert [t["customer_text"] for t in conversation["turns"]] == [later]
    finally:
        bot.stop()
    assert not port_in_use("127.0.0.1", port)
    deaths = [r for r in caplog.records if r.levelno == logging.ERROR and ACTIONS in r.getMessage()]
    assert "action server died (signal SIGKILL)" in deaths[0].getMessage()
