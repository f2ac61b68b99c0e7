"""Rasa's REST and callback channels, with the checks Rasa 3.6 leaves out.

Both webhooks take any caller's word for who the customer is (``sender``), so anyone
who can reach Rasa's port could write into, and read the replies of, any
conversation. Here a caller must present the shared webhook token
(``Authorization: Bearer <token>``, ``GAPDESK_WEBHOOK_TOKEN``), and a request without
a usable sender id or message text gets a 400 that says what is wrong instead of
reaching the bot. The URLs, the replies and the channel names are Rasa's own, so
agents' replies still go out through ``output_channel=latest``.

Runs inside Rasa (imports ``rasa``), configured in ``bot/credentials.yml``.
"""

from __future__ import annotations

import hmac
import unicodedata
from typing import Any

from rasa.core.channels.callback import CallbackInput
from rasa.core.channels.channel import InputChannel
from rasa.core.channels.rest import RestInput
from rasa.utils.endpoints import EndpointConfig
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

# The conversations table's id column holds 255 characters.
MAX_SENDER_LENGTH = 255


def _token(credentials: dict[str, Any] | None) -> str:
    token = str((credentials or {}).get("token") or "")
    if not token:
        raise ValueError("the REST and callback channels need a token (GAPDESK_WEBHOOK_TOKEN)")
    return token


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
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_LENGTH:
        return response.json(
            {"error": f"'sender' must be a string of 1 to {MAX_SENDER_LENGTH} characters"},
            status=400,
        )
    # Ids end up in console URLs and terminals: no control or formatting characters.
    if any(unicodedata.category(character).startswith("C") for character in sender):
        return response.json({"error": "'sender' must not contain control characters"}, status=400)
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
        return cls(_token(credentials))

    def __init__(self, token: str) -> None:
        self.token = token

    def blueprint(self, on_new_message: Any) -> Blueprint:
        return _guarded(super().blueprint(on_new_message), self.token)


class TokenCallbackInput(CallbackInput):
    """``/webhooks/callback/webhook``: replies go to your service's URL."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = dict(credentials or {})
        token = _token(credentials)
        credentials.pop("token")
        return cls(EndpointConfig.from_dict(credentials), token)

    def __init__(self, endpoint: EndpointConfig, token: str) -> None:
        super().__init__(endpoint)
        self.token = token

    def blueprint(self, on_new_message: Any) -> Blueprint:
        return _guarded(super().blueprint(on_new_message), self.token)
