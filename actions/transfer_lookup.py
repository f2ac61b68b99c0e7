"""Looking up a transfer by its reference (TR- and six digits)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.safety import SafeAction
from actions.services import get_services
from gapdesk.demo.bank import normalise_reference

STATUS_TEXT = {
    "pending": "is on its way and should arrive by {expected_by:%d %B %Y}",
    "completed": "was completed; the money reached the recipient on {expected_by:%d %B %Y}",
    "returned": "was returned by the recipient's bank; the money is back in your account",
}


class ValidateTransferLookupForm(FormValidationAction):
    def name(self) -> str:
        return "validate_transfer_lookup_form"

    def validate_transfer_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reference = normalise_reference(str(value or ""))
        if reference is None:
            dispatcher.utter_message(
                text="That doesn't look like a reference: it's TR- and six digits."
            )
            return {"transfer_reference": None}
        if get_services().bank.transfer(reference) is None:
            dispatcher.utter_message(text=f"I can't find a transfer with reference {reference}.")
            return {"transfer_reference": None}
        return {"transfer_reference": reference}


class ActionLookupTransfer(SafeAction):
    def name(self) -> str:
        return "action_lookup_transfer"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reference = tracker.get_slot("transfer_reference") or ""
        transfer = get_services().bank.transfer(reference)
        if transfer is None:
            dispatcher.utter_message(text=f"I can't find a transfer with reference {reference}.")
        else:
            status = STATUS_TEXT.get(transfer.status, "has the status " + transfer.status)
            dispatcher.utter_message(
                text=f"Your transfer {transfer.reference} of {transfer.amount} to "
                f"{transfer.recipient} {status.format(expected_by=transfer.expected_by)}."
            )
        return [SlotSet("transfer_reference", None)]
