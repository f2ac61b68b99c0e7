"""Rasa's Facebook Messenger channel, with the checks and repairs Rasa 3.6 leaves out.

``/webhooks/facebook/webhook`` takes what Facebook posts for the page. Rasa's own
channel answers 200 to a post whose signature is wrong and reads only the legacy
``X-Hub-Signature``, with whichever hash the sender names (``md5=`` too) and a
comparison that leaks timing. Here a post must carry ``X-Hub-Signature-256``, the
HMAC-SHA256 of its raw body keyed with the app secret, else it gets a 403 and never
reaches the bot. A post with only the legacy SHA-1 header is refused as well: Facebook
sends ``X-Hub-Signature-256`` with every event (beside the SHA-1 one), so accepting
SHA-1 would let nothing more in from Facebook, only a weaker signature from others.
The subscription check (GET with ``hub.verify_token``) echoes ``hub.challenge`` for
the right token and answers 403 otherwise (Rasa's answers 200 either way).

Facebook gives up on a webhook call after 20 seconds, sends it again, and asks for the
events to be handled after answering, so the post is answered at once and its events
(every one of them: Rasa's handles only the first of a batch) are handed to the bot in
the background, in order.

Replies go to the Graph API's Send API at ``GAPDESK_FACEBOOK_API_URL`` (a test stand-in,
or https://graph.facebook.com) without blocking the event loop (Rasa's channel blocks
it on ``requests``), signed with ``appsecret_proof`` (so "Require App Secret" may be
on), and every button set goes as quick replies: rating buttons (thumbs, four reasons,
1-5) and topic choices all reach the customer, where Rasa's button template takes at
most 3 buttons and drops them all beyond that. A tapped quick reply comes back as its
payload (Rasa's parsing).

A reply that fails while a customer's message is answered is logged, and the turn goes
on without it; a failed send of an agent's message pushed through Rasa's HTTP API
(``output_channel=latest``) is raised, so the console learns that it was not delivered.
Rasa's channel never noticed the Graph API's refusals at all.

Runs inside Rasa (imports ``rasa``), configured in the credentials gapdesk writes when
the Facebook settings are present (``gapdesk/engine/channels.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import customer_blueprint, required

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Sends name a Graph API version; Facebook moves calls to a retired one to the oldest
# it still serves, and the Send API fields used here have not changed for years.
GRAPH_API_VERSION = "v21.0"
# One Graph API call must not hold a turn (and the customer) for aiohttp's 5 minutes.
GRAPH_TIMEOUT_SECONDS = 10
MAX_QUICK_REPLIES = 13  # Messenger refuses a message with more

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class GraphAPIError(Exception):
    """The Graph API refused a send."""


def signed_by_facebook(app_secret: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.encode(), f"sha256={digest}".encode())


class GraphMessengerOutput(OutputChannel):
    """Messages to one page's customers through the Send API.

    ``answering``: this output sends the bot's replies to a customer's message, so a
    failed send is logged and the turn goes on; otherwise (pushes through Rasa's HTTP
    API) it is raised.
    """

    @classmethod
    def name(cls) -> str:
        return "facebook"

    def __init__(
        self, page_access_token: str, app_secret: str, api_url: str, *, answering: bool
    ) -> None:
        super().__init__()
        self.messages_url = f"{api_url.rstrip('/')}/{GRAPH_API_VERSION}/me/messages"
        proof = hmac.new(app_secret.encode(), page_access_token.encode(), hashlib.sha256)
        self.auth = {"access_token": page_access_token, "appsecret_proof": proof.hexdigest()}
        self.answering = answering
        self._session: aiohttp.ClientSession | None = None

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # Every bot message goes out through here, whatever its kind.
        try:
            await super().send_response(recipient_id, message)
        except Exception as error:
            if not self.answering:
                logger.error(
                    "Facebook: a message pushed through Rasa's HTTP API was not sent (%s: %s)",
                    type(error).__name__,
                    error,
                )
                raise
            logger.error(
                "Facebook: a message was not sent, the conversation goes on without it (%s: %s)",
                type(error).__name__,
                error,
            )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in _parts(text):
            await self._send(recipient_id, {"text": part})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        # Rasa's send_quick_replies comes here too.
        if len(buttons) > MAX_QUICK_REPLIES:
            logger.warning(
                "Facebook: only the first %d of %d buttons are sent",
                MAX_QUICK_REPLIES,
                len(buttons),
            )
        *before, last = _parts(text)
        for part in before:
            await self._send(recipient_id, {"text": part})
        # Messenger shows the first 20 characters of a longer title.
        quick_replies = [
            {"content_type": "text", "title": button["title"], "payload": button["payload"]}
            for button in buttons[:MAX_QUICK_REPLIES]
        ]
        await self._send(recipient_id, {"text": last, "quick_replies": quick_replies})

    async def _send(self, recipient_id: str, message: dict[str, Any]) -> None:
        # RESPONSE: Messenger lets a page answer for 24 hours after the customer's last
        # message; a later send (an agent's, say) is refused, and reported as such.
        body = {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": message}
        if self._session is None:  # made in the server's event loop, on first use
            timeout = aiohttp.ClientTimeout(total=GRAPH_TIMEOUT_SECONDS)
            self._session = aiohttp.ClientSession(timeout=timeout)
        async with self._session.post(self.messages_url, params=self.auth, json=body) as reply:
            if reply.status != 200:
                # Graph's error body says why; unlike aiohttp's own errors, it does not
                # repeat the URL, which holds the access token.
                detail = (await reply.text())[:500]
                raise GraphAPIError(f"the Graph API answered {reply.status}: {detail}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _parts(text: str) -> list[str]:
    """A reply as the messages it is sent in: one per paragraph, as Rasa's channel does."""
    return text.strip().split("\n\n")


class _Customer(Messenger):
    """Rasa's reading of a post's events (texts, quick replies, postbacks, attachments),
    handing every event to the bot, with replies through ``output``."""

    def __init__(self, output: GraphMessengerOutput, on_new_message: OnNewMessage) -> None:
        # Not Rasa's __init__: it builds an fbmessenger client this class does not use.
        self.output = output
        self.on_new_message = on_new_message
        self.last_message: dict[str, Any] = {}

    async def handle(self, payload: dict[str, Any], metadata: dict[str, Any] | None) -> None:
        for entry in payload["entry"]:
            for event in entry.get("messaging") or []:
                if (event.get("message") or {}).get("is_echo"):
                    continue  # the page's own message, whose sender is the page
                self.last_message = event  # Rasa's get_user_id reads the sender here
                try:
                    if event.get("message"):
                        await self.message(event, metadata)
                    elif event.get("postback"):
                        await self.postback(event, metadata)
                except Exception:  # one event's failure must not cost the others
                    logger.exception("Facebook: a customer's message was not handled")

    async def _handle_user_message(
        self, text: str, sender_id: str, metadata: dict[str, Any] | None
    ) -> None:
        # Straight to the bot, with no "seen" or "typing" call to Facebook first (Rasa's
        # makes two): a customer's next message, posted meanwhile, could reach the bot
        # first. Rasa's lock store answers a customer's messages in the order they
        # reach it, which is then the order Facebook posted them in.
        message = UserMessage(
            text, self.output, sender_id, input_channel=self.name(), metadata=metadata
        )
        await self.on_new_message(message)


def _well_formed(payload: Any) -> bool:
    """Whether ``payload`` has the shape of a page's webhook post."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        return False
    return all(
        isinstance(entry, dict)
        and isinstance(entry.get("messaging") or [], list)
        and all(isinstance(event, dict) for event in entry.get("messaging") or [])
        for entry in payload["entry"]
    )


class VerifiedFacebookInput(FacebookInput):
    """``/webhooks/facebook/webhook``, for posts signed with the app secret."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        keys = ("verify", "secret", "page-access-token", "api_url")
        return cls(*required(credentials, "Facebook", *keys))

    def __init__(self, fb_verify: str, fb_secret: str, fb_access_token: str, api_url: str) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self.api_url = api_url
        self._outputs: dict[bool, GraphMessengerOutput] = {}
        # Turns being answered: asyncio keeps only weak references to running tasks.
        self._turns: set[asyncio.Task[None]] = set()

    def _output(self, *, answering: bool) -> GraphMessengerOutput:
        # One of each per channel: one HTTP session each.
        if answering not in self._outputs:
            self._outputs[answering] = GraphMessengerOutput(
                self.fb_access_token, self.fb_secret, self.api_url, answering=answering
            )
        return self._outputs[answering]

    def get_output_channel(self) -> OutputChannel:
        return self._output(answering=False)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        # Messages go through the customer door every channel shares (the size limit).
        return customer_blueprint(self._blueprint, on_new_message)

    def _blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("fb_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def subscription_check(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(
                token.encode(), self.fb_verify.encode()
            ):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning(
                "Facebook: a subscription check without the verify token "
                "(GAPDESK_FACEBOOK_VERIFY) was refused"
            )
            return response.json({"error": "wrong hub.mode or hub.verify_token"}, status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            signature = request.headers.get(SIGNATURE_HEADER) or ""
            if not signed_by_facebook(self.fb_secret, request.body, signature):
                logger.warning("Facebook: a post without a valid %s was refused", SIGNATURE_HEADER)
                return response.json({"error": f"missing or wrong {SIGNATURE_HEADER}"}, status=403)
            try:
                payload = json.loads(request.body)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                payload = None
            if not _well_formed(payload):
                return response.json({"error": "not a Messenger webhook event"}, status=400)
            customer = _Customer(self._output(answering=True), on_new_message)
            self._in_background(customer.handle(payload, self.get_metadata(request)))
            return response.json({"status": "received"})

        @webhook.listener("before_server_stop")
        async def close_sessions(*_: Any) -> None:
            for output in self._outputs.values():
                await output.close()

        return webhook

    def _in_background(self, turn: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(turn)
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)
