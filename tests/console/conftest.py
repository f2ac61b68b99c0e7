"""A console app on a real, migrated database, with Rasa replaced by a recorder.

The fake Rasa here is the only stand-in: it records the events the console would
send and returns a tracker; the browser tests in tests/e2e use the real Rasa.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from console.app import create_app
from gapdesk.accounts import hash_password
from gapdesk.errors import EngineError
from gapdesk.responses import load_responses
from gapdesk.settings import Settings
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Turn, User
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)


@dataclass
class RecordingRasa:
    """Keeps what the console appends; ``down`` makes every call fail like a dead Rasa."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    down: bool = False

    def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        if self.down:
            raise EngineError("Rasa did not answer")
        self.events.setdefault(conversation_id, []).extend(events)

    def domain(self) -> dict[str, Any]:
        """The shipped domain's responses, as Rasa's API returns them."""
        if self.down:
            raise EngineError("Rasa did not answer")
        return {"responses": load_responses()}

    def tracker(self, conversation_id: str) -> dict[str, Any]:
        if self.down:
            raise EngineError("Rasa did not answer")
        return {"sender_id": conversation_id, "events": self.events.get(conversation_id, [])}


@pytest.fixture
def console_store(database_url: str) -> Iterator[Store]:
    upgrade(database_url)
    engine = make_engine(database_url)
    store = Store(engine)
    accounts = [(role, role, f"{role.title()} Person") for role in ("agent", "supervisor", "admin")]
    with store.session() as session:  # one argon2 hash for all: hashing is slow on purpose
        for username, role, name in [*accounts, ("agent2", "agent", "Second Agent")]:
            session.add(User(username=username, display_name=name, role=role, password_hash=_HASH))
    yield store
    engine.dispose()


@pytest.fixture
def rasa() -> RecordingRasa:
    return RecordingRasa()


@pytest.fixture
def app_factory(console_store: Store, rasa: RecordingRasa, tmp_path):
    def make() -> TestClient:
        settings = Settings(
            var_dir=str(tmp_path / "var"),
            models_dir=str(tmp_path / "models"),
            rasa_jwt_secret="x" * 40,
        )
        app = create_app(settings, console_store, rasa)  # type: ignore[arg-type]
        return TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False)

    return make


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    response = client.post(
        "/login",
        data={"csrf_token": token.group(1), "username": username, "password": password},
    )
    assert response.status_code == 303, response.text
    queue = client.get("/queue")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', queue.text)
    assert csrf
    return csrf.group(1)


def escalate(
    store: Store,
    conversation_id: str,
    text: str = "where is my refund?",
    decision: str = "escalate",
) -> int:
    """A scored bot turn and (for decision "escalate") an escalation, as the action
    server records them; returns the turn's id."""
    turn = new_record(
        "turn",
        conversation_id,
        channel="socketio",
        message_id=f"m-{conversation_id}",
        customer_text=text,
        intent="request_refund",
        confidence=0.41,
        intent_ranking=[["request_refund", 0.41]],
        answer_text="I'm handing this conversation to a person.",
        decision=decision,
        decision_reasons=["high_gap"],
        gap_score={"probability": 0.83, "reasons": [{"code": "far_from_examples",
                   "text": "unlike any example", "weight": 1.0}], "model_version": "gm-test"},
    )  # fmt: skip
    store.apply(turn)
    if decision == "escalate":
        store.apply(
            new_record(
                "escalation",
                conversation_id,
                channel="socketio",
                reason_codes=["high_gap"],
                brief="The customer asked about a refund.",
                gap_probability=0.83,
            )
        )
    with store.session() as session:
        return int(session.query(Turn.id).filter(Turn.uid == turn["uid"]).scalar())
