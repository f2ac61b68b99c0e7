"""What a takeover does on Rasa's side: pause the bot, speak as the agent, resume.

All of it goes through Rasa's HTTP API with short-lived JWTs signed on the server
(``gapdesk.engine.client``); the browser never sees a token.
"""

from __future__ import annotations

from typing import Any

from console.auth import ConsoleUser
from gapdesk.conversation import FAILURES_SLOT
from gapdesk.engine.client import RasaClient
from gapdesk.ratings import SATISFACTION_QUESTION, satisfaction_buttons

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

RESOLVED_TEXT = "Thanks for your patience. I'm closing this conversation; write any time."


def can_receive_pushes(channel: str) -> bool:
    return channel in PUSH_CHANNELS


def agent_text(user: ConsoleUser, text: str) -> str:
    """The customer sees who is writing, in any channel (plain text, no markup)."""
    return f"{user.display_name}: {text}"


class Handoff:
    def __init__(self, rasa: RasaClient) -> None:
        self.rasa = rasa

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

    def resolve(self, conversation_id: str) -> None:
        """Close the case: thank the customer, let the bot resume, ask for a 1-5 rating.

        The bot resumes first: clicks on the rating reach the bot's feedback action
        only while it listens.
        """
        self.rasa.append_events(
            conversation_id,
            [
                *RESUME_EVENTS,
                {"event": "bot", "text": RESOLVED_TEXT},
                {
                    "event": "bot",
                    "text": SATISFACTION_QUESTION,
                    "data": {"buttons": satisfaction_buttons()},
                },
            ],
        )
