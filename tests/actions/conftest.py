"""Actions are tested with the real knowledge base and domain, and a scorer we control."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.services import Services, set_services
from gapdesk.demo.bank import DemoBank
from gapdesk.responses import load_responses, render
from gapdesk.settings import Settings
from gapdesk.storage.store import make_engine
from gapmodel.knowledge import KnowledgeBase
from gapmodel.types import GapInput, GapScore, Reason


@dataclass
class FixedScorer:
    """Returns a chosen probability, or raises, and remembers what it was asked."""

    probability: float = 0.1
    error: Exception | None = None
    seen: list[GapInput] = field(default_factory=list)

    def score(self, item: GapInput) -> GapScore:
        self.seen.append(item)
        if self.error:
            raise self.error
        reasons = (
            [Reason("low_confidence", "the NLU was unsure", 1.0)] if self.probability > 0.5 else []
        )
        return GapScore(self.probability, reasons, "gap-test", 1.0)


@dataclass
class ListRecorder:
    records: list[dict[str, Any]] = field(default_factory=list)

    def record(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == kind]


@dataclass
class FakePresence:
    """Says whether an agent is online, or fails, or takes its time."""

    online: bool = False
    error: Exception | None = None
    delay: float = 0.0

    def agents_online(self, within_seconds: int) -> bool:
        time.sleep(self.delay)
        if self.error:
            raise self.error
        return self.online


@pytest.fixture
def presence() -> FakePresence:
    return FakePresence(online=True)


@pytest.fixture
def scorer() -> FixedScorer:
    return FixedScorer()


@pytest.fixture
def recorder() -> ListRecorder:
    return ListRecorder()


@pytest.fixture
def services(
    scorer: FixedScorer,
    recorder: ListRecorder,
    presence: FakePresence,
    tmp_path,
) -> Iterator[Services]:
    bank = DemoBank(make_engine(f"sqlite:///{tmp_path / 'bank.db'}"))
    bank.seed()
    built = Services(Settings(), KnowledgeBase.load(), scorer, recorder, bank, presence)
    set_services(built)
    yield built
    set_services(None)


def make_tracker(
    text: str,
    ranking: list[tuple[str, float]],
    history: Sequence[tuple[str, str] | dict[str, Any]] = (),
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A tracker whose latest message is ``text``, after ``history``.

    History items are (speaker, text) pairs or whole Rasa events.
    """
    events = [
        item if isinstance(item, dict) else {"event": item[0], "text": item[1]} for item in history
    ]
    latest = {
        "text": text,
        "intent": {"name": ranking[0][0], "confidence": ranking[0][1]} if ranking else {},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "entities": entities or [],
    }
    events.append(
        {
            "event": "user",
            "text": text,
            "parse_data": latest,
            "input_channel": "rest",
            "message_id": "msg-1",
        }
    )
    return Tracker(
        sender_id="conv-1",
        slots=slots or {},
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@cache
def rasa_domain() -> dict[str, Any]:
    """The domain as Rasa sends it with every action call (actions read its responses)."""
    return {"responses": load_responses()}


# What rasa-sdk's dispatcher puts in every message; anything else fills placeholders.
_DISPATCHER_KEYS = {"text", "buttons", "elements", "custom", "template", "response"}
_DISPATCHER_KEYS |= {"image", "attachment"}


def as_sent(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dispatcher's messages as Rasa sends them to the customer.

    As Rasa 3.6 does (``RemoteAction._utter_responses``): a response's placeholders are
    filled from the message's other values, the action's buttons follow the response's
    own, and a text the action gives wins. ``response`` keeps the response's name.
    """
    sent = []
    for message in messages:
        name = message.get("response")
        values = {k: v for k, v in message.items() if k not in _DISPATCHER_KEYS}
        out = render(rasa_domain()["responses"], name, **values) if name else {}
        if message.get("buttons"):
            out["buttons"] = [*out.get("buttons", []), *message["buttons"]]
        if message.get("text"):
            out["text"] = message["text"]
        sent.append({**out, "response": name})
    return sent
