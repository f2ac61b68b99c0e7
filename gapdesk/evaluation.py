"""What a model version's decisions cost on labelled live turns, and whether a candidate
may replace the current version.

Each version parses a turn's text with its own NLU, scores it with its own gap model
and decides as the bot does (:func:`gapdesk.policy.decide_turn`, the bot's costs). The
turn's label then says whether that version's answer would have missed:

* a person named the right intent: the answer misses unless it is for that intent
  (always, when the right answer is "out of scope");
* nobody named it (a "gap" without an intent, a "different question" thumbs down): the
  turn stays a gap for every version; a new intent might be right, but nobody said so.

A decision's cost is what it cost in fact, in the units of the bot's costs: an answer
that missed costs ``missed_gap``; a needless hand-over ``handoff``; a clarification
``clarification``, plus ``missed_gap`` when the right topic was not among the options
(expected with the model's hit rate when nobody named the right topic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from gapdesk.labels import OUT_OF_SCOPE
from gapdesk.policy import costs_for, decide_turn
from gapdesk.settings import Settings
from gapmodel.costs import ANSWER, CLARIFY, ESCALATE, Handling
from gapmodel.decision import DEFAULT_CLARIFICATION_HIT_RATE
from gapmodel.fitting import OOS_LABEL
from gapmodel.knowledge import CLARIFICATION_OPTIONS
from gapmodel.metrics import expected_calibration_error
from gapmodel.model import GapModel
from gapmodel.types import GapInput, GapScore

Ranking = Sequence[tuple[str, float]]
# The keys of a version's figures, in the order reports print them.
FIGURES = (
    "auroc", "ece", "missed_gaps", "needless_handovers", "escalation_precision",
    "containment", "handover_rate", "cost_per_turn", "n",
)  # fmt: skip


@dataclass(frozen=True)
class LabelledTurn:
    """A live turn with what people said of it (see the module's rules)."""

    text: str
    right_intent: str | None  # None: nobody named it; OUT_OF_SCOPE or OOS_LABEL: no intent
    is_gap: bool  # the label, for the answer the bot gave then


@dataclass(frozen=True)
class JudgedTurn:
    """One version's handling of one labelled turn."""

    is_gap: bool  # whether this version's answer would have missed
    probability: float
    handling: Handling
    nlu_right: bool | None  # its top intent is the one a person named (None: none named)
    realized: dict[Handling, float]  # what each way of handling it would have cost
    without_handover: Handling  # the cheaper of answering and clarifying, by expectation

    @property
    def cost(self) -> float:
        """What the handling it got cost in fact."""
        return self.realized[self.handling]


def misses(turn: LabelledTurn, intent: str | None) -> bool:
    """Whether answering ``turn`` with ``intent`` misses."""
    if turn.right_intent is None:
        return turn.is_gap
    if turn.right_intent in (OUT_OF_SCOPE, OOS_LABEL):
        return True
    return intent != turn.right_intent


def judge(
    turns: Sequence[LabelledTurn],
    rankings: Sequence[Ranking],
    model: GapModel,
    settings: Settings,
    offered: Callable[[Ranking], list[str]] | None = None,
    has_answer: Callable[[str], bool] | None = None,
) -> list[JudgedTurn]:
    """How one version (its NLU's ``rankings`` of the turns, its gap ``model``) handles
    each turn. ``offered`` are the intents a clarification offers (default: the top
    three), ``has_answer`` whether the bot has an answer for an intent (default: yes)."""
    inputs = [GapInput(t.text, r) for t, r in zip(turns, rankings, strict=True)]
    probabilities = model.predict_proba(inputs) if inputs else np.array([])
    measured_hit_rate = model.metadata.get("clarification_hit_rate")
    hit_rate = measured_hit_rate or DEFAULT_CLARIFICATION_HIT_RATE
    judged = []
    for turn, item, probability in zip(turns, inputs, probabilities, strict=True):
        intent = item.intent
        # The score the decision reads, its probability computed in bulk above.
        score = GapScore(float(probability), [], model.version, 0.0, intent, measured_hit_rate)
        answerable = has_answer(intent) if (has_answer and intent) else True
        handling = Handling(decide_turn(score, turn.text, [], 0, answerable, settings).action)
        is_gap = misses(turn, intent)
        costs = costs_for(intent, settings)
        realized = {
            ANSWER: costs.missed_gap if is_gap else 0.0,
            ESCALATE: 0.0 if is_gap else costs.handoff,
            CLARIFY: costs.clarification
            + _clarification_miss(turn, item.ranking, is_gap, hit_rate, offered) * costs.missed_gap,
        }
        expected = costs.expected(score.probability, hit_rate)
        without_handover = min((CLARIFY, ANSWER), key=lambda action: expected[action])
        named = turn.right_intent is not None and turn.right_intent not in (OUT_OF_SCOPE, OOS_LABEL)
        nlu_right = (intent == turn.right_intent) if named else None
        judged.append(
            JudgedTurn(is_gap, score.probability, handling, nlu_right, realized, without_handover)
        )
    return judged


def at_handover_count(judged: Sequence[JudgedTurn], count: int) -> list[JudgedTurn]:
    """The same turns with exactly ``count`` hand-overs: those of the highest gap
    probability; a turn the version handed over otherwise gets its cheaper other way.
    Compares two versions at the same hand-over rate."""
    ranked = sorted(range(len(judged)), key=lambda i: -judged[i].probability)
    handed = set(ranked[:count])
    result = []
    for index, turn in enumerate(judged):
        if index in handed:
            handling = ESCALATE
        elif turn.handling == ESCALATE:
            handling = turn.without_handover
        else:
            handling = turn.handling
        result.append(replace(turn, handling=handling))
    return result


def at_counts(judged: Sequence[JudgedTurn], handovers: int, answers: int) -> list[JudgedTurn]:
    """The same turns handled by rank alone: the ``handovers`` of highest gap probability
    handed over, the ``answers`` of lowest answered, the rest clarified.

    Two versions handled so at the same counts differ only in how they order the turns,
    so fewer missed gaps there means a better ranking where the bot draws its lines (a
    version that merely answers more turns than another misses more gaps, even with the
    better ranking)."""
    if handovers + answers > len(judged):
        raise ValueError(f"{handovers} hand-overs and {answers} answers of {len(judged)} turns")
    ranked = sorted(range(len(judged)), key=lambda i: -judged[i].probability)
    handling = dict.fromkeys(ranked[:handovers], ESCALATE)
    handling |= dict.fromkeys(ranked[len(ranked) - answers :], ANSWER)
    return [replace(turn, handling=handling.get(i, CLARIFY)) for i, turn in enumerate(judged)]


def _clarification_miss(
    turn: LabelledTurn,
    ranking: Ranking,
    is_gap: bool,
    hit_rate: float,
    offered: Callable[[Ranking], list[str]] | None,
) -> float:
    """The chance a clarification still leaves the customer without the right answer."""
    if not is_gap:
        return 0.0
    if turn.right_intent is None:
        return 1.0 - hit_rate
    if turn.right_intent in (OUT_OF_SCOPE, OOS_LABEL):
        return 1.0
    options = offered(ranking) if offered else [name for name, _ in ranking[:CLARIFICATION_OPTIONS]]
    return 0.0 if turn.right_intent in options else 1.0


def figures(judged: Sequence[JudgedTurn]) -> dict[str, Any]:
    """A version's figures over its judged turns (the keys of :data:`FIGURES`, and more).

    Counts for missed gaps and needless hand-overs, shares for the rest, the average
    cost for ``cost_per_turn``. ``best_possible_missed_gaps`` is what a perfect detector
    answering as many turns (handing over or clarifying the rest) would still miss, and
    ``missed_gaps_above_best_possible`` how many more this version misses.
    """
    n = len(judged)
    if n == 0:
        return {key: None for key in FIGURES} | {"n": 0}
    y = np.array([t.is_gap for t in judged], dtype=int)
    p = np.array([t.probability for t in judged])
    handed = [t for t in judged if t.handling == ESCALATE]
    answered = [t for t in judged if t.handling == ANSWER]
    named = [t.nlu_right for t in judged if t.nlu_right is not None]
    best_possible = max(0, int(y.sum()) - (n - len(answered)))
    return {
        "auroc": round(float(roc_auc_score(y, p)), 4) if 0 < y.sum() < n else None,
        "ece": round(expected_calibration_error(y, p), 4),
        "missed_gaps": sum(t.is_gap for t in answered),
        "needless_handovers": sum(not t.is_gap for t in handed),
        "escalation_precision": round(sum(t.is_gap for t in handed) / len(handed), 4)
        if handed
        else None,
        "containment": round(sum(not t.is_gap for t in answered) / n, 4),
        "handover_rate": round(len(handed) / n, 4),
        "cost_per_turn": round(sum(t.cost for t in judged) / n, 4),
        "n": n,
        "clarification_rate": round(sum(t.handling == CLARIFY for t in judged) / n, 4),
        "gap_rate": round(float(y.mean()), 4),
        "best_possible_missed_gaps": best_possible,
        "missed_gaps_above_best_possible": sum(t.is_gap for t in answered) - best_possible,
        "nlu_accuracy_on_named_intents": round(sum(named) / len(named), 4) if named else None,
        "named_intents": len(named),
    }


@dataclass(frozen=True)
class PromotionRule:
    """When a candidate may replace the current version (the ``GAPDESK_PROMOTE_*``
    settings): enough held-out turns, and no figure worse by more than its tolerance."""

    min_held_out: int = 30
    max_cost_increase: float = 0.0
    max_auroc_drop: float = 0.01
    max_nlu_accuracy_drop: float = 0.0

    @classmethod
    def of(cls, settings: Settings) -> PromotionRule:
        return cls(
            settings.promote_min_held_out,
            settings.promote_max_cost_increase,
            settings.promote_max_auroc_drop,
            settings.promote_max_nlu_accuracy_drop,
        )

    def verdict(self, current: dict[str, Any], candidate: dict[str, Any]) -> tuple[bool, str]:
        """Whether to promote, and why (each figure compared), on the same held-out turns."""
        n = candidate.get("n") or 0
        if n < self.min_held_out:
            return False, (
                f"only {n} held-out labelled turns; at least {self.min_held_out} are needed "
                "to judge (GAPDESK_PROMOTE_MIN_HELD_OUT)"
            )
        # (what, key, how much worse it may be, +1 when higher is better, -1 when lower)
        checks = [
            ("cost per turn", "cost_per_turn", self.max_cost_increase, -1),
            ("gap AUROC", "auroc", self.max_auroc_drop, 1),
            ("NLU accuracy on named intents", "nlu_accuracy_on_named_intents",
             self.max_nlu_accuracy_drop, 1),
        ]  # fmt: skip
        problems: list[str] = []
        notes: list[str] = []
        for label, key, allowance, direction in checks:
            old, new = current.get(key), candidate.get(key)
            if old is None or new is None:
                continue
            worse = direction * (old - new) > allowance + 1e-12
            (problems if worse else notes).append(f"{label} {old} -> {new}")
        if problems:
            return False, "worse on held-out turns: " + "; ".join(problems)
        return True, f"no worse on {n} held-out turns: " + "; ".join(notes)
