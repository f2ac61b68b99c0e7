"""A card number, an IBAN, an email and a phone number, sent through every channel the
bot has, are found in no database, log or spool: only their placeholders are.

One bot serves REST, callback, socket.io (the widget), and Telegram, Twilio and Slack
with stand-in providers (as tests/e2e/test_messaging_channels.py). Its database has no
tables at first, so the action server keeps every record in its spool under var/; then
the database is created, the spool is replayed, and an agent answers a customer in the
console with personal data that must reach the customer whole and be kept masked.
Every file the bot wrote (SQLite databases and their journals, logs, var/) is read byte
by byte, and every SQLite table row by row.
"""

from __future__ import annotations

import html
import json
import queue
import random
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from console.urls import conversation_url
from gapdesk.accounts import create_user
from gapdesk.storage.migrate import upgrade
from tests.e2e.conftest import ROOT, BotFactory, QuietHandler, RunningBot, stand_in_service
from tests.e2e.test_console import PASSWORD, signed_in
from tests.e2e.test_messaging_channels import (
    ASK_FOR_A_PERSON,
    SLACK_SECRET,
    TELEGRAM_BOT,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_TOKEN,
    TWILIO_URL,
    FakeTelegram,
    post_slack,
    post_twilio,
    post_update,
    telegram,  # noqa: F401 (the stand-in Telegram Bot API, a fixture)
    telegram_update,
    twilio_form,
    twilio_signature,
    wait_for,
)

pytestmark = pytest.mark.e2e

CARD = "4556 7375 8689 9855"
IBAN = "GB82 WEST 1234 5698 7654 32"
EMAIL = "ada.lovelace@example.org"
PHONE = "+44 20 7946 0880"
MESSAGE = f"My card {CARD} is gone; refund {IBAN}, mail {EMAIL} or ring {PHONE}"
MASKED = "My card [CARD] is gone; refund [IBAN], mail [EMAIL] or ring [PHONE]"
AGENT_REPLY = f"I've written to {EMAIL} and will ring {PHONE}"
AGENT_REPLY_MASKED = "I've written to [EMAIL] and will ring [PHONE]"


def spellings(value: str) -> set[str]:
    """How a value may be written down: as sent, URL-encoded (a form's or a query's
    fields), and, for numbers, its digits alone."""
    found = {value, quote(value), quote_plus(value)}
    if any(char.isdigit() for char in value) and "@" not in value:
        found.add("".join(char for char in value if char.isalnum()))
    return found


RAW = sorted(set().union(*map(spellings, (CARD, IBAN, EMAIL, PHONE))))


def found_in_files(folder: Path) -> list[str]:
    """Each file under ``folder`` holding a raw value, with the value."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            found += [f"{path}: {raw!r}" for raw in RAW if raw.encode() in content]
    return found


def sqlite_rows(path: Path) -> Iterator[tuple[str, str]]:
    """(table, the row's values as text) for every row of every table of a SQLite file."""
    with closing(sqlite3.connect(path)) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for (table,) in tables.fetchall():
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                values = (
                    v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in row
                )
                yield table, " | ".join(values)


def found_in_sqlite(path: Path) -> list[str]:
    return [
        f"{path.name}, table {table}: {raw!r} in {row[:300]}"
        for table, row in sqlite_rows(path)
        for raw in RAW
        if raw in row
    ]


def sqlite_text(path: Path) -> str:
    return "\n".join(row for _, row in sqlite_rows(path))


@pytest.fixture(scope="module")
def callbacks() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A stand-in for a business's own service that receives Rasa's callbacks."""
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Receiver(QuietHandler):
        def do_POST(self) -> None:
            received.put(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

    with stand_in_service(Receiver) as url:
        yield f"{url}/bot", received


@pytest.fixture(scope="module")
def bot(
    start_bot: BotFactory,
    telegram: tuple[str, FakeTelegram],  # noqa: F811 (the fixture imported above)
    callbacks: tuple[str, queue.Queue[dict[str, Any]]],
) -> RunningBot:
    """Every channel connected; a database without tables (prepare_database=False)."""
    return start_bot(
        prepare_database=False,
        callback_url=callbacks[0],
        telegram_token=TELEGRAM_TOKEN,
        telegram_bot_name=TELEGRAM_BOT,
        telegram_webhook_url="https://bot.example.com/webhooks/telegram/webhook",
        telegram_secret_token=TELEGRAM_SECRET,
        telegram_api_url=telegram[0],
        twilio_account_sid="AC0123456789abcdef0123456789abcdef",
        twilio_auth_token=TWILIO_TOKEN,
        twilio_number="whatsapp:+14155238886",
        twilio_webhook_url=TWILIO_URL,
        slack_token="xoxb-0000-e2e",
        slack_signing_secret=SLACK_SECRET,
    )


# The widget, as a browser's rasa-webchat speaks socket.io, with customData metadata.
_WIDGET = """
import asyncio, sys
import socketio

async def main(url, text, email):
    client = socketio.AsyncClient()
    confirmed, replies = asyncio.Queue(), asyncio.Queue()
    client.on("session_confirm", lambda session_id: confirmed.put_nowait(session_id))
    client.on("bot_uttered", lambda message: replies.put_nowait(message))
    await client.connect(url, socketio_path="/socket.io", transports=["websocket"])
    await client.emit("session_request", {"session_id": ""})
    session_id = await asyncio.wait_for(confirmed.get(), 10)
    await client.emit("user_uttered", {"message": text, "session_id": session_id,
                                       "customData": {"email": email}})
    await asyncio.wait_for(replies.get(), 60)
    await client.disconnect()
    print(session_id)

asyncio.run(main(*sys.argv[1:4]))
"""


def send_everywhere(bot: RunningBot) -> dict[str, str]:
    """MESSAGE through each channel; the conversation id each one gave it, by channel."""
    rasa = bot.settings.rasa_url
    ids = {
        "rest": f"e2e-pd-rest-{random.randint(10**5, 10**6)}",
        "callback": f"e2e-pd-callback-{random.randint(10**5, 10**6)}",
        "telegram": str(random.randint(10**8, 10**10)),
        "twilio": f"whatsapp:+1555{random.randint(10**6, 10**7 - 1)}",
        "slack": f"U{random.randint(10**8, 10**9)}",
    }
    assert bot.say(ids["rest"], MESSAGE)
    for text in (MESSAGE, ASK_FOR_A_PERSON):  # the callback customer then wants a person
        answer = httpx.post(
            f"{rasa}/webhooks/callback/webhook",
            json={"sender": ids["callback"], "message": text},
            headers={"Authorization": f"Bearer {bot.client.webhook_token}"},
            timeout=60,
        )
        assert answer.status_code == 200
    widget = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", _WIDGET, rasa, MESSAGE, EMAIL],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    ids["socketio"] = widget.stdout.strip().splitlines()[-1]
    update = telegram_update(int(ids["telegram"]), MESSAGE)
    assert post_update(bot, update, TELEGRAM_SECRET).status_code == 200
    form = twilio_form(ids["twilio"], MESSAGE)
    assert post_twilio(bot, form, twilio_signature(TWILIO_URL, form)).status_code == 204
    event = {
        "type": "event_callback",
        "event": {"type": "message", "channel_type": "im", "channel": "D0123",
                  "user": ids["slack"], "text": MESSAGE, "ts": f"{time.time():.6f}"},
    }  # fmt: skip
    assert post_slack(bot, event, SLACK_SECRET).status_code == 200
    return ids


def user_texts(bot: RunningBot, conversation_id: str) -> list[str]:
    events = bot.client.tracker(conversation_id)["events"]
    return [e["text"] for e in events if e["event"] == "user"]


def _text_of(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


def _next_callback(received: queue.Queue[dict[str, Any]], starting: str) -> str:
    """The next text pushed to the callback URL that starts with ``starting``."""
    deadline = time.monotonic() + 30
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            seen.append(str(received.get(timeout=left).get("text")))
        except queue.Empty:
            break
        if seen[-1].startswith(starting):
            return seen[-1]
    raise AssertionError(f"no callback starting with {starting!r}; received {seen}")


def test_personal_data_reaches_no_database_log_or_spool(
    bot: RunningBot, callbacks: tuple[str, queue.Queue[dict[str, Any]]]
) -> None:
    work = bot.log_dir.parent  # the bot's databases, logs/ and var/
    ids = send_everywhere(bot)

    # Rasa kept each message, masked. Slack's reply cannot leave this machine, and Rasa
    # keeps nothing of a turn whose reply failed: that turn is in gapdesk's records only.
    for channel, conversation_id in ids.items():
        if channel != "slack":
            assert MASKED in user_texts(bot, conversation_id), channel

    # The database has no tables yet: the action server spooled every record.
    spool = bot.settings.var_path / "spool"
    wait_for(
        lambda: all(json.dumps(i) in _text_of(spool) for i in ids.values()),
        "every conversation's records in the spool",
    )
    assert MASKED in _text_of(spool)
    assert found_in_files(work) == []

    # The database comes back: the spool is replayed into it.
    upgrade(bot.settings.database_url)
    for conversation_id in ids.values():
        turns = bot.conversation(conversation_id, turns=1, timeout=30)["turns"]
        assert turns[0]["customer_text"] == MASKED

    # An agent answers the callback customer with personal data: the customer gets it
    # whole, everything kept has it masked.
    create_user(bot.store, "cara", PASSWORD, "agent", display_name="Cara")
    agent, csrf = signed_in(bot, "cara")
    try:
        page_path = conversation_url(ids["callback"])
        wait_for(lambda: "Take over" in agent.get(page_path).text, "the escalation in the console")
        claimed = agent.post(conversation_url(ids["callback"], "claim"), data={"csrf_token": csrf})
        assert "notice=claimed" in claimed.headers["location"]
        agent.post(
            conversation_url(ids["callback"], "reply"),
            data={"csrf_token": csrf, "text": AGENT_REPLY},
        )
        assert _next_callback(callbacks[1], "Cara") == f"Cara: {AGENT_REPLY}"
        transcript = html.unescape(agent.get(page_path).text)
    finally:
        agent.close()
    assert MASKED in transcript and AGENT_REPLY_MASKED in transcript
    assert [raw for raw in RAW if raw in transcript] == []
    events = bot.client.tracker(ids["callback"])["events"]
    assert f"Cara: {AGENT_REPLY_MASKED}" in [e.get("text") for e in events if e["event"] == "bot"]

    databases = [Path(url.removeprefix("sqlite:///")) for url in (
        bot.settings.database_url, bot.settings.tracker_store_url
    )]  # fmt: skip
    for database in databases:
        assert found_in_sqlite(database) == []
        assert MASKED in sqlite_text(database)
        assert AGENT_REPLY_MASKED in sqlite_text(database)
    assert found_in_files(work) == []
