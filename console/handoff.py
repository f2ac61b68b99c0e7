"""What a takeover does on Rasa's side: pause the bot, speak as the agent, resume.

All of it goes through Rasa's HTTP API with short-lived JWTs signed on the server
(``gapdesk.engine.client``); the browser never sees a token.

What the bot says when a case is resolved is the domain's responses, of the model Rasa
runs (read through its API), rendered here (``gapdesk.responses``) and pushed as
``bot`` events in the same request that resumes the bot, so they arrive in order after
it is awake. (Rasa's ``/execute`` endpoint, the alternative, is deprecated, runs one
action per request and cannot fill the rating buttons' payloads.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console.auth import ConsoleUser
from gapdesk.conversation import FAILURES_SLOT
from gapdesk.engine.client import RasaClient
from gapdesk.ratings import RATE_CONVERSATION, satisfaction_payloads
from gapdesk.responses import Responses, of_domain, render

# Rasa 3.6 channels whose output can receive messages pushed by the API (GUIDE).
# Telegram's get_output_channel is broken in Rasa 3.6; bot/channels.py's
# VerifiedTelegramInput replaces it, so pushes reach Telegram customers too.
PUSH_CHANNELS = frozenset(
    {"socketio", "callback", "slack", "facebook", "twilio", "telegram", "rocketchat", "webex"}
)
# Resuming a paused conversation: a clean failure count, the bot awake, and listening.
# Rasa paused it right after the hand-over action, before its usual action_listen; rules
# and policies expect one before the next customer message, so it is added here.
RESUME_EVENTS: list[dict[str, Any]] = [
    {"event": "slot", "name": FAILURES_SLOT, "value": 0},
    {"event": "resume"},
    {"event": "action", "name": "action_listen"},
]
RESOLVED = "utter_resolved"  # the thanks when an agent resolves a case (then the 1-5)


def can_receive_pushes(channel: str) -> bool:
    return channel in PUSH_CHANNELS


def agent_text(user: ConsoleUser, text: str) -> str:
    """The customer sees who is writing, in any channel (plain text, no markup)."""
    return f"{user.display_name}: {text}"


def bot_event(
    responses: Responses, name: str, channel: str | None, **values: Any
) -> dict[str, Any]:
    """Response ``name`` as the ``bot`` event Rasa would add for it."""
    message = render(responses, name, channel, **values)
    event: dict[str, Any] = {"event": "bot", "text": message.get("text")}
    data = {key: value for key, value in message.items() if key != "text"}
    if data:
        event["data"] = data
    event["metadata"] = {"utter_action": name}
    return event


class Handoff:
    def __init__(self, rasa: RasaClient, responses: Callable[[], Responses] | None = None) -> None:
        self.rasa = rasa
        # The words of the model Rasa runs (its domain, over the API), read when needed:
        # a console needs no copy of the bot's files, and never says what Rasa would not.
        self.responses = responses or (lambda: of_domain(self.rasa.domain()))

    def pause(self, conversation_id: str) -> None:
        """Silence the bot (a supervisor takes over a conversation the bot still runs)."""
        self.rasa.append_events(conversation_id, [{"event": "pause"}])

    def reply(self, conversation_id: str, user: ConsoleUser, text: str) -> None:
        self.rasa.append_events(
            conversation_id,
            [
                {
                    "event": "bot",
                    "text": agent_text(user, text),
                    "metadata": {"agent": user.username, "agent_name": user.display_name},
                }
            ],
        )

    def hand_back(self, conversation_id: str, user: ConsoleUser, message: str | None) -> None:
        """The bot answers again, starting with a clean failure count."""
        events: list[dict[str, Any]] = []
        if message:
            events.append({"event": "bot", "text": agent_text(user, message)})
        self.rasa.append_events(conversation_id, events + RESUME_EVENTS)

    def resolve(self, conversation_id: str, channel: str | None = None) -> None:
        """Close the case: thank the customer, let the bot resume, ask for a 1-5 rating.

        The bot resumes first: clicks on the rating reach the bot's feedback action
        only while it listens. ``channel`` picks the responses' variations for the
        customer's channel, if they have any.
        """
        responses = self.responses()
        self.rasa.append_events(
            conversation_id,
            [
                *RESUME_EVENTS,
                bot_event(responses, RESOLVED, channel),
                bot_event(responses, RATE_CONVERSATION, channel, **satisfaction_payloads()),
            ],
        )
