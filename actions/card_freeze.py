"""Freezing a card: the form asks for its last four digits and a confirmation."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.safety import SafeAction
from actions.services import get_services

_FOUR_DIGITS = re.compile(r"^\d{4}$")


class ValidateFreezeCardForm(FormValidationAction):
    def name(self) -> str:
        return "validate_freeze_card_form"

    def validate_card_last_four(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        digits = str(value or "").strip()
        if not _FOUR_DIGITS.match(digits):
            dispatcher.utter_message(response="utter_card_not_four_digits")
            return {"card_last_four": None}
        if get_services().bank.card(digits) is None:
            dispatcher.utter_message(response="utter_card_not_found", card_last_four=digits)
            return {"card_last_four": None}
        return {"card_last_four": digits}


class ActionFreezeCard(SafeAction):
    def name(self) -> str:
        return "action_freeze_card"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        digits = tracker.get_slot("card_last_four")
        if tracker.get_slot("freeze_confirmed") and digits:
            get_services().bank.freeze(digits)
            dispatcher.utter_message(response="utter_card_frozen", card_last_four=digits)
        else:
            dispatcher.utter_message(response="utter_card_not_frozen")
        return [SlotSet("card_last_four", None), SlotSet("freeze_confirmed", None)]
