"""Names the action server, the console and the store share about a conversation.

Defined once here, the one layer both processes import: the action server writes them
into Rasa's tracker and the database, the console reads and changes them.
"""

from __future__ import annotations

from enum import StrEnum

# The Rasa slot that counts doubtful turns in a row (declared in bot/domain/core.yml).
FAILURES_SLOT = "gap_failures"


class ConversationStatus(StrEnum):
    """Where a conversation is: the state the queue and takeovers move it through."""

    BOT = "bot"  # the bot answers
    ESCALATED = "escalated"  # handed over, waiting for a person
    AGENT = "agent"  # a person owns it
    RESOLVED = "resolved"  # closed
