"""The real services, built the way the action server builds them."""

from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionEscalate, ActionGapAnswer
from actions.services import build_services, set_services
from gapdesk.settings import Settings
from gapdesk.storage.migrate import upgrade
from tests.actions.conftest import as_sent, make_tracker, rasa_domain


def test_without_a_gap_model_the_bot_hands_over_instead_of_apologising(tmp_path) -> None:
    database_url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    upgrade(database_url)
    settings = Settings(
        database_url=database_url, models_dir=str(tmp_path / "models"), var_dir=str(tmp_path)
    )
    services = build_services(settings)  # no model trained into tmp_path/models
    set_services(services)
    try:
        answered = CollectingDispatcher()
        card = [("card_arrival", 0.97), ("card_delivery_estimate", 0.02)]
        events = asyncio.run(
            ActionGapAnswer().run(
                answered, make_tracker("my card hasn't arrived", card), rasa_domain()
            )
        )
        assert any(e["event"] == "pause" for e in events), "a failed score escalates"
        asked = CollectingDispatcher()
        human = [("request_human", 0.99)]
        events = asyncio.run(
            ActionEscalate().run(
                asked, make_tracker("let me talk to a human", human), rasa_domain()
            )
        )
        assert any(e["event"] == "pause" for e in events)
        # Nobody has signed in to this database: the customer may leave a message.
        [said] = as_sent(asked.messages)
        assert said["response"] == "utter_hand_over_asked_nobody_online"
    finally:
        set_services(None)
        services.recorder.close()  # type: ignore[attr-defined]
