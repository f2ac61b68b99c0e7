"""A customer on Rasa's callback channel: the bot's and the agent's messages are pushed
to the integration's own URL, and the bot answers again after the hand-back."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gapdesk.accounts import create_user
from tests.e2e.conftest import QuietHandler, stand_in_service
from tests.e2e.test_console import PASSWORD, signed_in
from tests.e2e.words import HUMAN_TEXT

pytestmark = pytest.mark.e2e


@pytest.fixture
def integration() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A stand-in for a business's own service: it receives Rasa's callbacks."""
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Receiver(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            received.put(json.loads(body))
            self.send_response(200)
            self.end_headers()

    with stand_in_service(Receiver) as url:
        yield f"{url}/bot", received


def next_text(received: queue.Queue[dict[str, Any]], containing: str) -> str:
    deadline = time.monotonic() + 30
    seen = []
    while time.monotonic() < deadline:
        try:
            message = received.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if containing in (message.get("text") or ""):
            return str(message["text"])
        seen.append(message.get("text"))
    raise AssertionError(f"no callback with {containing!r}; received {seen}")


def test_agent_replies_reach_a_callback_customer(
    start_bot, integration, request: pytest.FixtureRequest
) -> None:
    url, received = integration
    bot = start_bot(callback_url=url)
    create_user(bot.store, "cara", PASSWORD, "agent", display_name="Cara")
    agent, csrf = signed_in(bot, "cara")
    request.addfinalizer(agent.close)

    def customer_says(text: str, token: str = bot.client.webhook_token) -> int:
        response = httpx.post(
            f"{bot.settings.rasa_url}/webhooks/callback/webhook",
            json={"sender": "cb-customer-1", "message": text},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        return response.status_code

    assert customer_says("hello", token="a guess") == 401  # nothing reaches the bot
    assert customer_says("can I talk to a real person?") == 200

    assert next_text(received, "person") == HUMAN_TEXT

    base = "/conversations/cb-customer-1"
    deadline = time.monotonic() + 15
    while "Take over" not in agent.get(base).text:
        assert time.monotonic() < deadline, "the escalation never reached the console"
        time.sleep(0.3)
    assert (
        "notice=claimed"
        in agent.post(f"{base}/claim", data={"csrf_token": csrf}).headers["location"]
    )
    agent.post(f"{base}/reply", data={"csrf_token": csrf, "text": "Hi, Cara here."})
    assert next_text(received, "Cara here") == "Cara: Hi, Cara here."

    assert customer_says("My card was used in a shop I've never been to") == 200
    time.sleep(3)
    assert received.empty(), "the bot spoke while an agent owned the conversation"

    agent.post(f"{base}/hand-back", data={"csrf_token": csrf})
    assert customer_says("My new card still hasn't arrived, where is it?") == 200
    assert next_text(received, "Standard delivery")
