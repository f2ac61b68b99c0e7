"""Rasa's REST, callback, Telegram, Twilio and Slack channels, with the checks Rasa 3.6
leaves out.

The REST and callback webhooks take any caller's word for who the customer is
(``sender``), so anyone who can reach Rasa's port could write into, and read the
replies of, any conversation. Here a caller must present the shared webhook token
(``Authorization: Bearer <token>``, ``GAPDESK_WEBHOOK_TOKEN``). The URLs, the replies
and the channel names are Rasa's own, so agents' replies still go out through
``output_channel=latest``.

Rasa takes any post to its Telegram and Twilio webhooks for the provider's; here a
Telegram update must carry the secret token gapdesk registered with the webhook, and a
Twilio post a valid ``X-Twilio-Signature`` (Slack's own channel checks its signature).

Every channel reads its requests without looking at their types, so a malformed one
could answer 500 or be accepted and silently lost; here each request is checked for
what its channel reads (``bot/payloads.py``) and a malformed one gets a 400 whose JSON
says what is wrong. Every customer's message then goes through one door,
:class:`CustomerMessages`, whatever its channel: it enforces the message-size limit.

A Telegram, Twilio, Slack or callback send that fails while a customer's message is
answered is logged, and the turn goes on without it; a failed send of an agent's
message pushed through Rasa's HTTP API is raised, so the console learns that it was
not delivered.

Runs inside Rasa (imports ``rasa``), configured in ``bot/credentials.yml`` and, for the
messaging channels, in the credentials gapdesk writes when their settings are present
(``gapdesk/engine/channels.py``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs

from aiogram import Bot
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import Update, User
from rasa.core.actions.action import create_bot_utterance
from rasa.core.channels.callback import CallbackInput, CallbackOutput
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.slack import SlackBot, SlackInput
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted
from rasa.utils.endpoints import EndpointConfig
from sanic import Blueprint, Sanic, response
from sanic.exceptions import InvalidUsage
from sanic.headers import parse_content_header
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator

from bot.payloads import (
    Ignored,
    rest_refusal,
    slack_event_refusal,
    slack_interaction_refusal,
    telegram_refusal,
    twilio_refusal,
)

logger = logging.getLogger(__name__)

# The message-size limit, a gapdesk setting (gapdesk/settings.py) that gapdesk passes
# into Rasa's environment with the others.
MAX_MESSAGE_CHARS = "GAPDESK_MAX_MESSAGE_CHARS"
TOO_LONG_RESPONSE = "utter_message_too_long"
# Metadata of a message that was cut to the limit: {"length": its length, "kept": limit}.
CUT_MARKER = "gapdesk_cut"


def required(credentials: dict[str, Any] | None, channel: str, *keys: str) -> list[str]:
    """The values of ``keys`` in a channel's credentials; a missing one stops Rasa's start."""
    missing = [key for key in keys if not (credentials or {}).get(key)]
    if missing:
        raise ValueError(f"the {channel} channel needs {', '.join(missing)} in its credentials")
    return [str((credentials or {})[key]) for key in keys]


def _refused(status: int, error: str) -> HTTPResponse:
    return response.json({"error": error}, status=status)


def _json_body(request: Request) -> tuple[Any, str | None]:
    """The request's parsed JSON body (None for an empty one), or what is wrong with it."""
    try:
        return request.json, None
    except InvalidUsage:
        return None, "the body is not JSON"


def _refusal(request: Request, token: str) -> HTTPResponse | None:
    """The error answer for a request that must not reach the bot, else None."""
    if request.method != "POST":
        return None  # the health check
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return _refused(401, "send the webhook token as 'Authorization: Bearer <token>'")
    body, unparsable = _json_body(request)
    wrong = unparsable or rest_refusal(body)
    return _refused(400, wrong) if wrong else None


# -- The door of every customer's message -----------------------------------------------

# True while a channel hands a customer's message to the bot. A send that fails then
# must not end the turn: Rasa would keep none of it (the customer's message included)
# and answer 500, and Telegram would deliver the update again. Pushes through Rasa's
# HTTP API (an agent's reply) run without it: there the error must reach the caller, so
# Rasa answers 500, keeps nothing, and the console says "not delivered".
# It is set around on_new_message rather than in request middleware: Sanic 21.12 serves
# a keep-alive connection's requests one after another in one task, whose context would
# keep a value set in middleware for the next request on that connection.
_ANSWERING_CUSTOMER: ContextVar[bool] = ContextVar("gapdesk_answering_customer", default=False)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def max_message_chars(environ: Mapping[str, str] = os.environ) -> int:
    """The message-size limit gapdesk set; Rasa does not start without a valid one."""
    raw = environ.get(MAX_MESSAGE_CHARS, "")
    if not raw.strip().isdecimal() or int(raw) < 1:
        raise ValueError(
            f"{MAX_MESSAGE_CHARS} must be a number of characters, 1 or more (gapdesk sets "
            f"it in Rasa's environment), not {raw!r}"
        )
    return int(raw)


class CustomerMessages:
    """Where every channel hands a customer's message to the bot (Rasa's
    ``on_new_message``), so that what holds for one channel holds for all.

    A message longer than the limit is not answered as a question: the bot would answer
    a part of it, and the gap model and the tracker would get a text no chat produces.
    The conversation keeps its first ``limit`` characters, with ``CUT_MARKER`` in the
    message's metadata saying how long it was, and the customer gets
    ``utter_message_too_long`` with the limit, even while an agent holds the
    conversation (the agent then sees what the customer was told). This is done the way
    Rasa's HTTP API adds a message and runs an action: under the conversation's lock,
    the message logged (Rasa's NLU reads it), the response, then listening.
    """

    def __init__(self, on_new_message: OnNewMessage, limit: int) -> None:
        self.on_new_message = on_new_message
        self.limit = limit
        self.app: Sanic | None = None  # set before the server serves (for Rasa's agent)

    async def __call__(self, message: UserMessage) -> Any:
        answering = _ANSWERING_CUSTOMER.set(True)
        try:
            if len(message.text or "") > self.limit:
                return await self._too_long(message)
            return await self.on_new_message(message)
        finally:
            _ANSWERING_CUSTOMER.reset(answering)

    async def _too_long(self, message: UserMessage) -> None:
        assert self.app is not None, "the server has not started"
        agent = self.app.ctx.agent  # read now: a model swap replaces it
        if not agent.is_ready():
            logger.info("Ignoring a message as there is no model to handle it.")
            return
        marker = {"length": len(message.text), "kept": self.limit}
        metadata = {**(message.metadata or {}), CUT_MARKER: marker}
        cut = UserMessage(
            message.text[: self.limit],
            message.output_channel,
            message.sender_id,
            input_channel=message.input_channel,
            message_id=message.message_id,
            metadata=metadata,
        )
        output = cut.output_channel
        async with agent.lock_store.lock(cut.sender_id):
            tracker = await agent.processor.log_message(cut, should_save_tracker=False)
            reply = await agent.nlg.generate(
                TOO_LONG_RESPONSE, tracker, output.name(), max_message_chars=self.limit
            )
            if reply is None:  # as Rasa does for a response the domain lacks
                logger.error("Couldn't create message for response '%s'.", TOO_LONG_RESPONSE)
            else:
                said = create_bot_utterance({**reply, "utter_action": TOO_LONG_RESPONSE})
                tracker.update(ActionExecuted(TOO_LONG_RESPONSE))
                await output.send_response(cut.sender_id, said.message())
                tracker.update(said)
                tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
            await agent.processor.save_tracker(tracker)


def customer_blueprint(
    make: Callable[[OnNewMessage], Blueprint], on_new_message: OnNewMessage
) -> Blueprint:
    """``make(handler)``: a channel's blueprint, its messages going through
    :class:`CustomerMessages` (every channel's blueprint is built with this)."""
    door = CustomerMessages(on_new_message, max_message_chars())
    blueprint = make(door)

    @blueprint.listener("before_server_start")
    async def find_rasas_agent(app: Sanic, _: Any) -> None:
        door.app = app

    return blueprint


def _may_drop(channel: str, error: Exception) -> bool:
    """Log a message ``channel`` could not send. True while a customer's message is being
    answered (the turn goes on without it); False otherwise: the caller raises."""
    answering = _ANSWERING_CUSTOMER.get()
    what = (
        "a message was not sent, the conversation goes on without it"
        if answering
        else "a message pushed through Rasa's HTTP API was not sent"
    )
    logger.error("%s: %s (%s: %s)", channel, what, type(error).__name__, error)
    return answering


# -- REST and callback -------------------------------------------------------------------


def _guarded(blueprint: Blueprint, token: str) -> Blueprint:
    @blueprint.middleware("request")
    async def check(request: Request) -> HTTPResponse | None:
        return _refusal(request, token)

    return blueprint


class TokenRestInput(RestInput):
    """``/webhooks/rest/webhook``, for callers that hold the webhook token."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        [token] = required(credentials, "REST", "token")
        return cls(token)

    def __init__(self, token: str) -> None:
        self.token = token

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return _guarded(customer_blueprint(super().blueprint, on_new_message), self.token)


class LoggingCallbackOutput(CallbackOutput):
    """Rasa's callback output, logging a failed delivery while a customer's message is
    answered. Rasa's logs only the refusals of your service: an unreachable one (or no
    URL at all) raised out of the turn, and Rasa then kept nothing of it."""

    async def _persist_message(self, message: dict[str, Any]) -> None:
        try:
            await super()._persist_message(message)
        except Exception as error:
            if not _may_drop("callback", error):
                raise


class TokenCallbackInput(CallbackInput):
    """``/webhooks/callback/webhook``: replies go to your service's URL."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        [token] = required(credentials, "callback", "token")
        endpoint = {key: value for key, value in (credentials or {}).items() if key != "token"}
        return cls(EndpointConfig.from_dict(endpoint), token)

    def __init__(self, endpoint: EndpointConfig, token: str) -> None:
        super().__init__(endpoint)
        self.token = token

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return _guarded(customer_blueprint(super().blueprint, on_new_message), self.token)

    def get_output_channel(self) -> OutputChannel:
        return LoggingCallbackOutput(self.callback_endpoint)


# -- Telegram -------------------------------------------------------------------------

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# The update types Rasa's handler reads. Others (a customer blocking the bot, ...) make
# it fail, and Telegram would deliver them again and again.
TELEGRAM_UPDATES = ["message", "edited_message", "callback_query"]
# A stalled Bot API must not hold a turn for aiohttp's default 5 minutes: Telegram would
# give up on the webhook request and deliver the update again.
TELEGRAM_TIMEOUT_SECONDS = 10


class VerifiedTelegramOutput(TelegramOutput):
    """Rasa's Telegram output, on any Bot API server, registering the secret token and
    logging a failed send while a customer's message is answered."""

    def __init__(self, access_token: str, api_url: str, secret_token: str) -> None:
        # TelegramOutput's own __init__ always talks to api.telegram.org.
        Bot.__init__(
            self,
            access_token,
            server=TelegramAPIServer.from_base(api_url),
            timeout=TELEGRAM_TIMEOUT_SECONDS,
        )
        self.secret_token = secret_token
        self._bot_user: User | None = None

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # Every bot message goes out through here (to send_text_message, send_custom_json
        # and the other send_* methods); Rasa's leave aiogram's and aiohttp's errors out.
        try:
            await super().send_response(recipient_id, message)
        except Exception as error:
            if not _may_drop("Telegram", error):
                raise

    async def set_webhook(self, url: str, *args: Any, **kwargs: Any) -> bool:
        # aiogram 2.15 predates setWebhook's secret_token (Bot API 6.1): call it here.
        payload = {
            "url": url,
            "secret_token": self.secret_token,
            "allowed_updates": json.dumps(TELEGRAM_UPDATES),
        }
        return bool(await self.request("setWebhook", payload))

    async def get_me(self) -> User:
        # Rasa's webhook asks Telegram who the bot is on every update; ask once.
        if self._bot_user is None:
            self._bot_user = await super().get_me()
        return self._bot_user


def _aiogram_refusal(update: dict[str, Any]) -> str | None:
    """What keeps aiogram from reading an update as Rasa does (``Update(**update)``): a
    field of another type anywhere in it, such as a ``chat`` that is a string."""
    try:
        Update(**update)
    except Exception as error:  # whatever aiogram's field types raise
        return f"not a Telegram update: {type(error).__name__}: {error}"
    return None


class VerifiedTelegramInput(TelegramInput):
    """``/webhooks/telegram/webhook``, for updates carrying the webhook's secret token."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        keys = ("access_token", "verify", "webhook_url", "secret_token", "api_url")
        return cls(*required(credentials, "Telegram", *keys))

    def __init__(
        self, access_token: str, verify: str, webhook_url: str, secret_token: str, api_url: str
    ) -> None:
        # debug_mode=False: Rasa's handler logs an error in a turn and answers 200, where a
        # 500 would have Telegram deliver the update (and gapdesk record the turn) again.
        super().__init__(access_token, verify, webhook_url, debug_mode=False)
        self.secret_token = secret_token
        self.api_url = api_url
        self._output: VerifiedTelegramOutput | None = None

    def get_output_channel(self) -> TelegramOutput:
        # Rasa's sets the webhook here with asyncio.run(), which raises inside the running
        # server: agents' replies (output_channel=latest) never reached Telegram. One
        # output per channel: one HTTP session, one getMe.
        if self._output is None:
            self._output = VerifiedTelegramOutput(
                self.access_token, self.api_url, self.secret_token
            )
        return self._output

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = customer_blueprint(super().blueprint, on_new_message)

        @blueprint.middleware("request")
        async def check(request: Request) -> HTTPResponse | None:
            route = getattr(request.route, "name", "")
            if route.endswith(".health"):
                return None
            # Updates and /set_webhook alike: only Telegram (and whoever holds the secret).
            given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.secret_token.encode()):
                return _refused(403, f"missing or wrong {TELEGRAM_SECRET_HEADER}")
            if not route.endswith(".message"):
                return None
            if request.method != "POST":  # Rasa's handler answers nothing: a 500
                return _refused(405, "Telegram posts its updates here")
            update, unparsable = _json_body(request)
            wrong = unparsable or telegram_refusal(update) or _aiogram_refusal(update)
            if isinstance(wrong, Ignored):  # Rasa ignores it too, after its own checks
                return response.json({"ignored": str(wrong)})
            return _refused(400, wrong) if wrong else None

        @blueprint.listener("after_server_start")
        async def register_webhook(*_: Any) -> None:
            await self.register_webhook()

        return blueprint

    async def register_webhook(self) -> None:
        """Tell Telegram where to post updates, and with which secret.

        A failure is logged, not fatal: the other channels keep serving, and Telegram
        keeps the webhook it had.
        """
        output = self.get_output_channel()
        try:
            await output.set_webhook(self.webhook_url)
            me = await output.get_me()
        except Exception as error:  # aiogram's errors and the network's alike
            logger.error(
                "Telegram: could not register the webhook (%s). Once Telegram can be reached, "
                "restart Rasa or POST /webhooks/telegram/set_webhook with the %s header.",
                error,
                TELEGRAM_SECRET_HEADER,
            )
            return
        if me.username != self.verify:
            logger.error(
                "Telegram: the token is @%s's, not @%s's (GAPDESK_TELEGRAM_BOT_NAME); Rasa "
                "ignores every update until they agree.",
                me.username,
                self.verify,
            )
            return
        logger.info("Telegram: webhook registered for @%s", me.username)


# -- Twilio ---------------------------------------------------------------------------

# Twilio gives up on a webhook after 15 s: a send must not hold the turn longer.
TWILIO_TIMEOUT_SECONDS = 10


class LoggingTwilioOutput(TwilioOutput):
    """Rasa's Twilio output, sending off the event loop and logging a failed send while a
    customer's message is answered."""

    def __init__(self, account_sid: str, auth_token: str, twilio_number: str) -> None:
        super().__init__(account_sid, auth_token, twilio_number)
        self.http_client = TwilioHttpClient(timeout=TWILIO_TIMEOUT_SECONDS)

    async def _send_message(self, message_data: dict[str, Any]) -> Any:
        # Rasa's version blocks the event loop on Twilio's HTTP client and catches only
        # Twilio's refusals: an unreachable Twilio raised out of the turn, and Rasa then
        # kept nothing of it (the customer's message included) in the tracker, while
        # Twilio's refusals of an agent's pushed reply went unnoticed by the console.
        try:
            return await asyncio.to_thread(self.messages.create, **message_data)
        except Exception as error:
            if not _may_drop("Twilio", error):
                raise
            return None


def _form_with_blank_fields(request: Request) -> RequestParameters | None:
    """The posted form, keeping the fields that are empty, or None for a body that is not
    UTF-8. Sanic's ``request.form`` drops them, yet Twilio signs them ("FromCity=" of an
    SMS, "Body=" of a picture without words): such posts failed the signature check."""
    kind, _ = parse_content_header(request.headers.get("content-type", ""))
    if kind != "application/x-www-form-urlencoded":
        return RequestParameters()  # as Sanic reads it: no form
    try:
        return RequestParameters(parse_qs(request.body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return None


class VerifiedTwilioInput(TwilioInput):
    """``/webhooks/twilio/webhook``, for posts signed by Twilio (SMS and WhatsApp)."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        keys = ("account_sid", "auth_token", "twilio_number", "webhook_url")
        return cls(*required(credentials, "Twilio", *keys))

    def __init__(
        self, account_sid: str, auth_token: str, twilio_number: str, webhook_url: str
    ) -> None:
        super().__init__(account_sid, auth_token, twilio_number)
        self.webhook_url = webhook_url

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = customer_blueprint(super().blueprint, on_new_message)
        validator = RequestValidator(self.auth_token)

        @blueprint.middleware("request")
        async def check(request: Request) -> HTTPResponse | None:
            if request.method != "POST":
                return None  # the health check
            form = _form_with_blank_fields(request)
            if form is None:
                return _refused(400, "the body is not UTF-8")
            # Twilio signs the public URL it posts to, which a proxy in front of Rasa
            # changes, so the configured one is checked, with the form's fields.
            signature = request.headers.get("X-Twilio-Signature", "")
            if not validator.validate(self.webhook_url, form, signature):
                return _refused(403, "missing or invalid X-Twilio-Signature")
            wrong = twilio_refusal(form.get)
            if wrong:
                return _refused(400, wrong)
            request.parsed_form = form  # what Rasa's handler reads: an empty Body is ""
            return None

        return blueprint

    def get_output_channel(self) -> TwilioOutput:
        return LoggingTwilioOutput(self.account_sid, self.auth_token, self.twilio_number)


# -- Slack ------------------------------------------------------------------------------

SLACK_EVENTS, SLACK_INTERACTIONS = "application/json", "application/x-www-form-urlencoded"


class LoggingSlackBot(SlackBot):
    """Rasa's Slack output, logging a failed send while a customer's message is answered.

    Rasa's lets Slack's errors (and an unreachable Slack) out of the turn, and then
    keeps nothing of it, the customer's message included."""

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        try:
            await super()._post_message(channel, **kwargs)
        except Exception as error:
            if not _may_drop("Slack", error):
                raise


class VerifiedSlackInput(SlackInput):
    """``/webhooks/slack/webhook``: Rasa's Slack channel (it checks Slack's signature),
    taking only events and interactions shaped as Rasa reads them.

    Rasa's answered 500 to a signed request whose ``event`` was not an object, whose
    form had no ``payload`` or whose interaction it does not read, and lost a message
    whose text or user was not a string in the background, where nobody hears of it.
    """

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> OutputChannel:
        return LoggingSlackBot(
            self.slack_token, channel or self.slack_channel, thread_id, self.proxy
        )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = customer_blueprint(super().blueprint, on_new_message)

        @blueprint.middleware("request")
        async def check(request: Request) -> HTTPResponse | None:
            route = getattr(request.route, "name", "")
            if request.method != "POST" or not route.endswith(".webhook"):
                return None  # the health check, and Rasa's own answer to a GET
            if not self.is_request_from_slack_authentic(request):
                return _refused(400, "missing, stale or wrong X-Slack-Signature")
            kind = request.headers.get("content-type")
            if kind not in (SLACK_EVENTS, SLACK_INTERACTIONS):  # Rasa: 200, and reads nothing
                return _refused(415, f"Content-Type must be {SLACK_EVENTS} or {SLACK_INTERACTIONS}")
            if kind == SLACK_EVENTS:
                event, unparsable = _json_body(request)
                wrong = unparsable or slack_event_refusal(event)
            else:
                wrong = slack_interaction_refusal(request.form.get("payload"))
            return _refused(400, wrong) if wrong else None

        return blueprint
