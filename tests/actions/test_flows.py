from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions.card_freeze import ActionFreezeCard, ValidateFreezeCardForm
from actions.transfer_lookup import ActionLookupTransfer, ValidateTransferLookupForm
from tests.actions.conftest import make_tracker


def test_unknown_card_is_refused_without_listing_the_others(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("9999", [("inform", 0.9)])
    result = ValidateFreezeCardForm().validate_card_last_four("9999", dispatcher, tracker, {})
    assert result == {"card_last_four": None}
    assert "9999" in dispatcher.messages[0]["text"]
    assert "4821" not in dispatcher.messages[0]["text"]


def test_freezing_a_confirmed_card_changes_its_status(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "yes", [("affirm", 0.9)], slots={"card_last_four": "4821", "freeze_confirmed": True}
    )
    asyncio.run(ActionFreezeCard().run(dispatcher, tracker, {}))
    assert services.bank.card("4821").status == "frozen"
    assert "4821" in dispatcher.messages[0]["text"]


def test_declined_freeze_leaves_the_card_active(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "no", [("deny", 0.9)], slots={"card_last_four": "4821", "freeze_confirmed": False}
    )
    asyncio.run(ActionFreezeCard().run(dispatcher, tracker, {}))
    assert services.bank.card("4821").status == "active"


def test_transfer_reference_is_normalised_and_looked_up(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("tr104233", [("inform", 0.9)])
    result = ValidateTransferLookupForm().validate_transfer_reference(
        "tr104233", dispatcher, tracker, {}
    )
    assert result == {"transfer_reference": "TR-104233"}
    tracker = make_tracker("ok", [("inform", 0.9)], slots={"transfer_reference": "TR-104233"})
    asyncio.run(ActionLookupTransfer().run(dispatcher, tracker, {}))
    assert "TR-104233" in dispatcher.messages[-1]["text"]
    assert "J. Okafor" in dispatcher.messages[-1]["text"]


def test_unknown_transfer_is_said_plainly(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("TR-000000", [("inform", 0.9)])
    result = ValidateTransferLookupForm().validate_transfer_reference(
        "TR-000000", dispatcher, tracker, {}
    )
    assert result == {"transfer_reference": None}
    assert "TR-000000" in dispatcher.messages[0]["text"]
