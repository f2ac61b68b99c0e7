"""Rasa's REST webhook only takes messages from callers holding the webhook token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningBot

pytestmark = pytest.mark.e2e


def _post(bot: RunningBot, body: Any, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.post(
        f"{bot.settings.rasa_url}/webhooks/rest/webhook", json=body, headers=headers, timeout=30
    )


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-the-token", "Basic eDp5"])
def test_a_caller_without_the_token_is_refused_and_nothing_reaches_the_bot(
    bot: RunningBot, conversation_id: str, authorization: str | None
) -> None:
    refused = _post(bot, {"sender": conversation_id, "message": "my card?"}, authorization)
    assert refused.status_code == 401 and "Bearer" in refused.json()["error"]
    events = bot.client.tracker(conversation_id)["events"]
    assert not [e for e in events if e["event"] == "user"]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"message": "hi"}, "'sender'"),
        ({"sender": "", "message": "hi"}, "'sender'"),
        ({"sender": "x" * 256, "message": "hi"}, "'sender'"),
        ({"sender": "line\nbreak", "message": "hi"}, "'sender'"),
        ({"sender": "100% sure?", "message": "hi"}, "'sender'"),  # unreachable via Rasa's API
        ({"sender": "fine", "message": 42}, "'message'"),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_a_malformed_request_gets_a_clear_error(bot: RunningBot, body: Any, complaint: str) -> None:
    answer = _post(bot, body, f"Bearer {bot.client.webhook_token}")
    assert answer.status_code == 400 and complaint in answer.json()["error"]


def test_the_health_check_needs_no_token(bot: RunningBot) -> None:
    assert httpx.get(f"{bot.settings.rasa_url}/webhooks/rest/", timeout=10).status_code == 200


def test_no_secret_is_on_rasas_command_line(bot: RunningBot) -> None:
    rasa = bot.service("Rasa server").process
    assert rasa is not None
    command_line = Path(f"/proc/{rasa.pid}/cmdline").read_bytes().decode()
    assert bot.client.secret not in command_line
    assert bot.client.webhook_token not in command_line
