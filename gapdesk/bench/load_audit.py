"""The load benchmark's loss audit: did every message and every scored turn arrive?

* **lost messages**: customer messages sent that Rasa's tracker of their conversation
  does not hold (counted per conversation: messages sent minus user events stored).
* **lost turns**: customer messages that ``action_gap_answer`` answered (it ran and
  returned events) but that have no turn in gapdesk's database; **duplicated turns**:
  those with more than one. Turns are matched by Rasa's message id, which the action
  server records.

The action server records turns in the background (a failed write waits in the spool),
so the audit waits until the database has caught up or stops changing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from gapdesk.bench.load_traffic import Sent
from gapdesk.engine.client import RasaClient
from gapdesk.errors import EngineError
from gapdesk.storage.models import Turn
from gapdesk.storage.store import Store

GAP_ACTION = "action_gap_answer"
SETTLE_SECONDS = 60.0  # the longest the audit waits for the recorder to catch up


@dataclass
class TrackerCounts:
    """What Rasa's trackers hold for the conversations of a run."""

    lost_messages: int
    gap_turns: dict[str, list[str]]  # conversation id -> message ids answered by the gap action


def gap_answered_message_ids(events: Iterable[dict]) -> list[str]:
    """Ids of the user messages in a tracker's events that ``action_gap_answer``
    answered: the action was followed by an event of its own (one that failed, action
    server down, has none, and the apology action follows it; no turn is recorded)."""
    answered: list[str] = []
    message_id: str | None = None
    running = False  # the last event was the gap action, for message_id
    for event in events:
        kind = event.get("event")
        if kind == "user":
            message_id, running = event.get("message_id"), False
        elif kind == "action":
            running = event.get("name") == GAP_ACTION and message_id is not None
        elif running and message_id is not None:
            answered.append(message_id)
            message_id, running = None, False  # one turn per message
    return answered


def read_trackers(client: RasaClient, sent: Sequence[Sent]) -> TrackerCounts:
    per_conversation = Counter(message.conversation_id for message in sent)
    lost = 0
    gap_turns: dict[str, list[str]] = {}
    for conversation_id, count in per_conversation.items():
        try:
            events = client.tracker(conversation_id).get("events") or []
        except EngineError:
            lost += count  # no tracker: none of its messages can be found
            continue
        stored = sum(1 for event in events if event.get("event") == "user")
        lost += max(0, count - stored)
        gap_turns[conversation_id] = gap_answered_message_ids(events)
    return TrackerCounts(lost, gap_turns)


def _recorded(store: Store, conversation_ids: Sequence[str]) -> Counter[str]:
    """How many turns gapdesk's database holds per Rasa message id."""
    counts: Counter[str] = Counter()
    with store.engine.connect() as connection:
        for start in range(0, len(conversation_ids), 500):
            chunk = conversation_ids[start : start + 500]
            rows = connection.execute(
                select(Turn.message_id, func.count())
                .where(Turn.conversation_id.in_(chunk), Turn.kind == "bot")
                .group_by(Turn.message_id)
            )
            counts.update({str(message_id): int(n) for message_id, n in rows if message_id})
    return counts


def turn_losses(store: Store, gap_turns: dict[str, list[str]]) -> tuple[int, int]:
    """(lost, duplicated) turns, once the database has caught up or stopped changing."""
    expected = [message_id for ids in gap_turns.values() for message_id in ids]
    deadline = time.monotonic() + SETTLE_SECONDS
    previous: Counter[str] | None = None
    while True:
        recorded = _recorded(store, list(gap_turns))
        lost = sum(1 for message_id in expected if recorded[message_id] == 0)
        if lost == 0 or recorded == previous or time.monotonic() > deadline:
            duplicated = sum(1 for message_id in expected if recorded[message_id] > 1)
            return lost, duplicated
        previous = recorded
        time.sleep(5)
