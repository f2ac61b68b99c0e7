"""Unit tests of gapdesk.evaluation: what a version's decisions cost on labelled live
turns, and when a candidate may replace the current version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np
import pytest

from gapdesk.evaluation import (
    FIGURES,
    JudgedTurn,
    LabelledTurn,
    PromotionRule,
    at_counts,
    at_handover_count,
    figures,
    judge,
    misses,
)
from gapdesk.labels import OUT_OF_SCOPE
from gapdesk.settings import Settings
from gapmodel.costs import ANSWER, CLARIFY, ESCALATE, Handling
from gapmodel.fitting import OOS_LABEL
from gapmodel.model import GapModel
from gapmodel.types import GapInput

# Explicit costs, so the expected decisions below do not follow a change of defaults.
# With a clarification hit rate h = 0.5: answer 10p, clarify 3 + 5p, escalate 20(1 - p):
# p = 0.1 answers, p = 0.64 clarifies, p >= 0.9 escalates.
SETTINGS = Settings(cost_missed_gap=10.0, cost_handoff=20.0, cost_clarification=3.0)


class FixedGapModel:
    """A stand-in for a fitted gap model (not the code under test): a fixed probability
    per text, the metadata and version judge() reads, and the inputs it was given."""

    def __init__(self, probabilities: dict[str, float], hit_rate: float | None = 0.5) -> None:
        self.probabilities = probabilities
        self.metadata: dict[str, Any] = {"version": "gap-test"}
        if hit_rate is not None:
            self.metadata["clarification_hit_rate"] = hit_rate
        self.seen: list[GapInput] = []

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    def predict_proba(self, inputs: Sequence[GapInput]) -> np.ndarray:
        self.seen.extend(inputs)
        return np.array([self.probabilities[item.text] for item in inputs])


def _model(probabilities: dict[str, float], hit_rate: float | None = 0.5) -> GapModel:
    return cast(GapModel, FixedGapModel(probabilities, hit_rate))


# -- misses ----------------------------------------------------------------------------


def test_a_named_intent_is_missed_by_any_other_answer() -> None:
    turn = LabelledTurn("top up failed", "top_up", is_gap=True)
    assert misses(turn, "top_up") is False  # the label was for the old answer, not this one
    assert misses(turn, "card_arrival") is True
    assert misses(turn, None) is True


@pytest.mark.parametrize("right", [OUT_OF_SCOPE, OOS_LABEL])
def test_out_of_scope_is_missed_by_every_answer(right: str) -> None:
    turn = LabelledTurn("can I get a mortgage", right, is_gap=False)
    assert misses(turn, "top_up") is True
    assert misses(turn, right) is True
    assert misses(turn, None) is True


@pytest.mark.parametrize("is_gap", [True, False])
def test_an_unnamed_intent_keeps_the_label_whatever_the_answer(is_gap: bool) -> None:
    turn = LabelledTurn("something odd", None, is_gap=is_gap)
    assert misses(turn, "top_up") is is_gap
    assert misses(turn, "card_arrival") is is_gap
    assert misses(turn, None) is is_gap


# -- judge -----------------------------------------------------------------------------

JUDGED_TURNS = [
    # text, right intent, label, this version's ranking, its gap probability
    ("where is my card", "card_arrival", False, [("card_arrival", 0.8), ("top_up", 0.1)], 0.1),
    ("top up please", "top_up", False, [("card_arrival", 0.5), ("top_up", 0.4)], 0.1),
    ("can I get a mortgage", OUT_OF_SCOPE, True, [("card_arrival", 0.3)], 0.9),
    ("refund me", "request_refund", True, [("card_arrival", 0.4), ("top_up", 0.3)], 0.64),
    ("something odd", None, True, [("top_up", 0.4)], 0.64),
    ("my card arrived thanks", None, False, [("card_arrival", 0.9)], 0.95),
]


def _judge_table() -> tuple[list[JudgedTurn], FixedGapModel]:
    turns = [LabelledTurn(text, right, gap) for text, right, gap, _, _ in JUDGED_TURNS]
    rankings = [ranking for *_, ranking, _ in JUDGED_TURNS]
    model = FixedGapModel({text: p for text, *_, p in JUDGED_TURNS})
    return judge(turns, rankings, cast(GapModel, model), SETTINGS), model


def test_judge_decides_as_the_bot_and_costs_what_it_cost_in_fact() -> None:
    judged, model = _judge_table()
    assert [(t.handling, t.is_gap, t.cost) for t in judged] == [
        (ANSWER, False, 0.0),  # right answer
        (ANSWER, True, 10.0),  # this version's NLU answers another intent: missed
        (ESCALATE, True, 0.0),  # out of scope, handed over
        (CLARIFY, True, 13.0),  # the right intent is not among the options
        (CLARIFY, True, 8.0),  # nobody named it: rescued with the model's hit rate 0.5
        (ESCALATE, False, 20.0),  # a needless hand-over
    ]
    assert [t.probability for t in judged] == [p for *_, p in JUDGED_TURNS]
    assert [t.nlu_right for t in judged] == [True, False, None, False, None, None]
    # Each text was scored with this version's ranking of it.
    assert [(item.text, list(item.ranking)) for item in model.seen] == [
        (text, ranking) for text, _, _, ranking, _ in JUDGED_TURNS
    ]


def test_judge_prices_every_way_of_handling_each_turn() -> None:
    judged, _ = _judge_table()
    assert judged[0].realized == {ANSWER: 0.0, ESCALATE: 20.0, CLARIFY: 3.0}
    # top_up is second in the ranking, so a clarification would have offered it
    assert judged[1].realized == {ANSWER: 10.0, ESCALATE: 0.0, CLARIFY: 3.0}
    assert judged[2].realized == {ANSWER: 10.0, ESCALATE: 0.0, CLARIFY: 13.0}
    # The cheaper of answering and clarifying, by expectation (p = 0.95: 9.5 and 7.75).
    assert judged[5].without_handover == CLARIFY
    assert judged[0].without_handover == ANSWER


def test_judge_without_the_models_hit_rate_uses_the_default() -> None:
    turn = LabelledTurn("something odd", None, True)
    # Default hit rate 0.7: clarify costs 3 + 3p, so p = 0.6 still clarifies.
    (judged,) = judge([turn], [[("top_up", 0.4)]], _model({"something odd": 0.6}, None), SETTINGS)
    assert judged.handling == CLARIFY
    assert judged.cost == pytest.approx(3.0 + 0.3 * 10.0)


def test_judge_reads_what_a_clarification_offers_and_what_has_an_answer() -> None:
    text = "top up please"
    turn = LabelledTurn(text, "top_up", False)
    ranking = [("card_arrival", 0.5), ("top_up", 0.4)]
    model = _model({text: 0.64})
    (offered_top_up,) = judge([turn], [ranking], model, SETTINGS)
    (offered_nothing,) = judge([turn], [ranking], model, SETTINGS, offered=lambda r: [])
    assert (offered_top_up.handling, offered_top_up.cost) == (CLARIFY, 3.0)
    assert (offered_nothing.handling, offered_nothing.cost) == (CLARIFY, 13.0)

    confident = _model({text: 0.1})
    (answered,) = judge([turn], [ranking], confident, SETTINGS)
    (no_answer,) = judge(
        [turn], [ranking], confident, SETTINGS, has_answer=lambda intent: intent != "card_arrival"
    )
    assert answered.handling == ANSWER
    assert no_answer.handling == CLARIFY  # the bot has nothing to say for card_arrival


def test_judge_of_no_turns_is_empty() -> None:
    assert judge([], [], _model({}), SETTINGS) == []


def test_judge_needs_one_ranking_per_turn() -> None:
    turn = LabelledTurn("x", None, True)
    with pytest.raises(ValueError):
        judge([turn, turn], [[("top_up", 0.4)]], _model({"x": 0.5}), SETTINGS)


# -- figures ---------------------------------------------------------------------------


def _judged(
    is_gap: bool,
    probability: float,
    handling: Handling,
    cost: float,
    nlu_right: bool | None = None,
    realized: dict[Handling, float] | None = None,
    without_handover: Handling = ANSWER,
) -> JudgedTurn:
    realized = realized or {ANSWER: 10.0 if is_gap else 0.0, ESCALATE: 0.0 if is_gap else 20.0,
                            CLARIFY: 3.0}  # fmt: skip
    turn = JudgedTurn(is_gap, probability, handling, nlu_right, realized, without_handover)
    assert turn.cost == cost  # what the handling realized
    return turn


FIVE = [
    _judged(True, 0.9, ESCALATE, 0.0),
    _judged(False, 0.8, ESCALATE, 20.0, nlu_right=True),  # needless
    _judged(True, 0.3, ANSWER, 10.0, nlu_right=False),  # missed
    _judged(False, 0.1, ANSWER, 0.0, nlu_right=True),  # contained
    _judged(True, 0.5, CLARIFY, 3.0),
]


def test_figures_count_misses_and_share_the_rest() -> None:
    result = figures(FIVE)
    assert set(FIGURES) <= set(result)
    assert result["n"] == 5
    assert result["missed_gaps"] == 1
    assert result["needless_handovers"] == 1
    assert result["escalation_precision"] == 0.5
    assert result["containment"] == 0.2
    assert result["handover_rate"] == 0.4
    assert result["clarification_rate"] == 0.2
    assert result["gap_rate"] == 0.6
    assert result["cost_per_turn"] == 6.6
    # gaps 0.9, 0.3, 0.5 against no-gaps 0.8, 0.1: four of six pairs in order
    assert result["auroc"] == 0.6667
    # one turn per probability bin: (0.1 + 0.8 + 0.7 + 0.1 + 0.5) / 5
    assert result["ece"] == 0.44
    assert result["nlu_accuracy_on_named_intents"] == 0.6667
    assert result["named_intents"] == 3


def test_best_possible_missed_gaps_is_what_a_perfect_detector_still_misses() -> None:
    # Three answers for two gaps and two other turns: a perfect detector answering three
    # turns still answers one of the gaps.
    turns = [
        _judged(True, 0.9, ANSWER, 10.0),
        _judged(True, 0.4, ANSWER, 10.0),
        _judged(False, 0.3, ANSWER, 0.0),
        _judged(False, 0.8, ESCALATE, 20.0),
    ]
    result = figures(turns)
    assert (result["missed_gaps"], result["best_possible_missed_gaps"]) == (2, 1)
    assert result["missed_gaps_above_best_possible"] == 1
    clarified = [*turns[:3], _judged(False, 0.8, CLARIFY, 3.0)]  # not an answer either
    assert figures(clarified)["best_possible_missed_gaps"] == 1
    assert figures(FIVE)["best_possible_missed_gaps"] == 0  # three gaps, three not answered
    few = [_judged(True, 0.9, ESCALATE, 0.0), _judged(False, 0.2, CLARIFY, 3.0)]
    assert figures(few)["best_possible_missed_gaps"] == 0  # never negative


def test_figures_without_both_classes_or_handovers_leave_those_figures_out() -> None:
    all_answered = [_judged(True, 0.4, ANSWER, 10.0), _judged(True, 0.2, ANSWER, 10.0)]
    result = figures(all_answered)
    assert result["auroc"] is None  # no turn without a gap
    assert result["escalation_precision"] is None  # nothing handed over
    assert result["nlu_accuracy_on_named_intents"] is None
    assert result["missed_gaps"] == 2 and result["cost_per_turn"] == 10.0


def test_figures_of_no_turns_are_empty() -> None:
    result = figures([])
    assert result["n"] == 0
    assert all(result[key] is None for key in FIGURES if key != "n")


# -- at_handover_count -----------------------------------------------------------------

# In no particular order of probability.
RANKED = [
    _judged(False, 0.2, ANSWER, 0.0),
    _judged(True, 0.9, ESCALATE, 0.0, without_handover=CLARIFY,
            realized={ANSWER: 10.0, ESCALATE: 0.0, CLARIFY: 3.0}),
    _judged(True, 0.7, CLARIFY, 8.0, realized={ANSWER: 10.0, ESCALATE: 0.0, CLARIFY: 8.0}),
    _judged(False, 0.8, ESCALATE, 20.0, without_handover=ANSWER,
            realized={ANSWER: 0.0, ESCALATE: 20.0, CLARIFY: 3.0}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("count", "handlings", "costs"),
    [
        (0, [ANSWER, CLARIFY, CLARIFY, ANSWER], [0.0, 3.0, 8.0, 0.0]),
        (1, [ANSWER, ESCALATE, CLARIFY, ANSWER], [0.0, 0.0, 8.0, 0.0]),
        (3, [ANSWER, ESCALATE, ESCALATE, ESCALATE], [0.0, 0.0, 0.0, 20.0]),
        (4, [ESCALATE] * 4, [20.0, 0.0, 0.0, 20.0]),
    ],
)
def test_at_handover_count_hands_over_the_highest_probabilities(
    count: int, handlings: list[Handling], costs: list[float]
) -> None:
    result = at_handover_count(RANKED, count)
    assert [t.handling for t in result] == handlings
    assert sum(t.handling == ESCALATE for t in result) == count
    assert [t.cost for t in result] == costs  # from what each handling realized
    assert [(t.is_gap, t.probability) for t in result] == [
        (t.is_gap, t.probability) for t in RANKED
    ]
    assert figures(result)["handover_rate"] == count / len(RANKED)


# -- at_counts -------------------------------------------------------------------------


def test_at_counts_orders_by_probability_alone_whatever_the_decisions_were() -> None:
    # RANKED by probability: 0.9 (gap), 0.8 (no gap), 0.7 (gap), 0.2 (no gap)
    result = at_counts(RANKED, handovers=1, answers=1)
    assert [t.handling for t in result] == [ANSWER, ESCALATE, CLARIFY, CLARIFY]
    assert [t.cost for t in result] == [0.0, 0.0, 8.0, 3.0]  # from what each realized
    assert figures(result)["missed_gaps"] == 0
    # answering two: the lowest two, one of them the 0.7 gap
    two = at_counts(RANKED, handovers=1, answers=2)
    assert [t.handling for t in two] == [ANSWER, ESCALATE, ANSWER, CLARIFY]
    assert figures(two)["missed_gaps"] == 1


def test_a_better_ordering_misses_fewer_gaps_at_the_same_counts() -> None:
    better = [replace(t, probability=p) for t, p in zip(RANKED, (0.2, 0.9, 0.8, 0.7), strict=True)]
    assert figures(at_counts(better, 2, 2))["missed_gaps"] == 0
    assert figures(at_counts(RANKED, 2, 2))["missed_gaps"] == 1


def test_at_counts_refuses_more_decisions_than_turns() -> None:
    with pytest.raises(ValueError, match="3 hand-overs and 2 answers of 4 turns"):
        at_counts(RANKED, 3, 2)


# -- PromotionRule ---------------------------------------------------------------------

CURRENT = {"n": 40, "cost_per_turn": 2.0, "auroc": 0.8, "nlu_accuracy_on_named_intents": 0.9}


def _candidate(**changes: Any) -> dict[str, Any]:
    return {**CURRENT, "version": "v2", **changes}


def test_too_few_held_out_turns_are_refused_whatever_the_figures() -> None:
    rule = PromotionRule(min_held_out=30)
    accepted, reason = rule.verdict(CURRENT, _candidate(n=29, cost_per_turn=0.1, auroc=0.99))
    assert not accepted
    assert "only 29 held-out" in reason and "at least 30" in reason
    assert "GAPDESK_PROMOTE_MIN_HELD_OUT" in reason
    assert rule.verdict(CURRENT, _candidate(n=None))[0] is False
    assert rule.verdict(CURRENT, {"cost_per_turn": 1.0})[0] is False
    assert rule.verdict(CURRENT, _candidate(n=30))[0] is True


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"cost_per_turn": 2.1}, "cost per turn 2.0 -> 2.1"),
        ({"auroc": 0.78}, "gap AUROC 0.8 -> 0.78"),
        ({"nlu_accuracy_on_named_intents": 0.89}, "NLU accuracy on named intents 0.9 -> 0.89"),
    ],
)
def test_a_candidate_worse_on_any_figure_is_refused_naming_it(
    changes: dict[str, float], named: str
) -> None:
    accepted, reason = PromotionRule().verdict(CURRENT, _candidate(**changes))
    assert not accepted
    assert reason.startswith("worse on held-out turns")
    assert named in reason


def test_every_worse_figure_is_named() -> None:
    accepted, reason = PromotionRule().verdict(CURRENT, _candidate(cost_per_turn=3.0, auroc=0.5))
    assert not accepted
    assert "cost per turn 2.0 -> 3.0" in reason and "gap AUROC 0.8 -> 0.5" in reason
    assert "NLU accuracy" not in reason  # not worse


def test_each_tolerance_allows_that_much_and_no_more() -> None:
    rule = PromotionRule(max_cost_increase=0.2, max_auroc_drop=0.01, max_nlu_accuracy_drop=0.05)
    assert rule.verdict(CURRENT, _candidate(cost_per_turn=2.2))[0] is True
    assert rule.verdict(CURRENT, _candidate(cost_per_turn=2.21))[0] is False
    assert rule.verdict(CURRENT, _candidate(auroc=0.79))[0] is True  # exactly the drop allowed
    assert rule.verdict(CURRENT, _candidate(auroc=0.789))[0] is False
    assert rule.verdict(CURRENT, _candidate(nlu_accuracy_on_named_intents=0.85))[0] is True
    assert rule.verdict(CURRENT, _candidate(nlu_accuracy_on_named_intents=0.84))[0] is False


def test_an_equal_or_better_candidate_is_accepted_with_its_figures() -> None:
    rule = PromotionRule()
    accepted, reason = rule.verdict(CURRENT, _candidate())
    assert accepted
    assert reason.startswith("no worse on 40 held-out turns")
    for named in ("cost per turn 2.0 -> 2.0", "gap AUROC 0.8 -> 0.8",
                  "NLU accuracy on named intents 0.9 -> 0.9"):  # fmt: skip
        assert named in reason
    better = _candidate(cost_per_turn=1.5, auroc=0.85, nlu_accuracy_on_named_intents=0.95)
    accepted, reason = rule.verdict(CURRENT, better)
    assert accepted and "cost per turn 2.0 -> 1.5" in reason


def test_a_figure_either_version_lacks_is_not_compared() -> None:
    accepted, reason = PromotionRule().verdict(
        {**CURRENT, "auroc": None}, _candidate(auroc=0.1, nlu_accuracy_on_named_intents=None)
    )
    assert accepted
    assert "AUROC" not in reason and "NLU accuracy" not in reason
    assert "cost per turn 2.0 -> 2.0" in reason


def test_the_rule_comes_from_the_promote_settings() -> None:
    settings = Settings(
        promote_min_held_out=5,
        promote_max_cost_increase=0.5,
        promote_max_auroc_drop=0.02,
        promote_max_nlu_accuracy_drop=0.1,
    )
    assert PromotionRule.of(settings) == PromotionRule(5, 0.5, 0.02, 0.1)
