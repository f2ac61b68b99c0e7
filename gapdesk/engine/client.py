"""A small client for the running Rasa server's HTTP API and REST channel.

Rasa's API is protected with a JWT secret (``rasa run --jwt-secret``); every call
here signs a fresh token that expires after a minute (Rasa's sanic-jwt accepts it for
3 minutes more, its clock-skew allowance), so a leaked token is soon useless. The REST
channel takes the webhook token instead (``bot/channels.py``), which is what
integrators are given: it lets them post customers' messages, not read conversations.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt

from gapdesk.engine.secrets import jwt_secret, webhook_token
from gapdesk.errors import EngineError
from gapdesk.settings import Settings

TOKEN_LIFETIME_SECONDS = 60


def sign_token(secret: str, lifetime: int = TOKEN_LIFETIME_SECONDS) -> str:
    now = int(time.time())
    payload = {"user": {"username": "gapdesk", "role": "admin"}, "iat": now, "exp": now + lifetime}
    return jwt.encode(payload, secret, algorithm="HS256")


def _in_path(conversation_id: str) -> str:
    """The id as Rasa's API reads it from a URL: Rasa 3.6 does not unquote it, so what a
    path carries as is stays as is ("whatsapp:+1555...", "a/b"); the REST and callback
    channels accept no other ids (bot/channels.py)."""
    return quote(conversation_id, safe="/:@+!$&'()*,;=")


class RasaClient:
    def __init__(
        self, base_url: str, secret: str, webhook_token: str = "", timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.webhook_token = webhook_token
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, timeout: float = 30.0) -> RasaClient:
        return cls(
            settings.rasa_url,
            jwt_secret(settings.rasa_jwt_secret, settings.var_path),
            webhook_token(settings.webhook_token, settings.var_path),
            timeout,
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {
            "Authorization": f"Bearer {sign_token(self.secret)}",
            "Accept": "application/json",
        }
        try:
            response = httpx.request(
                method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            raise EngineError(f"Rasa at {self.base_url} did not answer: {exc}") from exc
        if response.status_code >= 400:
            raise EngineError(f"Rasa answered {response.status_code} to {path}: {response.text}")
        return response.json() if response.content else None

    def parse(self, text: str) -> dict[str, Any]:
        """The NLU's reading of ``text`` (intent ranking, entities)."""
        return dict(self._request("POST", "/model/parse", json={"text": text}))

    def replace_model(self, model_file: Path) -> None:
        """Have Rasa load another model file (it swaps once the new one is loaded)."""
        self._request("PUT", "/model", json={"model_file": str(Path(model_file).resolve())})

    def model_file(self) -> Path | None:
        """The model file Rasa runs, as its ``GET /status`` says."""
        name = (self._request("GET", "/status") or {}).get("model_file")
        return Path(name) if name else None

    def domain(self) -> dict[str, Any]:
        """The domain of the model Rasa runs (its responses are what the bot says)."""
        return dict(self._request("GET", "/domain"))

    def tracker(self, conversation_id: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/conversations/{_in_path(conversation_id)}/tracker"))

    def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """Add events to a conversation and deliver its bot messages to the customer.

        Messages go out through the channel the customer last wrote from
        (``output_channel=latest``): socket.io, callback, Slack, Twilio and the other
        channels that can receive pushes; the REST channel cannot.
        """
        self._request(
            "POST",
            f"/conversations/{_in_path(conversation_id)}/tracker/events",
            params={"execute_side_effects": "true", "output_channel": "latest"},
            json=events,
        )

    def say(
        self, conversation_id: str, text: str, connection: httpx.Client | None = None
    ) -> list[dict[str, Any]]:
        """Send a customer message through the REST channel; returns the bot's replies.

        ``connection`` keeps one open between calls (the timed turns of ``gapdesk
        figures``); without it each call connects anew.
        """
        post = connection.post if connection else httpx.post
        try:
            response = post(
                f"{self.base_url}/webhooks/rest/webhook",
                json={"sender": conversation_id, "message": text},
                headers={"Authorization": f"Bearer {self.webhook_token}"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise EngineError(f"Rasa at {self.base_url} did not answer: {exc}") from exc
        if response.status_code >= 400:
            raise EngineError(
                f"Rasa's REST channel answered {response.status_code}: {response.text}"
            )
        return list(response.json())
