"""The values passed between the gap model, the decision and the application.

Plain dataclasses with no scikit-learn behind them, so that the action server's
conversation code, the console and the decision can use them without loading the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class GapInput:
    """One bot answer to score."""

    text: str
    ranking: Sequence[tuple[str, float]]

    @property
    def intent(self) -> str | None:
        return self.ranking[0][0] if self.ranking else None


def words(text: str) -> list[str]:
    """The lower-cased words of ``text`` (letters, with an inner apostrophe)."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Reason:
    """One plain-word reason a score is high, with how far it pushed the score."""

    code: str
    text: str
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "weight": round(self.weight, 3)}


@dataclass(frozen=True)
class GapScore:
    """The gap model's verdict on one answer."""

    probability: float
    reasons: list[Reason]
    model_version: str
    latency_ms: float
    # For the decision: the intent whose answer was scored (its costs may differ), and
    # the model's estimate of how often a clarification offers the right topic.
    intent: str | None = None
    clarification_hit_rate: float | None = None
    # The model's inputs by feature name: stored with the turn, so that reports can
    # measure how much each one tells about people's verdicts.
    features: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """What is stored with the turn; ``intent`` and the hit rate are stored apart."""
        return {
            "probability": round(self.probability, 4),
            "reasons": [r.as_dict() for r in self.reasons],
            "model_version": self.model_version,
            "latency_ms": round(self.latency_ms, 2),
            "features": {name: round(value, 4) for name, value in self.features.items()},
        }
