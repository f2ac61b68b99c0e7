"""The one place where library errors become a safe reply to the customer.

Every gapdesk action subclasses :class:`SafeAction` and implements ``act``. A
:class:`~gapmodel.errors.GapdeskError` (no trained model, bad configuration, ...) is
logged with its context and the customer is told plainly that something went wrong
(the response ``utter_service_unavailable``); the conversation goes on. Anything else
propagates to rasa-sdk, and Rasa's side (``bot/policies.py``) apologises for the failed
action with the same response.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.services import get_services
from gapdesk.conversation import FAILURES_SLOT
from gapmodel.errors import GapdeskError

logger = logging.getLogger(__name__)

APOLOGY = "utter_service_unavailable"


class SafeAction(Action, metaclass=ABCMeta):
    """Base of every gapdesk action: implement ``name`` and ``act``."""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            # The first call builds the services (loads the gap model and spaCy: seconds);
            # off the event loop, so other conversations are answered meanwhile.
            await asyncio.to_thread(get_services)
            return await self.act(dispatcher, tracker, domain)
        except GapdeskError:
            logger.exception("%s failed for conversation %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(response=APOLOGY)
            # An event, so that Rasa does not also treat the action as failed.
            failures = int(tracker.get_slot(FAILURES_SLOT) or 0) + 1
            return [SlotSet(FAILURES_SLOT, failures)]

    @abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]: ...
