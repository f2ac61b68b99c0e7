"""What a request must hold before a channel hands it to Rasa, said in words.

Rasa 3.6's channels read the fields they need without looking at their types: a REST
``metadata`` that is a string was accepted (200) and the message silently lost (Rasa
logged a TypeError), a Slack event whose ``event`` is a list answered 500, a Telegram
update without a message answered 500, a Twilio post without ``Body`` answered 500.
Each check here looks at exactly what Rasa's channel will read and returns what is
wrong with it, for a 400 whose JSON says so (or, for socket.io, an error event), or
None when Rasa may have the request.

Plain functions over parsed bodies, without Rasa: ``bot/channels.py`` and
``bot/widget_channel.py`` call them, and they are unit-tested without Rasa's
environment (``tests/bot/test_payloads.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

# The conversations table's id column holds 255 characters. Rasa's HTTP API does not
# unquote the ids in its URLs, so an id the console can reach holds only characters a
# URL path carries as they are (no control characters either).
MAX_SENDER_LENGTH = 255
SENDER = re.compile(rf"[A-Za-z0-9\-._~/:@+!$&'()*,;=]{{1,{MAX_SENDER_LENGTH}}}")
SENDER_RULE = (
    f"1 to {MAX_SENDER_LENGTH} ASCII letters, digits or - . _ ~ / : @ + ! $ & ' ( ) * , ; ="
)
# gapdesk records the channel's name in a column of 64 characters.
CHANNEL_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

# Slack's interactive components Rasa 3.6 reads, and where each keeps the value it sends
# as the customer's message (rasa.core.channels.slack.SlackInput._get_interactive_response).
SLACK_ACTION_VALUES: dict[str, tuple[str | int, ...]] = {
    "button": ("value",),
    "select": ("selected_options", 0, "value"),
    "static_select": ("selected_option", "value"),
    "external_select": ("selected_option", "value"),
    "overflow": ("selected_option", "value"),
    "conversations_select": ("selected_conversation",),
    "users_select": ("selected_user",),
    "channels_select": ("selected_channel",),
    "datepicker": ("selected_date",),
}
SLACK_MESSAGE_EVENTS = ("message", "app_mention")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Ignored(str):
    """A request the channel answers 200 without a turn: well formed, but nothing Rasa
    reads as a customer's message (a photo without a caption, a bot's own message)."""


def json_type(value: object) -> str:
    """The JSON name of a value's type, as an error message says it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def lone_surrogate(value: object) -> str | None:
    """The first lone surrogate (``"\\ud800"``: valid JSON, but not text) in a parsed
    body's strings and keys, as an escape, or None. Rasa would take it, then fail to
    store it. Iterative: a body may nest as deep as the JSON parser allows."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if found := _SURROGATE.search(item):
                return f"\\u{ord(found.group()):04x}"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _not_unicode(value: object) -> str | None:
    found = lone_surrogate(value)
    return f"the request holds a lone surrogate ({found}), which is not text" if found else None


def _expected(name: str, what: str, value: object) -> str:
    return f"'{name}' must be {what}, not {json_type(value)}"


def _at(value: object, *path: str | int) -> object:
    """``value[path[0]][path[1]]...``, or None where a step is missing or of another kind."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or len(value) <= step:
                return None
            value = value[step]
        elif isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


def _sender(name: str, value: object) -> str | None:
    if isinstance(value, str) and SENDER.fullmatch(value):
        return None
    if isinstance(value, str):
        return f"'{name}' must be {SENDER_RULE}"
    return _expected(name, f"a string of {SENDER_RULE}", value)


def _optional_object(name: str, value: object) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    return _expected(name, "a JSON object (or left out)", value)


# -- REST and callback ------------------------------------------------------------------


def rest_refusal(body: object) -> str | None:
    """What is wrong with a REST or callback webhook's body, or None."""
    if not isinstance(body, dict):
        return f"the body must be a JSON object, not {json_type(body)}"
    message = body.get("message")
    return (
        _sender("sender", body.get("sender"))
        or (None if isinstance(message, str) else _expected("message", "a string", message))
        or _optional_object("metadata", body.get("metadata"))
        or _channel_name(body.get("input_channel"))
        or _not_unicode(body)
    )


def _channel_name(value: object) -> str | None:
    if value is None or (isinstance(value, str) and CHANNEL_NAME.fullmatch(value)):
        return None
    rule = "a channel name (1 to 64 letters, digits, _ - .) or left out"
    return (
        f"'input_channel' must be {rule}"
        if isinstance(value, str)
        else _expected("input_channel", rule, value)
    )


# -- Telegram -----------------------------------------------------------------------------


def _telegram_chat(name: str, message: object) -> str | None:
    chat_id = _at(message, "chat", "id")
    if type(chat_id) is int:
        return None
    return _expected(f"{name}.chat.id", "an integer (the chat's id)", chat_id)


def telegram_refusal(update: object) -> str | Ignored | None:
    """What is wrong with a Telegram update's shape as Rasa reads it, or None.

    Rasa reads the first of ``callback_query`` (a button), ``edited_message`` and
    ``message``; a message that is neither text nor a location is ignored, as Rasa does.
    """
    if not isinstance(update, dict):
        return f"the body must be a JSON object (a Telegram update), not {json_type(update)}"
    if type(update.get("update_id")) is not int:
        return _expected("update_id", "an integer", update.get("update_id"))
    if (unicode := _not_unicode(update)) is not None:
        return unicode
    if "callback_query" in update:
        query = update["callback_query"]
        if not isinstance(query, dict):
            return _expected("callback_query", "an object", query)
        if not isinstance(query.get("message"), dict):
            return _expected("callback_query.message", "an object", query.get("message"))
        data = query.get("data")
        return _telegram_chat("callback_query.message", query["message"]) or (
            None if isinstance(data, str) else _expected("callback_query.data", "a string", data)
        )
    name = "edited_message" if "edited_message" in update else "message"
    if name not in update:
        return Ignored("an update without a message")
    message = update[name]
    if not isinstance(message, dict):
        return _expected(name, "an object", message)
    if (wrong := _telegram_chat(name, message)) is not None:
        return wrong
    text = message.get("text")
    if text is not None:
        return None if isinstance(text, str) else _expected(f"{name}.text", "a string", text)
    if name == "message" and message.get("location") is not None:
        location = message["location"]
        coordinates = [_at(location, key) for key in ("latitude", "longitude")]
        if all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates):
            return None
        return _expected(
            f"{name}.location", "an object with numbers 'latitude', 'longitude'", location
        )
    return Ignored("a message without text")


# -- Twilio -------------------------------------------------------------------------------


def twilio_refusal(field: Callable[[str], str | None]) -> str | None:
    """What is wrong with a Twilio post's form as Rasa reads it (``field(name)`` is the
    form's first value of a field, or None), or None."""
    sender, text = field("From"), field("Body")
    if sender is None:
        return "'From' is missing (the customer's number)"
    if not SENDER.fullmatch(sender):
        return f"'From' must be {SENDER_RULE}"
    location = field("Latitude") is not None and field("Longitude") is not None
    if text is None and not location:
        return "'Body' is missing (the message's text)"
    return _not_unicode([sender, text, field("Latitude"), field("Longitude")])


# -- Slack --------------------------------------------------------------------------------


def _slack_users(body: Mapping[str, Any]) -> str | None:
    users = body.get("authed_users")
    if users is not None and not (
        isinstance(users, list) and all(isinstance(u, str) for u in users)
    ):
        return _expected("authed_users", "an array of user ids", users)
    authorizations = body.get("authorizations")
    if authorizations is None or authorizations == []:
        return None
    if isinstance(authorizations, list) and isinstance(authorizations[0], dict):
        return None
    return _expected("authorizations", "an array of objects", authorizations)


def slack_event_refusal(body: object) -> str | None:
    """What is wrong with a Slack Events API body (JSON) as Rasa reads it, or None."""
    if not isinstance(body, dict):
        return f"the body must be a JSON object, not {json_type(body)}"
    event = body.get("event", {})
    if not isinstance(event, dict):
        return _expected("event", "an object", event)
    if (wrong := _slack_users(body) or _not_unicode(body)) is not None:
        return wrong
    text = event.get("text")
    if event.get("type") not in SLACK_MESSAGE_EVENTS or not text or event.get("bot_id"):
        return None  # Rasa answers "not a user message" and ignores it
    channel = event.get("channel")
    return (
        (None if isinstance(text, str) else _expected("event.text", "a string", text))
        or _sender("event.user", event.get("user"))
        or (
            None
            if channel is None or isinstance(channel, str)
            else _expected("event.channel", "a channel id", channel)
        )
    )


def slack_interaction_refusal(payload_field: str | None) -> str | None:
    """What is wrong with a Slack interaction (the form's ``payload`` field, JSON), or None.

    Rasa reads buttons, selects, overflow menus and date pickers; it answered 500 to any
    other payload, and a value that is not a string lost the click.
    """
    if payload_field is None:
        return "'payload' is missing (a form field holding the interaction as JSON)"
    try:
        payload = json.loads(payload_field)
    except ValueError as error:
        return f"'payload' is not JSON: {error}"
    if not isinstance(payload, dict):
        return _expected("payload", "a JSON object", payload)
    for name in ("message", "user", "channel"):
        if (wrong := _optional_object(f"payload.{name}", payload.get(name))) is not None:
            return wrong
    actions = payload.get("actions")
    if not (isinstance(actions, list) and actions and isinstance(actions[0], dict)):
        return _expected("payload.actions", "a non-empty array of objects", actions)
    kind = actions[0].get("type")
    if kind not in SLACK_ACTION_VALUES:
        readable = ", ".join(SLACK_ACTION_VALUES)
        return f"'payload.actions[0].type' must be one of {readable}"
    value = _at(actions[0], *SLACK_ACTION_VALUES[kind])
    link_button = kind == "button" and "value" not in actions[0]  # Rasa answers 200
    return (
        _sender("payload.user.id", _at(payload, "user", "id"))
        or (
            None
            if isinstance(value, str) or link_button
            else _expected(f"payload.actions[0] ({kind})'s value", "a string", value)
        )
        or _not_unicode(payload)
    )


# -- socket.io (the web widget) -------------------------------------------------------------


def widget_refusal(data: object, metadata_key: str) -> str | None:
    """What is wrong with a socket.io ``user_uttered`` event's data, or None (the session
    id is checked by the channel, which holds the key that signs it)."""
    if not isinstance(data, dict):
        what = "an object with 'message' and 'session_id'"
        return f"the event's data must be {what}, not {json_type(data)}"
    message, metadata = data.get("message"), data.get(metadata_key)
    if isinstance(metadata, str):  # Rasa reads a string as JSON
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return f"'{metadata_key}' is a string but not JSON"
    return (
        (None if isinstance(message, str) else _expected("message", "a string", message))
        or _optional_object(metadata_key, metadata)
        or _not_unicode(data)
    )
