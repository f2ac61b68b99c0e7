"""Rasa's REST, callback, Telegram and Twilio channels, with the checks Rasa 3.6 leaves out.

The REST and callback webhooks take any caller's word for who the customer is
(``sender``), so anyone who can reach Rasa's port could write into, and read the
replies of, any conversation. Here a caller must present the shared webhook token
(``Authorization: Bearer <token>``, ``GAPDESK_WEBHOOK_TOKEN``), and a request without
a usable sender id or message text gets a 400 that says what is wrong instead of
reaching the bot. The URLs, the replies and the channel names are Rasa's own, so
agents' replies still go out through ``output_channel=latest``.

Rasa takes any post to its Telegram and Twilio webhooks for the provider's; here a
Telegram update must carry the secret token gapdesk registered with the webhook, and a
Twilio post a valid ``X-Twilio-Signature`` (Slack's own channel checks its signature).

A Telegram or Twilio send that fails while a customer's message is answered is logged,
and the turn goes on without it; a failed send of an agent's message pushed through
Rasa's HTTP API is raised, so the console learns that it was not delivered.

Runs inside Rasa (imports ``rasa``), configured in ``bot/credentials.yml`` and, for the
messaging channels, in the credentials gapdesk writes when their settings are present
(``gapdesk/engine/channels.py``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import User
from rasa.core.channels.callback import CallbackInput
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from rasa.utils.endpoints import EndpointConfig
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

# The conversations table's id column holds 255 characters. Rasa's HTTP API does not
# unquote the ids in its URLs, so an id the console can reach holds only characters a
# URL path carries as they are (no control characters either).
MAX_SENDER_LENGTH = 255
SENDER = re.compile(rf"[A-Za-z0-9\-._~/:@+!$&'()*,;=]{{1,{MAX_SENDER_LENGTH}}}")


def required(credentials: dict[str, Any] | None, channel: str, *keys: str) -> list[str]:
    """The values of ``keys`` in a channel's credentials; a missing one stops Rasa's start."""
    missing = [key for key in keys if not (credentials or {}).get(key)]
    if missing:
        raise ValueError(f"the {channel} channel needs {', '.join(missing)} in its credentials")
    return [str((credentials or {})[key]) for key in keys]


def _refusal(request: Request, token: str) -> HTTPResponse | None:
    """The error answer for a request that must not reach the bot, else None."""
    if request.method != "POST":
        return None  # the health check
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return response.json(
            {"error": "send the webhook token as 'Authorization: Bearer <token>'"}, status=401
        )
    body = request.json
    if not isinstance(body, dict):
        return response.json({"error": "the body must be a JSON object"}, status=400)
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not SENDER.fullmatch(sender):
        return response.json(
            {
                "error": f"'sender' must be 1 to {MAX_SENDER_LENGTH} ASCII letters, digits "
                "or - . _ ~ / : @ + ! $ & ' ( ) * , ; ="
            },
            status=400,
        )
    if not isinstance(message, str):
        return response.json({"error": "'message' must be a string"}, status=400)
    return None


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

    def blueprint(self, on_new_message: Any) -> Blueprint:
        return _guarded(super().blueprint(on_new_message), self.token)


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

    def blueprint(self, on_new_message: Any) -> Blueprint:
        return _guarded(super().blueprint(on_new_message), self.token)


# -- Failed sends -----------------------------------------------------------------------

# True while a Telegram or Twilio webhook hands a customer's message to the bot. A send
# that fails then must not end the turn: Rasa would keep none of it (the customer's
# message included) and answer 500, and Telegram would deliver the update again. Pushes
# through Rasa's HTTP API (an agent's reply) run without it: there the error must reach
# the caller, so Rasa answers 500, keeps nothing, and the console says "not delivered".
# It is set around on_new_message rather than in request middleware: Sanic 21.12 serves
# a keep-alive connection's requests one after another in one task, whose context would
# keep a value set in middleware for the next request on that connection.
_ANSWERING_CUSTOMER: ContextVar[bool] = ContextVar("gapdesk_answering_customer", default=False)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def _answering_customer(on_new_message: OnNewMessage) -> OnNewMessage:
    async def handle(message: UserMessage) -> Any:
        answering = _ANSWERING_CUSTOMER.set(True)
        try:
            return await on_new_message(message)
        finally:
            _ANSWERING_CUSTOMER.reset(answering)

    return handle


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

    def blueprint(self, on_new_message: Any) -> Blueprint:
        blueprint = super().blueprint(_answering_customer(on_new_message))

        @blueprint.middleware("request")
        async def check(request: Request) -> HTTPResponse | None:
            if getattr(request.route, "name", "").endswith(".health"):
                return None
            # Updates and /set_webhook alike: only Telegram (and whoever holds the secret).
            given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.secret_token.encode()):
                return response.json({"error": f"missing or wrong {TELEGRAM_SECRET_HEADER}"}, 403)
            return None

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

    def blueprint(self, on_new_message: Any) -> Blueprint:
        blueprint = super().blueprint(_answering_customer(on_new_message))
        validator = RequestValidator(self.auth_token)

        @blueprint.middleware("request")
        async def check(request: Request) -> HTTPResponse | None:
            if request.method != "POST":
                return None  # the health check
            # Twilio signs the public URL it posts to, which a proxy in front of Rasa
            # changes, so the configured one is checked, with the form's fields.
            signature = request.headers.get("X-Twilio-Signature", "")
            if not validator.validate(self.webhook_url, request.form, signature):
                return response.json({"error": "missing or invalid X-Twilio-Signature"}, 403)
            return None

        return blueprint

    def get_output_channel(self) -> TwilioOutput:
        return LoggingTwilioOutput(self.account_sid, self.auth_token, self.twilio_number)
