"""rasa-sdk actions of the gapdesk bot: thin adapters over the gapmodel library.

The action server imports this package and registers every Action subclass in it.
"""

from actions.answer import ActionEscalate, ActionGapAnswer
from actions.card_freeze import ActionFreezeCard, ValidateFreezeCardForm
from actions.feedback import ActionRecordFeedback
from actions.transfer_lookup import ActionLookupTransfer, ValidateTransferLookupForm

__all__ = [
    "ActionEscalate",
    "ActionFreezeCard",
    "ActionGapAnswer",
    "ActionLookupTransfer",
    "ActionRecordFeedback",
    "ValidateFreezeCardForm",
    "ValidateTransferLookupForm",
]
