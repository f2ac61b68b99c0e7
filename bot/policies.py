"""A Rasa policy that apologises when a custom action failed.

Rasa 3.6 swallows a failed custom action (action server down, HTTP 500): it logs the
exception, records the action as executed with no events, and the customer hears
nothing. This policy notices exactly that state, a custom action followed by no event
at all, and predicts the apology response; after the apology it predicts listening.
Every gapdesk custom action returns at least one event when it succeeds, so the state
is unambiguous. Its priority is above RulePolicy's so that the rule's "listen after
the answer" does not silence the apology.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_service_unavailable"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=False
)
class ActionFailurePolicy(Policy):
    """Predicts an apology after a custom action that produced nothing."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 7}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Optional[Any] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(
        self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        last = tracker.events[-1] if tracker.events else None
        if isinstance(last, ActionExecuted):
            if last.action_name == APOLOGY_RESPONSE:
                probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            elif last.action_name in domain.user_actions and last.action_name.startswith(
                "action_"
            ):
                logger.error(
                    "custom action %s returned nothing (action server down or failing); "
                    "apologising to conversation %s",
                    last.action_name,
                    tracker.sender_id,
                )
                probabilities[domain.index_for_action(APOLOGY_RESPONSE)] = 1.0
        return self._prediction(probabilities)
