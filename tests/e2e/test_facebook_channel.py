"""Facebook Messenger on the real Rasa server, without the internet.

The bot sends its replies to a stand-in Graph API on loopback
(``GAPDESK_FACEBOOK_API_URL``) that records the Send API calls, answers them as the
Graph API does, and fails them for the customers it is told to. Webhook posts are
built in Messenger's own format and signed as Meta documents it (HMAC-SHA256 of the raw
body with the app secret, computed here, not with the code under test). Rasa answers a
post at once and hands its events to the bot in the background, so tests wait for
what the bot did.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from gapdesk.accounts import create_user
from tests.e2e.conftest import BotFactory, QuietHandler, RunningBot, stand_in_service
from tests.e2e.test_console import PASSWORD, signed_in
from tests.e2e.test_messaging_channels import (
    ASK_FOR_A_PERSON,
    NOT_DELIVERED,
    Agent,
    agent_replies,
    bot_texts,
    console_reply,
    events,
    rasa_log,
    take_over,
    user_texts,
    wait_for,
)

pytestmark = pytest.mark.e2e

APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PAGE_TOKEN = "EAAe2e-page-access-token"
VERIFY_TOKEN = "e2e-verify-token"
PAGE_ID = "1122334455667788"
# What the bot must send with every call when it knows the app secret (Meta's
# "appsecret_proof": HMAC-SHA256 of the access token, keyed with the app secret).
PROOF = hmac.new(APP_SECRET.encode(), PAGE_TOKEN.encode(), hashlib.sha256).hexdigest()
CARD_QUESTION = "My new card still hasn't arrived, where is it?"
ANSWER_FAILURE = "Facebook: a message was not sent, the conversation goes on without it"
PUSH_FAILURE = "Facebook: a message pushed through Rasa's HTTP API was not sent"


class FakeGraph:
    """The Send API (``POST /<version>/me/messages``), answered as the Graph API does.

    A send to a customer in ``failing`` fails instead: "500" answers with the Graph
    API's error, "close" closes the connection without an answer. Those sends are kept
    in ``refused``, the others in ``sent``, with the query they came with.
    """

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.refused: list[dict[str, Any]] = []
        self.failing: dict[str, str] = {}  # PSID -> "500" or "close"
        self.lock = threading.Lock()

    def failure(self, path: str, query: dict[str, str], body: dict[str, Any]) -> str | None:
        with self.lock:
            failure = self.failing.get(body.get("recipient", {}).get("id", ""))
            if failure:
                self.refused.append(body)
            else:
                self.sent.append((path, query, body))
            return failure

    def messages_to(self, psid: str) -> list[dict[str, Any]]:
        """The messages (not sender actions) sent to ``psid``."""
        with self.lock:
            return [
                body["message"]
                for _, _, body in self.sent
                if body["recipient"]["id"] == psid and "message" in body
            ]

    def texts_to(self, psid: str) -> list[str]:
        return [message["text"] for message in self.messages_to(psid)]

    def refused_texts_to(self, psid: str) -> list[str]:
        with self.lock:
            return [b["message"]["text"] for b in self.refused if b["recipient"]["id"] == psid]


@pytest.fixture(scope="module")
def graph() -> Iterator[tuple[str, FakeGraph]]:
    fake = FakeGraph()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query))
            body = json.loads(raw)
            failure = fake.failure(url.path, query, body)
            if failure == "close":
                self.close_connection = True
                return
            status, reply = (
                200,
                {
                    "recipient_id": body["recipient"]["id"],
                    "message_id": f"m_{random.randbytes(12).hex()}",
                },
            )
            if failure == "500":
                status, reply = 500, {"error": {
                    "message": "An unexpected error has occurred. Please retry your request later.",
                    "type": "OAuthException", "is_transient": True, "code": 2,
                    "fbtrace_id": "AbCdEfGh123"}}  # fmt: skip
            elif query.get("access_token") != PAGE_TOKEN:
                status, reply = 400, {"error": {
                    "message": "Invalid OAuth access token data.", "type": "OAuthException",
                    "code": 190, "fbtrace_id": "AbCdEfGh456"}}  # fmt: skip
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with stand_in_service(Handler) as url:
        yield url, fake


@pytest.fixture(scope="module")
def bot(start_bot: BotFactory, graph: tuple[str, FakeGraph]) -> RunningBot:
    """One Rasa start for the module, with Messenger connected to the stand-in."""
    return start_bot(
        facebook_verify=VERIFY_TOKEN,
        facebook_secret=APP_SECRET,
        facebook_page_access_token=PAGE_TOKEN,
        facebook_api_url=graph[0],
    )


@pytest.fixture(scope="module")
def agent(bot: RunningBot) -> Iterator[Agent]:
    """Cara, an agent signed in to the bot's console."""
    create_user(bot.store, "cara", PASSWORD, "agent", display_name="Cara")
    client, csrf = signed_in(bot, "cara")
    yield client, csrf
    client.close()


@pytest.fixture
def psid() -> str:
    """A customer's page-scoped id, as Messenger gives it."""
    return str(random.randint(10**15, 10**16 - 1))


# -- what Messenger posts -----------------------------------------------------------------


def text_event(psid: str, text: str) -> dict[str, Any]:
    return {
        "sender": {"id": psid}, "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        "message": {"mid": f"m_{random.randbytes(12).hex()}", "text": text},
    }  # fmt: skip


def quick_reply_event(psid: str, title: str, payload: str) -> dict[str, Any]:
    event = text_event(psid, title)
    event["message"]["quick_reply"] = {"payload": payload}
    return event


def postback_event(psid: str, title: str, payload: str) -> dict[str, Any]:
    return {
        "sender": {"id": psid}, "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        "postback": {"mid": f"m_{random.randbytes(12).hex()}", "title": title, "payload": payload},
    }  # fmt: skip


def page_post(*messaging: dict[str, Any]) -> bytes:
    """A webhook post for the page: one entry holding the events."""
    entry = {"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": list(messaging)}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def signature(body: bytes, secret: str = APP_SECRET, algorithm: str = "sha256") -> str:
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return f"{algorithm}={digest}"


def post(bot: RunningBot, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{bot.settings.rasa_url}/webhooks/facebook/webhook",
        content=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )


def post_signed(bot: RunningBot, body: bytes) -> httpx.Response:
    # As Meta posts: both signatures, the legacy SHA-1 one beside SHA-256.
    headers = {
        "X-Hub-Signature": signature(body, algorithm="sha1"),
        "X-Hub-Signature-256": signature(body),
    }
    answer = post(bot, body, headers)
    assert answer.status_code == 200, answer.text
    return answer


def last_user_event(bot: RunningBot, psid: str) -> dict[str, Any]:
    return [e for e in events(bot, psid) if e["event"] == "user"][-1]


# -- answers and ratings --------------------------------------------------------------------


def test_a_messenger_customer_gets_the_answer_with_rating_buttons(
    bot: RunningBot, graph: tuple[str, FakeGraph], psid: str
) -> None:
    fake = graph[1]
    post_signed(bot, page_post(text_event(psid, CARD_QUESTION)))
    [answer] = wait_for(lambda: fake.messages_to(psid), "the bot's answer")
    assert "Standard delivery" in answer["text"]
    # The thumbs, as quick replies whose payloads are the rating buttons'.
    ratings = {reply["title"]: reply["payload"] for reply in answer["quick_replies"]}
    assert [reply["content_type"] for reply in answer["quick_replies"]] == ["text", "text"]
    assert all(p.startswith("/feedback{") for p in ratings.values())
    assert ['"feedback_rating":"up"' in p for p in ratings.values()] == [True, False]
    assert user_texts(bot, psid) == [CARD_QUESTION]
    # Sent as Meta's Send API expects, with the page's token and the app secret's proof.
    [(path, query, body)] = [c for c in fake.sent if c[2]["recipient"]["id"] == psid]
    assert path == "/v21.0/me/messages"
    assert query == {"access_token": PAGE_TOKEN, "appsecret_proof": PROOF}
    assert body["messaging_type"] == "RESPONSE"


def test_rating_buttons_come_back_to_the_bot_as_their_payloads(
    bot: RunningBot, graph: tuple[str, FakeGraph], psid: str
) -> None:
    fake = graph[1]
    post_signed(bot, page_post(text_event(psid, CARD_QUESTION)))
    [answer] = wait_for(lambda: fake.messages_to(psid), "the bot's answer")
    down = next(r for r in answer["quick_replies"] if '"down"' in r["payload"])

    # A tapped quick reply: Messenger posts the title as text, the payload beside it.
    post_signed(bot, page_post(quick_reply_event(psid, down["title"], down["payload"])))
    reasons = wait_for(lambda: fake.messages_to(psid)[1:], "the question what was wrong")
    assert last_user_event(bot, psid)["text"] == down["payload"]
    assert last_user_event(bot, psid)["parse_data"]["intent"]["name"] == "feedback"
    # Four reasons: more buttons than Messenger's button template holds (Rasa's
    # channel would have dropped them all).
    [question] = reasons
    assert len(question["quick_replies"]) == 4
    wrong_topic = next(r for r in question["quick_replies"] if "wrong_topic" in r["payload"])

    # A postback (a button in a template) comes back as its payload too.
    post_signed(bot, page_post(postback_event(psid, "It answered...", wrong_topic["payload"])))
    wait_for(lambda: len(fake.messages_to(psid)) == 3, "the thanks")
    assert last_user_event(bot, psid)["text"] == wrong_topic["payload"]
    assert "helps us improve" in fake.texts_to(psid)[-1]
    [turn] = bot.conversation(psid, turns=1)["turns"]
    assert turn["customer_text"] == CARD_QUESTION


def test_every_event_of_a_batched_post_reaches_the_bot_but_echoes_do_not(
    bot: RunningBot, graph: tuple[str, FakeGraph], psid: str
) -> None:
    """Meta may batch events; Rasa's own channel handles only the first."""
    other = str(int(psid) + 1)
    echo = text_event(PAGE_ID, "an answer the page sent")  # the page's own message
    echo["message"]["is_echo"] = True
    post_signed(bot, page_post(echo, text_event(psid, "hello"), text_event(other, "hello")))
    wait_for(lambda: graph[1].texts_to(psid) and graph[1].texts_to(other), "both answers")
    assert user_texts(bot, psid) == user_texts(bot, other) == ["hello"]
    assert user_texts(bot, PAGE_ID) == []


# -- what is refused --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signing",
    [
        lambda body: {},
        lambda body: {"X-Hub-Signature-256": signature(body, "another-app-secret")},
        lambda body: {"X-Hub-Signature-256": signature(body + b" ")},
        lambda body: {"X-Hub-Signature-256": signature(body).removeprefix("sha256=")},
        # The legacy SHA-1 header alone, even rightly signed: Meta always sends both.
        lambda body: {"X-Hub-Signature": signature(body, algorithm="sha1")},
        # Rasa's own channel takes whichever hash the header names.
        lambda body: {"X-Hub-Signature-256": signature(body, algorithm="md5")},
    ],
    ids=["none", "other-secret", "other-body", "no-prefix", "sha1-only", "md5"],
)
def test_a_post_facebook_did_not_sign_is_refused(
    bot: RunningBot,
    graph: tuple[str, FakeGraph],
    psid: str,
    signing: Callable[[bytes], dict[str, str]],
) -> None:
    body = page_post(text_event(psid, "freeze my card"))
    answer = post(bot, body, signing(body))
    assert answer.status_code == 403
    assert "X-Hub-Signature-256" in answer.json()["error"]
    time.sleep(1)  # nothing runs in the background either
    assert user_texts(bot, psid) == [] and graph[1].messages_to(psid) == []


def test_a_signed_post_that_is_no_webhook_event_is_refused(bot: RunningBot) -> None:
    body = json.dumps({"object": "page", "entry": "not a list"}).encode()
    assert post(bot, body, {"X-Hub-Signature-256": signature(body)}).status_code == 400


def test_the_subscription_check_is_answered_only_with_the_verify_token(bot: RunningBot) -> None:
    url = f"{bot.settings.rasa_url}/webhooks/facebook/webhook"
    check = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    answer = httpx.get(url, params=check, timeout=10)
    assert answer.status_code == 200 and answer.text == "1158201444"
    for wrong in (
        {"hub.verify_token": "not-the-token"},
        {"hub.verify_token": ""},
        {"hub.mode": "x"},
    ):
        refused = httpx.get(url, params={**check, **wrong}, timeout=10)
        assert refused.status_code == 403 and "1158201444" not in refused.text


def test_the_messenger_health_check_needs_no_signature(bot: RunningBot) -> None:
    assert httpx.get(f"{bot.settings.rasa_url}/webhooks/facebook/", timeout=10).status_code == 200


# -- agents and failures ------------------------------------------------------------------


def test_an_agents_reply_reaches_the_messenger_customer(
    bot: RunningBot, graph: tuple[str, FakeGraph], agent: Agent, psid: str
) -> None:
    post_signed(bot, page_post(text_event(psid, ASK_FOR_A_PERSON)))
    take_over(bot, agent, psid)
    location, page = console_reply(agent, psid, "Hi, Cara here.")
    assert location.endswith("notice=replied")
    assert "cannot receive messages pushed" not in page
    assert graph[1].texts_to(psid)[-1] == "Cara: Hi, Cara here."
    assert agent_replies(bot, psid) == ["Hi, Cara here."]


@pytest.mark.parametrize("failure", ["500", "close"])
def test_a_send_the_graph_api_fails_while_answering_keeps_the_turn(
    bot: RunningBot, graph: tuple[str, FakeGraph], psid: str, failure: str
) -> None:
    fake = graph[1]
    fake.failing[psid] = failure
    failures_before = rasa_log(bot).count(ANSWER_FAILURE)
    post_signed(bot, page_post(text_event(psid, CARD_QUESTION)))
    # Rasa kept the whole turn, and gapdesk recorded it once.
    wait_for(lambda: any("Standard delivery" in t for t in bot_texts(bot, psid)), "the kept answer")
    assert user_texts(bot, psid) == [CARD_QUESTION]
    [turn] = bot.conversation(psid, turns=1)["turns"]
    assert turn["customer_text"] == CARD_QUESTION
    assert fake.refused_texts_to(psid) and fake.messages_to(psid) == []
    wait_for(lambda: rasa_log(bot).count(ANSWER_FAILURE) > failures_before, "the logged failure")


def test_an_agents_reply_the_graph_api_refuses_is_reported_not_delivered(
    bot: RunningBot, graph: tuple[str, FakeGraph], agent: Agent, psid: str
) -> None:
    fake = graph[1]
    post_signed(bot, page_post(text_event(psid, ASK_FOR_A_PERSON)))
    take_over(bot, agent, psid)
    fake.failing[psid] = "500"
    location, page = console_reply(agent, psid, "Hi, Cara here.")
    assert "notice=rasa_down" in location and NOT_DELIVERED in page
    assert fake.refused_texts_to(psid) == ["Cara: Hi, Cara here."]
    assert agent_replies(bot, psid) == []
    assert "Cara: Hi, Cara here." not in bot_texts(bot, psid)
    assert PUSH_FAILURE in rasa_log(bot)
    assert PAGE_TOKEN not in rasa_log(bot)  # the URL with the token is never logged

    del fake.failing[psid]  # the Graph API is back: the agent tries again
    location, _ = console_reply(agent, psid, "Hi, Cara here.")
    assert location.endswith("notice=replied")
    assert fake.texts_to(psid)[-1] == "Cara: Hi, Cara here."
    assert agent_replies(bot, psid) == ["Hi, Cara here."]
