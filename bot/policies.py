"""A Rasa policy that ends gapdesk's turns: after an answer, listen; after a failure, apologise.

1. Rasa 3.6 swallows a failed custom action (action server down, HTTP 500): it logs
   the exception, records the action as executed with no events, and the customer
   hears nothing. This policy notices exactly that state, a custom action or a form
   followed by no event at all, and predicts the apology response, then listening.
   Every gapdesk custom action returns at least one event when it succeeds, and so
   does a running form, so the state is unambiguous.
2. ``action_gap_answer`` is also RulePolicy's fallback for messages no rule covers
   (for example "yes" outside a form). A fallback is predicted again after the action
   itself, so without this policy the bot would answer the same message repeatedly.
   The answer and hand-over actions always end the bot's turn: this policy predicts
   listening after them.

Its priority is above RulePolicy's so that a rule's prediction cannot override it.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_service_unavailable"
TURN_ENDING_ACTIONS = ("action_gap_answer", "action_escalate")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=False
)
class TurnEndPolicy(Policy):
    """Listen after an answer or an apology; apologise after a custom action that failed."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7}

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        last = tracker.events[-1] if tracker.events else None
        latest_action = tracker.latest_action_name
        # A form whose validation action could not be reached fails the same way.
        failed = isinstance(last, ActionExecuted) and (
            last.action_name in domain.form_names
            or (last.action_name in domain.user_actions and last.action_name.startswith("action_"))
        )
        if failed:
            logger.error(
                "custom action %s returned nothing (action server down or failing); "
                "apologising to conversation %s",
                latest_action,
                tracker.sender_id,
            )
            probabilities[domain.index_for_action(APOLOGY_RESPONSE)] = 1.0
            return self._overruling(probabilities)
        if latest_action == APOLOGY_RESPONSE:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._overruling(probabilities)
        if latest_action in TURN_ENDING_ACTIONS:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)

    def _overruling(self, probabilities: list[float]) -> PolicyPrediction:
        # Inside an active form RulePolicy predicts the form again as a "no user"
        # prediction, which beats every ordinary one; the apology and the listening
        # after it must beat it, or the failing form would run again and again.
        return self._prediction(probabilities, is_no_user_prediction=True)
