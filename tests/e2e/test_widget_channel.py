"""The widget's socket.io channel: Rasa issues every conversation id, none can be forged.

A socket.io client (python-socketio, in Rasa's environment, as a browser's widget
would speak) asks for another customer's conversation and writes into it.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from tests.e2e.conftest import ROOT, RunningBot

pytestmark = pytest.mark.e2e

_CLIENT = """
import asyncio, json, sys
import socketio

async def main(url, wanted):
    client = socketio.AsyncClient()
    confirmed, replies = asyncio.Queue(), []
    client.on("session_confirm", lambda session_id: confirmed.put_nowait(session_id))
    client.on("bot_uttered", lambda message: replies.append(message.get("text")))
    await client.connect(url, socketio_path="/socket.io", transports=["websocket"])
    await client.emit("session_request", {"session_id": wanted})
    given = await asyncio.wait_for(confirmed.get(), 10)
    # Write into the wanted conversation anyway, then into the one given.
    await client.emit("user_uttered", {"message": "hello from a stranger", "session_id": wanted})
    await asyncio.sleep(3)
    replies_to_forged = list(replies)
    await client.emit("user_uttered", {"message": "hello", "session_id": given})
    for _ in range(40):
        if len(replies) > len(replies_to_forged):
            break
        await asyncio.sleep(0.5)
    await client.disconnect()
    print(json.dumps({"given": given, "forged": replies_to_forged, "replies": replies}))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def _widget_client(bot: RunningBot, wanted: str) -> dict:
    done = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", _CLIENT, bot.settings.rasa_url, wanted],
        capture_output=True, text=True, timeout=90, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_widget_cannot_join_or_write_into_another_conversation(bot: RunningBot) -> None:
    victim = f"whatsapp:+1555{uuid.uuid4().int % 10**7:07d}"
    assert bot.say(victim, "hello"), "the victim's conversation exists"

    seen = _widget_client(bot, victim)

    assert seen["given"] != victim and len(seen["given"]) == 32  # a new conversation
    assert seen["forged"] == [], "nothing may answer a message with a forged session id"
    assert seen["replies"], "the conversation Rasa issued is answered"
    victim_messages = [
        e["text"] for e in bot.client.tracker(victim)["events"] if e["event"] == "user"
    ]
    assert victim_messages == ["hello"]


def test_a_widget_keeps_the_conversation_rasa_gave_it(bot: RunningBot) -> None:
    first = _widget_client(bot, "")
    again = _widget_client(bot, first["given"])  # a reload: the widget sends its stored id
    assert again["given"] == first["given"]
