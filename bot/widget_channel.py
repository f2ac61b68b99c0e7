"""Rasa's socket.io channel (the web widget), with conversation ids only Rasa issues.

Rasa 3.6 takes the conversation id the widget sends (``session_request`` and every
message carry a ``session_id``), so a script could join, write into and receive the
replies of any conversation, Telegram and WhatsApp ones too, whose ids are a chat id
or a phone number. Here an id is a random part and its HMAC under the webhook token:
a ``session_request`` with an id this server did not issue gets a new one (a new
conversation, never someone else's), and a message with such an id is refused. A
widget that kept an older id is given a new one, as after clearing cookies.

Rasa's handler read ``message`` and ``customData`` without looking at their types: a
number lost the message in an exception nobody heard of. A malformed ``user_uttered``
event gets a ``message_refused`` event, ``{"error": what is wrong}``, to the socket that
sent it (socket.io has no status code), and never reaches the bot. Messages that do go
through :class:`bot.channels.CustomerMessages`, as every channel's.

With several Rasa instances (``gapdesk up`` with ``GAPDESK_RASA_INSTANCES`` > 1), a
customer's socket is held by one of them, but an agent's reply may reach any: with
``GAPDESK_SOCKETIO_REDIS_URL`` set, every instance passes what it emits through Redis
(python-socketio's ``AsyncRedisManager``) and the one holding the socket delivers it.

Runs inside Rasa (imports ``rasa``), configured in ``bot/credentials.yml``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from typing import Any

from rasa.core.channels.channel import InputChannel
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint
from socketio import AsyncRedisManager

from bot.channels import customer_blueprint, required
from bot.payloads import widget_refusal

logger = logging.getLogger(__name__)

NONCE_HEX = 16  # 64 random bits, then 64 bits of HMAC: 32 hex digits, like a uuid4
REFUSED_EVENT = "message_refused"


class SignedSessionSocketIOInput(SocketIOInput):
    """``/socket.io``: Rasa's channel, but every session id is one it issued."""

    key = ""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        [key] = required(credentials, "socket.io", "token")
        for_rasa = {name: value for name, value in (credentials or {}).items() if name != "token"}
        channel = super().from_credentials(for_rasa)
        assert isinstance(channel, SignedSessionSocketIOInput)
        channel.key = key
        return channel

    def _signature(self, nonce: str) -> str:
        digest = hmac.new(self.key.encode(), nonce.encode(), hashlib.sha256).hexdigest()
        return digest[:NONCE_HEX]

    def new_session_id(self) -> str:
        nonce = secrets.token_hex(NONCE_HEX // 2)
        return nonce + self._signature(nonce)

    def issued(self, session_id: object) -> bool:
        if not isinstance(session_id, str) or len(session_id) != 2 * NONCE_HEX:
            return False
        nonce, signature = session_id[:NONCE_HEX], session_id[NONCE_HEX:]
        return hmac.compare_digest(self._signature(nonce), signature)

    def blueprint(self, on_new_message: Any) -> Blueprint:
        blueprint = customer_blueprint(super().blueprint, on_new_message)
        assert self.sio is not None
        shared_through = os.environ.get("GAPDESK_SOCKETIO_REDIS_URL")
        if shared_through:  # before the server starts: the manager starts with it
            self.sio.manager = AsyncRedisManager(
                shared_through, channel=os.environ.get("GAPDESK_SOCKETIO_CHANNEL", "gapdesk")
            )
            self.sio.manager.set_server(self.sio)
        # Rasa's handlers are closures inside its blueprint(): wrap them where
        # python-socketio keeps them rather than copy them.
        handlers = self.sio.handlers[self.namespace or "/"]
        start_session = handlers["session_request"]
        receive = handlers[self.user_message_evt]

        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            if not self.issued(data.get("session_id")):
                data["session_id"] = self.new_session_id()
            await start_session(sid, data)

        async def handle_message(sid: str, data: Any) -> None:
            wrong = widget_refusal(data, self.metadata_key)
            if wrong is None and not self.issued(data.get("session_id")):
                wrong = "'session_id' must be the id this server confirmed: send session_request"
            if wrong is not None:
                logger.warning("socket.io: refused a message: %s", wrong)
                await self.sio.emit(REFUSED_EVENT, {"error": wrong}, room=sid)
                return
            await receive(sid, data)

        handlers["session_request"] = session_request
        handlers[self.user_message_evt] = handle_message
        return blueprint
