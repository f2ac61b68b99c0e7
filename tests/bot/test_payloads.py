"""bot/payloads.py: each channel's malformed requests are named, well-formed ones pass.

Plain functions without Rasa, so these run in gapdesk's environment; the channels that
call them are checked end to end in tests/e2e/test_fuzz.py.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.payloads import (
    Ignored,
    lone_surrogate,
    rest_refusal,
    slack_event_refusal,
    slack_interaction_refusal,
    telegram_refusal,
    twilio_refusal,
    widget_refusal,
)
from gapdesk.bench.fuzz import CHANNELS, MALFORMED, Probe, probes
from gapdesk.bench.fuzz_run import encode

FORM_TYPE = "application/x-www-form-urlencoded"
AIOGRAMS_OWN = "field/message.date="
SURROGATE = json.loads('"\\ud800"')


def test_a_lone_surrogate_is_found_at_any_depth_even_in_a_key() -> None:
    assert lone_surrogate({"a": [1, {"b": "fine 🙂"}]}) is None
    assert lone_surrogate({"a": [{"b": "x" + SURROGATE}]}) == "\\ud800"
    assert lone_surrogate({SURROGATE: 1}) == "\\ud800"
    deep: Any = "x" + SURROGATE
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = [deep]
    assert lone_surrogate(deep) == "\\ud800"


GOOD_REST = {"sender": "ada-1", "message": "my card?"}
AN_OBJECT = "must be a JSON object (or left out)"


@pytest.mark.parametrize(
    "body",
    [
        GOOD_REST,
        {**GOOD_REST, "message": ""},
        {**GOOD_REST, "metadata": {"a": [1]}},
        {**GOOD_REST, "metadata": None, "input_channel": "my-app.v2"},
    ],
)
def test_a_well_formed_rest_body_passes(body: dict[str, Any]) -> None:
    assert rest_refusal(body) is None


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ([GOOD_REST], "the body must be a JSON object, not an array"),
        ({**GOOD_REST, "sender": 7}, "'sender' must be a string of 1 to 255"),
        ({**GOOD_REST, "sender": "a b"}, "'sender' must be 1 to 255"),
        ({**GOOD_REST, "message": None}, "'message' must be a string, not null"),
        ({**GOOD_REST, "message": ["hi"]}, "'message' must be a string, not an array"),
        # The bug: Rasa took it (200) and lost the message in a TypeError.
        ({**GOOD_REST, "metadata": "x"}, f"'metadata' {AN_OBJECT}, not a string"),
        ({**GOOD_REST, "metadata": True}, f"'metadata' {AN_OBJECT}, not true or false"),
        ({**GOOD_REST, "input_channel": {}}, "'input_channel' must be a channel name"),
        ({**GOOD_REST, "input_channel": "x" * 65}, "'input_channel' must be a channel name"),
        ({**GOOD_REST, "message": "a" + SURROGATE}, "lone surrogate (\\ud800)"),
    ],
)  # fmt: skip
def test_a_malformed_rest_body_is_named(body: Any, complaint: str) -> None:
    assert complaint in str(rest_refusal(body))


def _update(**message: Any) -> dict[str, Any]:
    return {"update_id": 1, "message": {"message_id": 2, "chat": {"id": 42}, **message}}


@pytest.mark.parametrize(
    "update",
    [
        _update(text="hi"),
        _update(location={"latitude": 1.5, "longitude": -2}),
        {"update_id": 1, "edited_message": {"chat": {"id": 42}, "text": "hi again"}},
        {"update_id": 1, "callback_query": {"data": "/affirm", "message": {"chat": {"id": 4}}}},
    ],
)
def test_a_telegram_update_rasa_reads_passes(update: dict[str, Any]) -> None:
    assert telegram_refusal(update) is None


@pytest.mark.parametrize(
    "update",
    [_update(photo=[{"file_id": "x"}]), {"update_id": 1, "channel_post": {"text": "x"}}],
)
def test_a_telegram_update_without_a_customers_text_is_ignored(update: dict[str, Any]) -> None:
    assert isinstance(telegram_refusal(update), Ignored)


@pytest.mark.parametrize(
    ("update", "complaint"),
    [
        ("x", "must be a JSON object (a Telegram update), not a string"),
        ({"message": {}}, "'update_id' must be an integer"),
        ({"update_id": 1, "message": "hi"}, "'message' must be an object, not a string"),
        (_update(chat={"id": "42"}, text="hi"), "'message.chat.id' must be an integer"),
        (_update(text=5), "'message.text' must be a string, not a number"),
        (_update(location={"latitude": "n"}), "'message.location' must be an object with numbers"),
        ({"update_id": 1, "callback_query": {"data": "x"}}, "'callback_query.message' must be"),
        ({"update_id": 1, "callback_query": {"message": {"chat": {"id": 4}}}},
         "'callback_query.data' must be a string, not null"),
    ],
)  # fmt: skip
def test_a_malformed_telegram_update_is_named(update: Any, complaint: str) -> None:
    assert complaint in str(telegram_refusal(update))


@pytest.mark.parametrize(
    ("form", "complaint"),
    [
        ({"From": "whatsapp:+15551234567", "Body": "hi"}, None),
        ({"From": "+15551234567", "Body": ""}, None),
        ({"From": "+15551234567", "Latitude": "1", "Longitude": "2"}, None),
        ({"Body": "hi"}, "'From' is missing"),
        ({"From": "+1 555", "Body": "hi"}, "'From' must be 1 to 255"),
        ({"From": "+15551234567"}, "'Body' is missing"),
        ({"From": "+15551234567", "Body": SURROGATE}, "lone surrogate"),
    ],
)
def test_a_twilio_form_is_checked_for_what_rasa_reads(
    form: dict[str, str], complaint: str | None
) -> None:
    refusal = twilio_refusal(form.get)
    assert refusal is None if complaint is None else complaint in str(refusal)


def _slack(**event: Any) -> dict[str, Any]:
    return {"type": "event_callback", "event": {"type": "message", "channel": "D1", **event}}


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (_slack(user="U1", text="hi"), None),
        (_slack(text="hi", bot_id="B1"), None),  # the bot's own: Rasa ignores it
        ({"type": "url_verification", "challenge": "abc"}, None),
        ({**_slack(user="U1", text="hi"), "authed_users": ["U2"]}, None),
        (["x"], "the body must be a JSON object, not an array"),
        ({"event": "x"}, "'event' must be an object, not a string"),
        ({"challenge": "abc", "event": []}, "'event' must be an object, not an array"),
        (_slack(user="U1", text=5), "'event.text' must be a string, not a number"),
        (_slack(text="hi"), "'event.user' must be a string"),
        (_slack(user={"id": "U1"}, text="hi"), "'event.user' must be a string"),
        (_slack(user="U1", text="hi", channel=7), "'event.channel' must be a channel id"),
        ({**_slack(user="U1", text="hi"), "authed_users": 5}, "'authed_users' must be an array"),
        ({**_slack(user="U1", text="hi"), "authorizations": ["x"]}, "'authorizations' must be"),
    ],
)  # fmt: skip
def test_a_slack_event_is_checked_for_what_rasa_reads(body: Any, complaint: str | None) -> None:
    refusal = slack_event_refusal(body)
    assert refusal is None if complaint is None else complaint in str(refusal)


def _click(**action: Any) -> str:
    return json.dumps({"user": {"id": "U1"}, "actions": [action]})


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        (_click(type="button", value="/affirm"), None),
        (_click(type="button", url="https://example.com"), None),  # a link: Rasa answers 200
        (_click(type="static_select", selected_option={"value": "/deny"}), None),
        (_click(type="select", selected_options=[{"value": "x"}]), None),
        (None, "'payload' is missing"),
        ("{", "'payload' is not JSON"),
        ("[]", "'payload' must be a JSON object, not an array"),
        (json.dumps({"user": {"id": "U1"}}), "'payload.actions' must be a non-empty array"),
        (_click(type="view_submission"), "'payload.actions[0].type' must be one of button"),
        (_click(type="button", value=5), "(button)'s value' must be a string, not a number"),
        (_click(type="select", selected_options=[]), "(select)'s value' must be a string"),
        (json.dumps({"actions": [{"type": "button", "value": "x"}]}), "'payload.user.id'"),
        (json.dumps({"user": "U1", "actions": []}), "'payload.user' must be a JSON object"),
    ],
)
def test_a_slack_interaction_is_checked_for_what_rasa_reads(
    payload: str | None, complaint: str | None
) -> None:
    refusal = slack_interaction_refusal(payload)
    assert refusal is None if complaint is None else complaint in str(refusal)


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"message": "hi", "session_id": "s"}, None),
        ({"message": "hi", "customData": {"language": "en"}}, None),
        ({"message": "hi", "customData": '{"language": "en"}'}, None),  # Rasa parses it
        ("hi", "the event's data must be an object with 'message' and 'session_id'"),
        ({"session_id": "s"}, "'message' must be a string, not null"),
        ({"message": {"text": "hi"}}, "'message' must be a string, not an object"),
        ({"message": "hi", "customData": "{"}, "'customData' is a string but not JSON"),
        ({"message": "hi", "customData": "[1]"}, "'customData' must be a JSON object"),
        ({"message": "hi", "customData": 3}, "'customData' must be a JSON object"),
    ],
)
def test_a_widget_message_is_checked_for_what_rasa_reads(data: Any, complaint: str | None) -> None:
    refusal = widget_refusal(data, "customData")
    assert refusal is None if complaint is None else complaint in str(refusal)


# -- the fuzz generator's contract ---------------------------------------------------------


def _refusal_seen_by(probe: Probe) -> str | None:
    """What the channel's checks say of a probe, reading it as Sanic and Rasa read it."""
    content, kind = encode(probe)
    if probe.endpoint == "twilio":
        form = parse_qs(content.decode(), keep_blank_values=True) if kind == FORM_TYPE else {}
        return twilio_refusal(lambda name: form.get(name, [None])[0])
    if probe.endpoint == "socketio":
        if probe.target != "issued":
            return "not a session id the channel issued"
        return widget_refusal(probe.payload, "customData")
    if probe.endpoint == "slack" and kind == FORM_TYPE:
        return slack_interaction_refusal(parse_qs(content.decode()).get("payload", [None])[0])
    if probe.endpoint == "slack" and kind != "application/json":
        return "a content type Slack does not send"
    try:
        body = json.loads(content) if content else None
    except (ValueError, RecursionError):  # Sanic's ujson refuses nesting past 1024 levels
        return "the body is not JSON"
    checks = {"telegram": telegram_refusal, "slack": slack_event_refusal}
    return checks.get(probe.endpoint, rest_refusal)(body)


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_fuzz_generator_expects_what_the_checks_decide(channel: str) -> None:
    """A MESSAGE passes the channel's checks, a MALFORMED request is refused, and the
    rest (a Telegram update without text, a Slack event that is no message) is let
    through or ignored: the fuzz test's expectations are the checks' contract."""
    disagreements = []
    for probe in probes(11, 600, 2000, endpoints=(channel,)):
        if probe.category.startswith(AIOGRAMS_OWN):
            continue  # refused by aiogram's parsing in bot/channels.py, not checked here
        refusal = _refusal_seen_by(probe)
        refused = refusal is not None and not isinstance(refusal, Ignored)
        if refused != (probe.expect == MALFORMED):
            disagreements.append((probe.category, probe.expect, refusal))
    assert disagreements == []
