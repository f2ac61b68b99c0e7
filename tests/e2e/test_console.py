"""The console process over real HTTP: concurrent claims, sign-in and the JWT towards Rasa."""

from __future__ import annotations

import re
import threading

import httpx
import jwt
import pytest

from gapdesk.accounts import create_user
from gapdesk.engine.client import TOKEN_LIFETIME_SECONDS, sign_token
from tests.e2e.conftest import RunningBot

pytestmark = pytest.mark.e2e

PASSWORD = "a long agent password"


def signed_in(bot: RunningBot, username: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=bot.settings.console_url, timeout=30)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    client.post("/login", data={"csrf_token": token[1], "username": username, "password": PASSWORD})
    queue = client.get("/queue")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', queue.text)
    assert queue.status_code == 200 and csrf
    return client, csrf[1]


def test_two_agents_claim_at_once_and_exactly_one_wins(
    bot: RunningBot, conversation_id: str, request: pytest.FixtureRequest
) -> None:
    for name in ("ana", "ben"):
        create_user(bot.store, name, PASSWORD, "agent")
    bot.say(conversation_id, "I want to speak to a human")
    agents = [signed_in(bot, "ana"), signed_in(bot, "ben")]
    for client, _ in agents:
        request.addfinalizer(client.close)
    queue = agents[0][0].get("/queue")
    assert f"/conversations/{conversation_id}" in queue.text

    start = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(client: httpx.Client, csrf: str) -> None:
        start.wait()
        response = client.post(f"/conversations/{conversation_id}/claim", data={"csrf_token": csrf})
        outcomes.append(response.headers["location"])

    threads = [threading.Thread(target=claim, args=agent) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted("notice=claimed" in o for o in outcomes) == [False, True]
    loser = next(o for o in outcomes if "notice=taken" in o)
    assert re.search(r"owner=(ana|ben)", loser)


def test_tokens_for_rasa_expire_within_minutes(bot: RunningBot) -> None:
    claims = jwt.decode(sign_token(bot.client.secret), bot.client.secret, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == TOKEN_LIFETIME_SECONDS <= 60
    # sanic-jwt (in Rasa) allows 180 s of clock skew after expiry
    expired = sign_token(bot.client.secret, lifetime=-200)
    answer = httpx.get(
        f"{bot.settings.rasa_url}/conversations/x/tracker",
        headers={"Authorization": f"Bearer {expired}"},
    )
    assert answer.status_code == 401  # Rasa refuses an expired token
