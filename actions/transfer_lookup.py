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

# What the customer is told, by the transfer's status; any other status is named.
STATUS_RESPONSES = {
    "pending": "utter_transfer_pending",
    "completed": "utter_transfer_completed",
    "returned": "utter_transfer_returned",
}
OTHER_STATUS_RESPONSE = "utter_transfer_status"
DATE_FORMAT = "%d %B %Y"  # {expected_by}: "01 December 2026"


class ValidateTransferLookupForm(FormValidationAction):
    def name(self) -> str:
        return "validate_transfer_lookup_form"

    def validate_transfer_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reference = normalise_reference(str(value or ""))
        if reference is None:
            dispatcher.utter_message(response="utter_transfer_reference_invalid")
            return {"transfer_reference": None}
        if get_services().bank.transfer(reference) is None:
            dispatcher.utter_message(
                response="utter_transfer_not_found", transfer_reference=reference
            )
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
            dispatcher.utter_message(
                response="utter_transfer_not_found", transfer_reference=reference
            )
        else:
            dispatcher.utter_message(
                response=STATUS_RESPONSES.get(transfer.status, OTHER_STATUS_RESPONSE),
                transfer_reference=transfer.reference,
                amount=transfer.amount,
                recipient=transfer.recipient,
                expected_by=f"{transfer.expected_by:{DATE_FORMAT}}",
                status=transfer.status,
            )
        return [SlotSet("transfer_reference", None)]
