from __future__ import annotations

import asyncio
from datetime import date

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.card_freeze import ActionFreezeCard, ValidateFreezeCardForm
from actions.transfer_lookup import ActionLookupTransfer, ValidateTransferLookupForm
from gapdesk.demo.bank import TransferStatus
from tests.actions.conftest import as_sent, make_tracker, rasa_domain


def test_unknown_card_is_refused_without_listing_the_others(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("9999", [("inform", 0.9)])
    result = ValidateFreezeCardForm().validate_card_last_four(
        "9999", dispatcher, tracker, rasa_domain()
    )
    assert result == {"card_last_four": None}
    assert "9999" in as_sent(dispatcher.messages)[0]["text"]
    assert "4821" not in as_sent(dispatcher.messages)[0]["text"]


def test_freezing_a_confirmed_card_changes_its_status(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "yes", [("affirm", 0.9)], slots={"card_last_four": "4821", "freeze_confirmed": True}
    )
    asyncio.run(ActionFreezeCard().run(dispatcher, tracker, rasa_domain()))
    assert services.bank.card("4821").status == "frozen"
    assert "4821" in as_sent(dispatcher.messages)[0]["text"]


def test_declined_freeze_leaves_the_card_active(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "no", [("deny", 0.9)], slots={"card_last_four": "4821", "freeze_confirmed": False}
    )
    asyncio.run(ActionFreezeCard().run(dispatcher, tracker, rasa_domain()))
    assert services.bank.card("4821").status == "active"


def test_transfer_reference_is_normalised_and_looked_up(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("tr104233", [("inform", 0.9)])
    result = ValidateTransferLookupForm().validate_transfer_reference(
        "tr104233", dispatcher, tracker, rasa_domain()
    )
    assert result == {"transfer_reference": "TR-104233"}
    tracker = make_tracker("ok", [("inform", 0.9)], slots={"transfer_reference": "TR-104233"})
    asyncio.run(ActionLookupTransfer().run(dispatcher, tracker, rasa_domain()))
    assert "TR-104233" in as_sent(dispatcher.messages)[-1]["text"]
    assert "J. Okafor" in as_sent(dispatcher.messages)[-1]["text"]


def test_unknown_transfer_is_said_plainly(services) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("TR-000000", [("inform", 0.9)])
    result = ValidateTransferLookupForm().validate_transfer_reference(
        "TR-000000", dispatcher, tracker, rasa_domain()
    )
    assert result == {"transfer_reference": None}
    assert "TR-000000" in as_sent(dispatcher.messages)[0]["text"]


@pytest.mark.parametrize(
    ("reference", "said"),
    [
        ("TR-104233", "of 250.00 GBP to J. Okafor is on its way and should arrive by "
                      "01 December 2026."),
        ("TR-220871", "of 1,200.00 EUR to Lisbon Flats Lda was completed; the money reached the "
                      "recipient on 20 November 2026."),
        ("TR-553201", "of 80.50 GBP to M. Novak was returned by the recipient's bank; the money is "
                      "back in your account."),
    ],
)  # fmt: skip
def test_each_transfer_status_is_told_in_its_own_words(services, reference, said) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("ok", [("inform", 0.9)], slots={"transfer_reference": reference})
    asyncio.run(ActionLookupTransfer().run(dispatcher, tracker, rasa_domain()))
    assert [m["text"] for m in as_sent(dispatcher.messages)] == [
        f"Your transfer {reference} {said}"
    ]


def test_a_status_without_words_of_its_own_is_named(services, monkeypatch) -> None:
    held = TransferStatus("TR-123456", "A. Person", "10.00 GBP", "held", date(2026, 1, 2))
    monkeypatch.setattr(services.bank, "transfer", lambda reference: held)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("ok", [("inform", 0.9)], slots={"transfer_reference": "TR-123456"})
    asyncio.run(ActionLookupTransfer().run(dispatcher, tracker, rasa_domain()))
    assert as_sent(dispatcher.messages)[0]["text"] == (
        "Your transfer TR-123456 of 10.00 GBP to A. Person has the status held."
    )
