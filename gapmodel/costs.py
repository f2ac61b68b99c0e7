"""What each way of handling a doubtful answer costs, and which one is cheapest.

Instead of hand-picked thresholds, the bot weighs three costs (the application sets
them, per intent if it likes) against the calibrated gap probability ``p``:

* answer: the answer misses with probability ``p``: ``p * missed_gap``;
* escalate: the hand-over was unneeded with probability ``1 - p``: ``(1 - p) * handoff``;
* clarify: the question costs ``clarification`` in any case, and it only rescues a gap
  when the right topic is among the offered options (probability ``h``, measured on the
  cross-validated training predictions and saved with the gap model):
  ``clarification + p * (1 - h) * missed_gap``.

The action with the least expected cost wins; on a tie the safer one (escalate, then
clarify) does, as the thresholds it replaces did ("at or above").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Handling(StrEnum):
    """What the bot does with a scored answer (stored with each turn)."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"


ANSWER, CLARIFY, ESCALATE = Handling.ANSWER, Handling.CLARIFY, Handling.ESCALATE
# Safest first: the order that breaks ties between equally expensive actions.
_SAFETY_ORDER = (ESCALATE, CLARIFY, ANSWER)
# The chance that a clarification offers the right topic, for a gap score that does not
# carry the gap model's own estimate (a model trained before it was measured).
DEFAULT_CLARIFICATION_HIT_RATE = 0.7


@dataclass(frozen=True)
class Costs:
    """Costs in any one unit (money, minutes, ...): only their ratios matter."""

    missed_gap: float
    handoff: float
    clarification: float

    def expected(
        self, gap_probability: float, clarification_hit_rate: float
    ) -> dict[Handling, float]:
        """Expected cost of each action for an answer with this gap probability."""
        p, hit = gap_probability, clarification_hit_rate
        return {
            ANSWER: p * self.missed_gap,
            CLARIFY: self.clarification + p * (1 - hit) * self.missed_gap,
            ESCALATE: (1 - p) * self.handoff,
        }

    def cheapest(self, gap_probability: float, clarification_hit_rate: float) -> Handling:
        """The action of least expected cost (the safer one on a tie)."""
        expected = self.expected(gap_probability, clarification_hit_rate)
        return min(_SAFETY_ORDER, key=lambda action: expected[action])
