"""gapmodel: the gap model and the decision, as a plain library.

Text and the NLU's intent ranking in; a calibrated probability that the answer misses
what the customer asked (P(gap)), its reasons in words, and the decision (answer,
clarify or escalate) out. No database, HTTP, settings or Rasa here: the application
(``gapdesk``) feeds it and stores what it says.

Names are re-exported lazily (PEP 562), so ``import gapmodel.costs`` or
``from gapmodel import Decision`` does not load scikit-learn; ``GapModel`` does.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it
_EXPORTS = {
    "GapInput": "types",
    "GapScore": "types",
    "Reason": "types",
    "words": "types",
    "GapFeaturizer": "features",
    "GapClassifier": "classifier",
    "GapModel": "model",
    "MODEL_FORMAT": "model",
    "explain": "reasons",
    "Prediction": "fitting",
    "fit_gap_model": "fitting",
    "Costs": "costs",
    "Decision": "decision",
    "DecisionReason": "decision",
    "ConversationSignals": "decision",
    "decide": "decision",
    "read_signals": "decision",
    "KnowledgeBase": "knowledge",
    "redact": "redaction",
    "GapdeskError": "errors",
    "ModelNotTrainedError": "errors",
}

__all__ = [
    "MODEL_FORMAT",
    "ConversationSignals",
    "Costs",
    "Decision",
    "DecisionReason",
    "GapClassifier",
    "GapFeaturizer",
    "GapInput",
    "GapModel",
    "GapScore",
    "GapdeskError",
    "KnowledgeBase",
    "ModelNotTrainedError",
    "Prediction",
    "Reason",
    "decide",
    "explain",
    "fit_gap_model",
    "read_signals",
    "redact",
    "words",
]

if TYPE_CHECKING:
    from gapmodel.classifier import GapClassifier
    from gapmodel.costs import Costs
    from gapmodel.decision import (
        ConversationSignals,
        Decision,
        DecisionReason,
        decide,
        read_signals,
    )
    from gapmodel.errors import GapdeskError, ModelNotTrainedError
    from gapmodel.features import GapFeaturizer
    from gapmodel.fitting import Prediction, fit_gap_model
    from gapmodel.knowledge import KnowledgeBase
    from gapmodel.model import MODEL_FORMAT, GapModel
    from gapmodel.reasons import explain
    from gapmodel.redaction import redact
    from gapmodel.types import GapInput, GapScore, Reason, words


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gapmodel' has no attribute {name!r}")
    value = getattr(import_module(f"gapmodel.{module}"), name)
    globals()[name] = value  # found once, then an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
