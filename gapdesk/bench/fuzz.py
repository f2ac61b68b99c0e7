"""Hostile inputs for every public endpoint, from a seed: what ``gapdesk benchmark fuzz``
and ``tests/e2e/test_fuzz.py`` send.

Each :class:`Probe` is one request with what must come of it:

* ``MESSAGE``: a well-formed customer message with a hostile text
  (:mod:`gapdesk.bench.hostile_texts`: control characters, 100 KB, empty, bidi
  overrides, other scripts, markup, SQL, templates, slash commands with broken JSON,
  intents that do not exist). It must be answered: REST and socket.io return the
  replies, and every channel keeps the turn in Rasa's tracker.
* ``MALFORMED``: a request no channel should take (a wrong JSON type in a field, a field
  missing, a body that is not JSON or not UTF-8, a wrong content type, a lone
  surrogate). It must get a 4xx whose JSON says what is wrong (socket.io: an error
  event).
* ``ANY``: a request that is neither, such as a Telegram update without a message, or
  a console form: any answer but a server error (console pages must escape what they
  show).

The generator is the contract: it knows which fields each channel reads and of which
type (``bot/payloads.py`` enforces the same). Signatures, tokens and session ids are
the runner's business (:mod:`gapdesk.bench.fuzz_run`): probes hold what is sent, not
how it is authenticated. The same seed and count give the same probes.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gapdesk.bench.hostile_texts import PLAIN, hostile_text, wrong_value

MESSAGE, MALFORMED, ANY = "message", "malformed", "any"
JSON, FORM, RAW = "json", "form", "raw"

CHANNELS = ("rest", "callback", "socketio", "telegram", "twilio", "slack")
CONSOLE = ("console_login", "console_reply", "console_label", "console_hand_back")
ENDPOINTS = CHANNELS + CONSOLE


@dataclass(frozen=True)
class Probe:
    """One request to one endpoint, and what must come of it (``expect``)."""

    endpoint: str
    expect: str
    category: str  # what makes it hostile: "text/bidi", "field/metadata=a string", ...
    payload: Any  # a JSON value, form fields as (name, value) pairs, or raw bytes
    encoding: str = JSON
    content_type: str | None = None  # None: the encoding's own
    text: str | None = None  # a MESSAGE's text as the customer wrote it
    conversation: str = ""  # the customer: sender, chat id, phone number, Slack user
    target: str = ""  # socket.io: the session id to send; console: what the path names


def _sender(rng: random.Random) -> str:
    return "fz-" + "".join(rng.choice(string.hexdigits.lower()) for _ in range(12))


BAD_SENDERS = ("", "a b", "line\nbreak", "100% sure?", "x" * 256, "ü", "<script>", "a#b")
# Bodies that are not a JSON object, whatever the content type says.
RAW_BODIES = (
    b"",
    b"not json",
    b"{",
    b'{"sender": "x", "message": "hi"',
    b"\xff\xfe\xfd",
    b'{"message": "\xc3\x28"}',
    b"[" * 5000 + b"]" * 5000,
    b"null",
    b"42",
    b'"a string"',
    b"\x00" * 64,
)
CONTENT_TYPES = (
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "application/json; charset=latin-1",
)


def _raw(rng: random.Random, endpoint: str) -> Probe:
    return Probe(endpoint, MALFORMED, "body/not a JSON object", rng.choice(RAW_BODIES), RAW)


# -- REST and callback ------------------------------------------------------------------------


# What the REST and callback webhooks read, and the JSON types each field may have.
REST_FIELDS = {
    "sender": ("a string",),
    "message": ("a string",),
    "metadata": ("an object", "null"),
    "input_channel": ("a string", "null"),
}


def _rest(endpoint: str) -> Callable[[random.Random, int], Probe]:
    def make(rng: random.Random, limit: int) -> Probe:
        sender = _sender(rng)
        category, text = hostile_text(rng, limit)
        body: dict[str, Any] = {"sender": sender, "message": text}
        if rng.random() < 0.3:
            body["metadata"] = rng.choice([None, {}, {"customData": {"lang": "en"}}, {"a": [1]}])
        roll = rng.random()
        if roll < 0.45:
            return Probe(
                endpoint, MESSAGE, f"text/{category}", body, text=text, conversation=sender
            )
        if roll < 0.75:
            field = rng.choice(list(REST_FIELDS))
            kind, body[field] = wrong_value(rng, *REST_FIELDS[field])
            return Probe(endpoint, MALFORMED, f"field/{field}={kind}", body)
        if roll < 0.82:
            field = rng.choice(["sender", "message"])
            del body[field]
            return Probe(endpoint, MALFORMED, f"field/{field} missing", body)
        if roll < 0.88:
            body["sender"] = rng.choice(BAD_SENDERS)
            return Probe(endpoint, MALFORMED, "field/sender=not an id", body)
        if roll < 0.92:
            body["message"] = text + "\ud800"
            return Probe(endpoint, MALFORMED, "text/lone surrogate", body)
        if roll < 0.96:
            return _raw(rng, endpoint)
        # A JSON body under another content type: Rasa reads the body whatever it says.
        content_type = rng.choice(CONTENT_TYPES)
        return Probe(endpoint, MESSAGE, "body/content type", body, JSON, content_type, text, sender)

    return make


# -- socket.io (the web widget) -------------------------------------------------------------


def _socketio(rng: random.Random, limit: int) -> Probe:
    category, text = hostile_text(rng, limit)
    data: dict[str, Any] = {"message": text}
    if rng.random() < 0.3:
        data["customData"] = rng.choice([{"language": "en"}, '{"language": "en"}', None])
    roll = rng.random()
    if roll < 0.5:
        return Probe("socketio", MESSAGE, f"text/{category}", data, text=text, target="issued")
    if roll < 0.7:
        field = rng.choice(["message", "customData"])
        allowed = ["a string"] if field == "message" else ["an object", "null"]
        kind, data[field] = wrong_value(rng, *allowed)
        if field == "customData" and kind == "a string":
            data[field] = rng.choice(["{", "[1]", "not json", '"x"'])
        return Probe("socketio", MALFORMED, f"field/{field}={kind}", data, target="issued")
    if roll < 0.85:
        session = rng.choice(["forged", "none", "wrong type"])
        return Probe("socketio", MALFORMED, f"session/{session}", data, target=session)
    if roll < 0.88:
        kind, value = wrong_value(rng, "an object")
        return Probe("socketio", MALFORMED, f"data={kind}", value, target="issued")
    if roll < 0.94:
        # Short: escaped, a 100 KB text of emoji would pass engine.io's 1 MB frame limit.
        data["message"] = rng.choice(PLAIN) + "\udbff"
        return Probe("socketio", MALFORMED, "text/lone surrogate", data, target="issued")
    del data["message"]
    return Probe("socketio", MALFORMED, "field/message missing", data, target="issued")


# -- Telegram -----------------------------------------------------------------------------------


def _telegram_update(chat_id: int, **message: Any) -> dict[str, Any]:
    person = {"id": chat_id, "first_name": "Ada", "username": "ada_l"}
    return {
        "update_id": 10**8 + chat_id % 10**8,
        "message": {
            "message_id": 1,
            "from": {**person, "is_bot": False},
            "chat": {**person, "type": "private"},
            "date": 1_700_000_000,
            **message,
        },
    }


# The fields of an update Rasa reads, or aiogram parses (a date is read as a Unix time,
# so true is one), and the JSON types each may have; a chat's id must be an integer.
TELEGRAM_FIELDS: dict[str, tuple[str, ...]] = {
    "update_id": ("a number",),
    "message": (),
    "message.chat": (),
    "message.chat.id": (),
    "message.text": ("a string", "null"),
    "message.date": ("a number", "true or false"),
}


def _telegram(rng: random.Random, limit: int) -> Probe:
    chat_id = rng.randint(10**8, 10**10)
    category, text = hostile_text(rng, limit)
    update = _telegram_update(chat_id, text=text)
    chat = str(chat_id)
    roll = rng.random()
    if roll < 0.45:
        return Probe("telegram", MESSAGE, f"text/{category}", update, text=text, conversation=chat)
    if roll < 0.5:  # a button's payload comes back as a callback query
        button = {"id": "1", "data": text, "message": update["message"], "from": {"id": chat_id}}
        query = {"update_id": update["update_id"], "callback_query": button}
        return Probe("telegram", MESSAGE, f"button/{category}", query, text=text, conversation=chat)
    if roll < 0.75:
        field = rng.choice(list(TELEGRAM_FIELDS))
        kind, value = wrong_value(rng, *TELEGRAM_FIELDS[field])
        if field == "message.chat.id" and kind == "a number":
            value = rng.choice([1.5, 1e308])  # a number, but no chat's id
        *path, last = field.split(".")
        parent = update
        for step in path:
            parent = parent[step]
        parent[last] = value
        return Probe("telegram", MALFORMED, f"field/{field}={kind}", update)
    if roll < 0.85:  # updates Telegram sends that hold no customer text
        del update["message"]["text"]
        kind = rng.choice(["photo", "no message"])
        if kind == "photo":
            update["message"]["photo"] = [
                {"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}
            ]
        else:
            update = {"update_id": update["update_id"], "my_chat_member": {}}
        return Probe("telegram", ANY, f"update/{kind}", update)
    if roll < 0.9:
        update["message"]["text"] = text + "\udfff"
        return Probe("telegram", MALFORMED, "text/lone surrogate", update)
    return _raw(rng, "telegram")


# -- Twilio --------------------------------------------------------------------------------------


def _twilio(rng: random.Random, limit: int) -> Probe:
    sender = rng.choice(["+1555", "whatsapp:+1555"]) + str(rng.randint(10**6, 10**7 - 1))
    category, text = hostile_text(rng, limit)
    sid = "SM" + "".join(rng.choice("0123456789abcdef") for _ in range(32))
    form = [("MessageSid", sid), ("AccountSid", "AC" + "0" * 32), ("From", sender), ("Body", text)]
    # Twilio posts empty fields too ("FromCity=" of a number it cannot place), and signs them.
    form += [("To", "whatsapp:+14155238886"), ("NumMedia", "0"), ("FromCity", "")]
    roll = rng.random()
    if roll < 0.5:
        return Probe(
            "twilio", MESSAGE, f"text/{category}", form, FORM, text=text, conversation=sender
        )
    if roll < 0.7:
        field = rng.choice(["From", "Body"])
        form = [(name, value) for name, value in form if name != field]
        return Probe("twilio", MALFORMED, f"field/{field} missing", form, FORM)
    if roll < 0.85:
        form = [(n, rng.choice(BAD_SENDERS) if n == "From" else v) for n, v in form]
        return Probe("twilio", MALFORMED, "field/From=not a number", form, FORM)
    # A JSON body: Twilio posts forms, so nothing of it is read.
    return Probe("twilio", MALFORMED, "body/JSON", {"From": sender, "Body": text}, JSON)


# -- Slack -----------------------------------------------------------------------------------------


def _slack_event(user: str, text: Any) -> dict[str, Any]:
    event = {"type": "message", "channel_type": "im", "channel": "D0123", "user": user,
             "text": text, "ts": "1700000000.000100"}  # fmt: skip
    return {"type": "event_callback", "event": event, "authed_users": ["UBOT"]}


def _slack_click(user: str, value: Any) -> list[tuple[str, str]]:
    payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": "D0123"},
               "actions": [{"type": "button", "value": value}]}  # fmt: skip
    return [("payload", json.dumps(payload))]


def _slack(rng: random.Random, limit: int) -> Probe:
    user = "U" + str(rng.randint(10**8, 10**9))
    category, text = hostile_text(rng, limit)
    # Slack reads "<@U...>" and "<https://...|label>" as mentions and links and removes
    # them, and an empty text is not a message: those texts are sent as clicks.
    as_event = text.strip() and "<" not in text
    roll = rng.random()
    if roll < 0.45 and as_event:
        event = _slack_event(user, text)
        return Probe("slack", MESSAGE, f"text/{category}", event, text=text, conversation=user)
    if roll < 0.5 and text.strip():
        click = _slack_click(user, text)
        return Probe(
            "slack", MESSAGE, f"button/{category}", click, FORM, text=text, conversation=user
        )
    event = _slack_event(user, text or "hello")
    if roll < 0.7:
        field = rng.choice(["event", "event.text", "event.user", "event.channel", "authed_users"])
        allowed = {"event.text": ["a string"], "event.user": ["a string"]}.get(
            field, ["a string", "null"]
        )
        kind, value = wrong_value(rng, *allowed)
        if field == "event":
            kind, value = wrong_value(rng, "an object")
            event["event"] = value
        elif field == "authed_users":
            kind, value = wrong_value(rng, "an array", "null")
            event["authed_users"] = value
        else:
            event["event"][field.split(".")[1]] = value
        # A text Slack's channel reads as empty (0, [], {}, "") is no message: ignored.
        ignored = field == "event.text" and not value
        return Probe("slack", ANY if ignored else MALFORMED, f"field/{field}={kind}", event)
    if roll < 0.8:
        broken = rng.choice(
            [[], [("payload", "{")], [("payload", "[]")], [("payload", json.dumps({"user": {}}))],
             _slack_click(user, 5), [("payload", json.dumps({"actions": [{"type": "view"}]}))]]
        )  # fmt: skip
        return Probe("slack", MALFORMED, "interaction/malformed", broken, FORM)
    if roll < 0.88:
        content_type = rng.choice(CONTENT_TYPES[::2])  # neither JSON nor a form
        return Probe("slack", MALFORMED, "body/content type", event, JSON, content_type)
    if roll < 0.94:
        reaction = {"type": "event_callback", "event": {"type": "reaction_added", "user": user}}
        return Probe("slack", ANY, "event/not a message", reaction)
    return _raw(rng, "slack")


# -- the console -----------------------------------------------------------------------------------


def _console_text(rng: random.Random, limit: int) -> tuple[str, str]:
    category, text = hostile_text(rng, limit)
    return category, text if category != "huge" else text[: rng.choice([2_001, 100_000])]


def _console_login(rng: random.Random, limit: int) -> Probe:
    category, text = _console_text(rng, limit)
    fields = {"csrf_token": "valid", "username": text, "password": text, "next": text}
    if rng.random() < 0.3:
        field = rng.choice(list(fields))
        fields[field] = rng.choice(["", "x" * 5000, "\x00", "<script>alert(1)</script>"])
        category = f"field/{field}"
    form = [(name, value) for name, value in fields.items() if rng.random() > 0.1]
    return Probe("console_login", ANY, category, form, FORM, _console_type(rng))


def _console_type(rng: random.Random) -> str | None:
    return None if rng.random() < 0.85 else rng.choice(CONTENT_TYPES + ("application/json",))


def _console_form(endpoint: str, field: str) -> Callable[[random.Random, int], Probe]:
    def make(rng: random.Random, limit: int) -> Probe:
        category, text = _console_text(rng, limit)
        form = [("csrf_token", "valid"), (field, text)]
        if endpoint == "console_label":
            form += [("is_gap", rng.choice(["yes", "no", "maybe", "", text])),
                     ("correct_intent", rng.choice(["", "card_arrival", "oos", text]))]  # fmt: skip
        target = "claimed"
        if rng.random() < 0.2:  # a path naming what is not there, or cannot be
            target = rng.choice(
                [
                    "../../etc/passwd",
                    "%00",
                    "a" * 300,
                    "<script>",
                    "-1",
                    "0",
                    "99999999999999999999",
                ]
            )
            category = "path/" + category
        return Probe(
            endpoint, ANY, category, form, FORM, _console_type(rng), text=text, target=target
        )

    return make


MAKERS: dict[str, Callable[[random.Random, int], Probe]] = {
    "rest": _rest("rest"),
    "callback": _rest("callback"),
    "socketio": _socketio,
    "telegram": _telegram,
    "twilio": _twilio,
    "slack": _slack,
    "console_login": _console_login,
    "console_reply": _console_form("console_reply", "text"),
    "console_label": _console_form("console_label", "ideal_answer"),
    "console_hand_back": _console_form("console_hand_back", "message"),
}


def probes(
    seed: int, count: int, limit: int, endpoints: Sequence[str] = ENDPOINTS
) -> Iterator[Probe]:
    """``count`` probes, the endpoints in turn; the same arguments give the same probes.

    ``limit`` is the bot's message-size limit (``GAPDESK_MAX_MESSAGE_CHARS``): some texts
    are just over it, some exactly at it.
    """
    rng = random.Random(seed)
    for index in range(count):
        yield MAKERS[endpoints[index % len(endpoints)]](rng, limit)
