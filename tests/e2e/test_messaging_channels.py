"""Telegram, Twilio and Slack on the real Rasa server, without the internet.

One bot serves all three. Telegram talks to a stand-in Bot API server on loopback
(``GAPDESK_TELEGRAM_API_URL``) that records what the bot calls, and fails sendMessage
when told to; Twilio's and Slack's APIs cannot be reached from here, so their replies
fail. A failed send while the bot answers a customer must be logged and harm nothing;
an agent's reply that fails must be reported in the console as not delivered, and not
stored as sent. Requests are posted in the providers' own formats, signed the way the
providers document it (computed here, not with the code under test).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from console.urls import conversation_url
from gapdesk.accounts import create_user
from gapdesk.supervisor import free_ports
from tests.e2e.conftest import BotFactory, QuietHandler, RunningBot, stand_in_service
from tests.e2e.test_console import PASSWORD, signed_in

pytestmark = pytest.mark.e2e

TELEGRAM_TOKEN = "123456789:AAE-e2e-test-token"
TELEGRAM_SECRET = "e2e-telegram_secret"
TELEGRAM_BOT = "brightwater_bot"
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
# The public URL Twilio is given; Rasa itself listens on loopback behind it.
TWILIO_URL = "https://bot.example.com/webhooks/twilio/webhook"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TWILIO_FAILURE = "Twilio: a message was not sent"
TELEGRAM_FAILURE = "Telegram: a message was not sent"
# What the console shows when Rasa could not deliver an agent's reply ("rasa_down").
NOT_DELIVERED = "Nothing reached the customer"
ASK_FOR_A_PERSON = "I want to talk to a person"


class FakeTelegram:
    """The Telegram Bot API's methods the bot calls, answered as Telegram answers them.

    sendMessage to a chat in ``failing`` fails instead: "500" answers with Telegram's
    error, "close" closes the connection without an answer. Those calls are kept in
    ``refused``, the others in ``calls``.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.refused: list[tuple[str, dict[str, str]]] = []
        self.failing: dict[str, str] = {}  # chat id -> "500" or "close"
        self.lock = threading.Lock()

    def failure(self, method: str, params: dict[str, str]) -> str | None:
        with self.lock:
            if method != "sendMessage" or params.get("chat_id") not in self.failing:
                self.calls.append((method, params))
                return None
            self.refused.append((method, params))
            return self.failing[params["chat_id"]]

    def answer(self, method: str, params: dict[str, str]) -> Any:
        if method == "getMe":
            return {"id": 123456789, "is_bot": True, "first_name": "Brightwater",
                    "username": TELEGRAM_BOT}  # fmt: skip
        if method == "sendMessage":
            return {"message_id": random.randint(1, 10**6), "date": int(time.time()),
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                    "text": params["text"]}  # fmt: skip
        return True

    def called(self, method: str) -> list[dict[str, str]]:
        with self.lock:
            return [params for name, params in self.calls if name == method]

    def texts_to(self, chat_id: int) -> list[str]:
        return [p["text"] for p in self.called("sendMessage") if p["chat_id"] == str(chat_id)]

    def refused_to(self, chat_id: int) -> list[str]:
        with self.lock:
            return [p["text"] for _, p in self.refused if p["chat_id"] == str(chat_id)]


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


@pytest.fixture(scope="module")
def telegram() -> Iterator[tuple[str, FakeTelegram]]:
    fake = FakeTelegram()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            token, _, method = self.path.removeprefix("/bot").partition("/")
            params = dict(parse_qsl(body))  # aiogram posts form fields
            failure = fake.failure(method, params)
            if failure == "close":
                self.close_connection = True
                return
            if failure == "500":
                reply = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            elif token != TELEGRAM_TOKEN:
                reply = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            else:
                reply = {"ok": True, "result": fake.answer(method, params)}
            payload = json.dumps(reply).encode()
            self.send_response(200 if reply["ok"] else reply["error_code"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with stand_in_service(Handler) as url:
        yield url, fake


@pytest.fixture(scope="module")
def bot(start_bot: BotFactory, telegram: tuple[str, FakeTelegram]) -> RunningBot:
    """One Rasa start for the module, with all three channels connected."""
    api_url, _ = telegram
    return start_bot(
        telegram_token=TELEGRAM_TOKEN,
        telegram_bot_name=TELEGRAM_BOT,
        telegram_webhook_url="https://bot.example.com/webhooks/telegram/webhook",
        telegram_secret_token=TELEGRAM_SECRET,
        telegram_api_url=api_url,
        twilio_account_sid="AC0123456789abcdef0123456789abcdef",
        twilio_auth_token=TWILIO_TOKEN,
        twilio_number="whatsapp:+14155238886",
        twilio_webhook_url=TWILIO_URL,
        slack_token="xoxb-0000-e2e",
        slack_signing_secret=SLACK_SECRET,
    )


def events(bot: RunningBot, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation as Rasa keeps it, read as the console reads it (a test below
    checks that a WhatsApp id, "whatsapp:+1555...", reaches the right conversation)."""
    return list(bot.client.tracker(conversation_id)["events"])


def user_texts(bot: RunningBot, conversation_id: str) -> list[str]:
    return [e["text"] for e in events(bot, conversation_id) if e["event"] == "user"]


def rasa_log(bot: RunningBot) -> str:
    return (bot.log_dir / "rasa.log").read_text(encoding="utf-8", errors="replace")


# -- the console ------------------------------------------------------------------------

Agent = tuple[httpx.Client, str]  # signed in to the console, with its CSRF token


@pytest.fixture(scope="module")
def agent(bot: RunningBot) -> Iterator[Agent]:
    """Cara, an agent signed in to the bot's console."""
    create_user(bot.store, "cara", PASSWORD, "agent", display_name="Cara")
    client, csrf = signed_in(bot, "cara")
    yield client, csrf
    client.close()


def take_over(bot: RunningBot, agent: Agent, conversation_id: str) -> None:
    """Once the escalation is in the console's queue, claim it as the agent does."""
    wait_for(
        lambda: (bot.store.conversation(conversation_id) or {}).get("status") == "escalated",
        "the escalation in the console",
    )
    client, csrf = agent
    claimed = client.post(conversation_url(conversation_id, "claim"), data={"csrf_token": csrf})
    assert "notice=claimed" in claimed.headers["location"]


def console_reply(agent: Agent, conversation_id: str, text: str) -> tuple[str, str]:
    """The agent replies in the console: where the console sends the agent, and that page."""
    client, csrf = agent
    sent = client.post(
        conversation_url(conversation_id, "reply"), data={"csrf_token": csrf, "text": text}
    )
    assert sent.status_code == 303
    return sent.headers["location"], client.get(sent.headers["location"]).text


def agent_replies(bot: RunningBot, conversation_id: str) -> list[str]:
    """The agent's replies gapdesk stored as sent."""
    turns = (bot.store.conversation(conversation_id) or {}).get("turns", [])
    return [turn["answer_text"] for turn in turns if turn["kind"] == "agent"]


def bot_texts(bot: RunningBot, conversation_id: str) -> list[str]:
    return [e["text"] for e in events(bot, conversation_id) if e["event"] == "bot" and e["text"]]


# -- Telegram ---------------------------------------------------------------------------


def telegram_update(chat_id: int, text: str) -> dict[str, Any]:
    """An update as Telegram posts it for a private chat."""
    person = {"id": chat_id, "first_name": "Ada", "last_name": "Lovelace", "username": "ada_l"}
    return {
        "update_id": random.randint(10**8, 10**9),
        "message": {
            "message_id": random.randint(1, 10**5),
            "from": {**person, "is_bot": False, "language_code": "en"},
            "chat": {**person, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }


def post_update(bot: RunningBot, update: dict[str, Any], secret: str | None) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return httpx.post(
        f"{bot.settings.rasa_url}/webhooks/telegram/webhook",
        json=update,
        headers=headers,
        timeout=60,
    )


@pytest.fixture
def chat_id() -> int:
    return random.randint(10**8, 10**10)


def test_the_webhook_is_registered_with_the_secret_at_start(
    bot: RunningBot, telegram: tuple[str, FakeTelegram]
) -> None:
    [registration, *_] = telegram[1].called("setWebhook")
    assert registration["url"] == bot.settings.telegram_webhook_url
    assert registration["secret_token"] == TELEGRAM_SECRET
    assert json.loads(registration["allowed_updates"]) == [
        "message", "edited_message", "callback_query"
    ]  # fmt: skip


def test_a_telegram_customer_gets_the_bots_answer(
    bot: RunningBot, telegram: tuple[str, FakeTelegram], chat_id: int
) -> None:
    text = "My new card still hasn't arrived, where is it?"
    answer = post_update(bot, telegram_update(chat_id, text), TELEGRAM_SECRET)
    assert answer.status_code == 200
    replies = wait_for(lambda: telegram[1].texts_to(chat_id), "the bot's sendMessage")
    assert "Standard delivery" in " ".join(replies)
    assert user_texts(bot, str(chat_id)) == [text]


@pytest.mark.parametrize("secret", [None, "", "not-the-secret", TELEGRAM_SECRET + "x"])
def test_an_update_without_the_secret_is_refused(
    bot: RunningBot, telegram: tuple[str, FakeTelegram], chat_id: int, secret: str | None
) -> None:
    answer = post_update(bot, telegram_update(chat_id, "freeze my card"), secret)
    assert answer.status_code == 403
    assert user_texts(bot, str(chat_id)) == []
    assert telegram[1].texts_to(chat_id) == []


def test_an_agents_reply_reaches_the_telegram_customer(
    bot: RunningBot, telegram: tuple[str, FakeTelegram], agent: Agent, chat_id: int
) -> None:
    update = telegram_update(chat_id, ASK_FOR_A_PERSON)
    post_update(bot, update, TELEGRAM_SECRET).raise_for_status()
    take_over(bot, agent, str(chat_id))
    location, page = console_reply(agent, str(chat_id), "Hi, Cara here.")
    assert location.endswith("notice=replied")
    assert "cannot receive messages pushed" not in page
    wait_for(lambda: "Cara: Hi, Cara here." in telegram[1].texts_to(chat_id), "the agent's reply")
    assert agent_replies(bot, str(chat_id)) == ["Hi, Cara here."]


@pytest.mark.parametrize("failure", ["500", "close"])
def test_a_send_telegram_fails_while_answering_keeps_the_turn(
    bot: RunningBot, telegram: tuple[str, FakeTelegram], chat_id: int, failure: str
) -> None:
    fake = telegram[1]
    fake.failing[str(chat_id)] = failure
    failures_before = rasa_log(bot).count(TELEGRAM_FAILURE)
    text = "My new card still hasn't arrived, where is it?"
    answer = post_update(bot, telegram_update(chat_id, text), TELEGRAM_SECRET)
    # 200: Telegram has no reason to deliver the update (and gapdesk to record it) again.
    assert answer.status_code == 200
    assert fake.refused_to(chat_id) and fake.texts_to(chat_id) == []
    # Rasa kept the whole turn, and gapdesk recorded it once.
    assert user_texts(bot, str(chat_id)) == [text]
    assert any("Standard delivery" in t for t in bot_texts(bot, str(chat_id)))
    [turn] = bot.conversation(str(chat_id), turns=1)["turns"]
    assert turn["customer_text"] == text
    assert rasa_log(bot).count(TELEGRAM_FAILURE) > failures_before


def test_an_agents_reply_telegram_refuses_is_reported_not_delivered(
    bot: RunningBot, telegram: tuple[str, FakeTelegram], agent: Agent, chat_id: int
) -> None:
    fake, conversation_id = telegram[1], str(chat_id)
    post_update(bot, telegram_update(chat_id, ASK_FOR_A_PERSON), TELEGRAM_SECRET)
    take_over(bot, agent, conversation_id)
    fake.failing[conversation_id] = "500"
    location, page = console_reply(agent, conversation_id, "Hi, Cara here.")
    assert "notice=rasa_down" in location and NOT_DELIVERED in page
    assert fake.refused_to(chat_id) == ["Cara: Hi, Cara here."]
    assert agent_replies(bot, conversation_id) == []
    assert "Cara: Hi, Cara here." not in bot_texts(bot, conversation_id)

    del fake.failing[conversation_id]  # Telegram is back: the agent tries again
    location, _ = console_reply(agent, conversation_id, "Hi, Cara here.")
    assert location.endswith("notice=replied")
    assert fake.texts_to(chat_id)[-1] == "Cara: Hi, Cara here."
    assert agent_replies(bot, conversation_id) == ["Hi, Cara here."]


def test_only_the_secret_holder_may_register_the_webhook_again(
    bot: RunningBot, telegram: tuple[str, FakeTelegram]
) -> None:
    url = f"{bot.settings.rasa_url}/webhooks/telegram/set_webhook"
    before = len(telegram[1].called("setWebhook"))
    assert httpx.post(url, timeout=30).status_code == 403
    assert len(telegram[1].called("setWebhook")) == before
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    assert httpx.post(url, headers=headers, timeout=30).status_code == 200
    assert telegram[1].called("setWebhook")[-1]["secret_token"] == TELEGRAM_SECRET


def test_the_telegram_health_check_needs_no_secret(bot: RunningBot) -> None:
    assert httpx.get(f"{bot.settings.rasa_url}/webhooks/telegram/", timeout=10).status_code == 200


def test_an_unreachable_telegram_is_logged_and_the_bot_still_serves(
    start_bot: BotFactory, conversation_id: str
) -> None:
    [closed] = free_ports(1)  # nothing listens there, as Telegram from a machine offline
    offline = start_bot(
        telegram_token=TELEGRAM_TOKEN,
        telegram_bot_name=TELEGRAM_BOT,
        telegram_webhook_url="https://bot.example.com/webhooks/telegram/webhook",
        telegram_api_url=f"http://127.0.0.1:{closed}",
    )
    wait_for(
        lambda: "Telegram: could not register the webhook" in rasa_log(offline),
        "the logged failure",
    )
    assert offline.say(conversation_id, "My new card still hasn't arrived, where is it?")


# -- Twilio -----------------------------------------------------------------------------


def twilio_form(sender: str, text: str) -> dict[str, str]:
    """The fields Twilio posts for an incoming WhatsApp message."""
    sid = "SM" + random.randbytes(16).hex()
    return {
        "SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Ada", "MessageType": "text",
        "SmsSid": sid, "WaId": sender.removeprefix("whatsapp:+"), "SmsStatus": "received",
        "Body": text, "To": "whatsapp:+14155238886", "NumSegments": "1",
        "ReferralNumMedia": "0", "MessageSid": sid,
        "AccountSid": "AC0123456789abcdef0123456789abcdef", "From": sender,
        "ApiVersion": "2010-04-01",
    }  # fmt: skip


def twilio_signature(url: str, form: dict[str, str], auth_token: str = TWILIO_TOKEN) -> str:
    """Twilio's documented scheme: HMAC-SHA1 of the URL followed by every field's name
    and value in name order, base64-encoded."""
    signed = url + "".join(name + form[name] for name in sorted(form))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def post_twilio(bot: RunningBot, form: dict[str, str], signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return httpx.post(
        f"{bot.settings.rasa_url}/webhooks/twilio/webhook",
        content=urlencode(form),
        headers=headers,
        timeout=60,
    )


@pytest.fixture
def sender() -> str:
    return f"whatsapp:+1555{random.randint(10**6, 10**7 - 1)}"


def test_a_signed_twilio_message_reaches_the_bot_and_a_failed_reply_is_logged(
    bot: RunningBot, sender: str
) -> None:
    failures_before = rasa_log(bot).count(TWILIO_FAILURE)
    text = "My new card still hasn't arrived, where is it?"
    form = twilio_form(sender, text)
    assert post_twilio(bot, form, twilio_signature(TWILIO_URL, form)).status_code == 204
    # The reply could not leave this machine, yet the turn was kept whole.
    assert user_texts(bot, sender) == [text]
    assert any("Standard delivery" in e.get("text", "") for e in events(bot, sender))
    assert rasa_log(bot).count(TWILIO_FAILURE) > failures_before


def test_an_agents_reply_twilio_does_not_take_is_not_stored_as_sent(
    bot: RunningBot, agent: Agent, sender: str
) -> None:
    form = twilio_form(sender, ASK_FOR_A_PERSON)
    assert post_twilio(bot, form, twilio_signature(TWILIO_URL, form)).status_code == 204
    take_over(bot, agent, sender)
    location, page = console_reply(agent, sender, "Hi, Cara here.")
    assert "notice=rasa_down" in location and NOT_DELIVERED in page
    assert agent_replies(bot, sender) == []
    assert "Cara: Hi, Cara here." not in bot_texts(bot, sender)
    assert "Twilio: a message pushed through Rasa's HTTP API was not sent" in rasa_log(bot)


def test_the_console_client_reaches_a_whatsapp_conversation(bot: RunningBot, sender: str) -> None:
    form = twilio_form(sender, "hello")
    assert post_twilio(bot, form, twilio_signature(TWILIO_URL, form)).status_code == 204
    assert [e["text"] for e in bot.client.tracker(sender)["events"] if e["event"] == "user"] == [
        "hello"
    ]


@pytest.mark.parametrize(
    "signing",
    [
        lambda form, local: None,  # no signature
        lambda form, local: twilio_signature(TWILIO_URL, form, "another-account-token"),
        lambda form, local: twilio_signature(TWILIO_URL, {**form, "Body": "something else"}),
        # Signed for the URL the request reached, not the one Twilio was given.
        lambda form, local: twilio_signature(local, form),
    ],
    ids=["none", "other-token", "other-body", "other-url"],
)
def test_a_message_twilio_did_not_sign_is_refused(
    bot: RunningBot, sender: str, signing: Callable[[dict[str, str], str], str | None]
) -> None:
    form = twilio_form(sender, "freeze my card")
    local = f"{bot.settings.rasa_url}/webhooks/twilio/webhook"
    assert post_twilio(bot, form, signing(form, local)).status_code == 403
    assert user_texts(bot, sender) == []


# -- Slack ------------------------------------------------------------------------------


def post_slack(bot: RunningBot, body: dict[str, Any], secret: str) -> httpx.Response:
    raw = json.dumps(body)
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{raw}".encode(), hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    return httpx.post(
        f"{bot.settings.rasa_url}/webhooks/slack/webhook", content=raw, headers=headers, timeout=30
    )


def test_a_slack_event_signed_with_another_secret_is_refused(bot: RunningBot) -> None:
    user = f"U{random.randint(10**8, 10**9)}"
    event = {
        "type": "event_callback",
        "event": {"type": "message", "channel_type": "im", "channel": "D0123", "user": user,
                  "text": "freeze my card", "ts": f"{time.time():.6f}"},
    }  # fmt: skip
    assert post_slack(bot, event, "not-the-signing-secret").status_code == 400
    time.sleep(1)  # Slack's channel would handle the message in the background
    assert user_texts(bot, user) == []


def test_slacks_url_check_is_answered_with_the_configured_secret(bot: RunningBot) -> None:
    body = {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification"}  # fmt: skip
    answer = post_slack(bot, body, SLACK_SECRET)
    assert answer.status_code == 200 and answer.json() == body["challenge"]
