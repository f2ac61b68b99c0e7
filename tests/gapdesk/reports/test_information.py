"""The information view on hand-made turns whose entropies are worked out by hand here.

Notation: H(p) is the binary entropy -p log2 p - (1-p) log2 (1-p); H(1/4) = 2 - (3/4) log2 3.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine

from gapdesk.reports import information as info
from gapdesk.reports.build import build_report
from gapdesk.reports.information import (
    bin_count,
    entropy_bits,
    equal_frequency_bins,
    information,
    miller_madow_bits,
    miller_madow_mutual_information,
    mutual_information_bits,
)
from tests.gapdesk.reports.conftest import SINCE, UNTIL

H_QUARTER = 2 - 0.75 * math.log2(3)  # H(1/4) = 0.8113 bits
LN2 = math.log(2)


def turns(intents: list[str], gaps: list[bool], **columns: list[Any]) -> pd.DataFrame:
    """Annotated bot turns as gapdesk.reports.outcomes makes them, with only the columns
    the information view reads; none labelled unless ``labelled_gap`` etc. are given."""
    n = len(intents)
    frame = {
        "intent": intents,
        "gap_turn": gaps,
        "labelled_gap": [False] * n,
        "labelled_no_gap": [False] * n,
        "gap_probability": [None] * n,
        "intent_ranking": [[] for _ in range(n)],
        "gap_reasons": [None] * n,
        "gap_features": [None] * n,
    }
    return pd.DataFrame(frame | columns)


def test_entropy_in_bits_of_counts() -> None:
    assert entropy_bits([1, 1]) == 1.0
    assert entropy_bits([2, 1, 1]) == 1.5  # 1/2 * 1 + 2 * (1/4 * 2)
    assert entropy_bits([3, 1]) == pytest.approx(H_QUARTER)
    assert entropy_bits([7]) == 0.0
    assert entropy_bits([]) == 0.0 and entropy_bits([0, 0]) == 0.0
    # Miller-Madow: + (cells - 1) / (2 N ln 2)
    assert miller_madow_bits([1, 1]) == pytest.approx(1 + 1 / (4 * LN2))
    assert miller_madow_bits([7]) == 0.0


def test_mutual_information_of_intent_and_outcome_by_hand() -> None:
    # A: 4 turns, 2 gaps; B: 4 turns, no gap. H(Y) = H(2/8) = H(1/4);
    # H(Y | X) = 1/2 * H(1/2) + 1/2 * H(0) = 0.5; I = H(1/4) - 0.5 = 0.3113 bits.
    x = ["A"] * 4 + ["B"] * 4
    y = [True, True, False, False] + [False] * 4
    assert mutual_information_bits(x, y) == pytest.approx(H_QUARTER - 0.5)
    # Miller-Madow: cells X 2, Y 2, XY 3: (1 + 1 - 2) / (2 * 8 ln 2) = 0, no change.
    assert miller_madow_mutual_information(x, y) == pytest.approx(H_QUARTER - 0.5)
    # Four intents of one turn each, two failing: the plug-in I = H(Y) = 1 bit; the
    # correction (3 + 1 - 3) / (2 * 4 ln 2) is one of a sample too small to trust.
    x, y = ["a", "b", "c", "d"], [True, True, False, False]
    assert mutual_information_bits(x, y) == pytest.approx(1.0)
    assert miller_madow_mutual_information(x, y) == pytest.approx(1 + 1 / (8 * LN2))
    # Independent: two intents, each failing half the time: 0 bits, corrected below 0 -> 0.
    x, y = ["a", "a", "b", "b"], [True, False, True, False]
    assert mutual_information_bits(x, y) == 0.0
    assert miller_madow_mutual_information(x, y) == 0.0


def test_equal_frequency_bins_keep_equal_values_together() -> None:
    assert equal_frequency_bins([1, 2, 3, 4, 5, 6], 3) == [0, 0, 1, 1, 2, 2]
    assert equal_frequency_bins([0.1, 0.1, 0.1, 0.1, 0.5], 2) == [0, 0, 0, 0, 1]
    assert equal_frequency_bins([0.7, 0.7, 0.7], 4) == [0, 0, 0]
    assert equal_frequency_bins([], 2) == []
    assert [bin_count(n) for n in (1, 19, 20, 30, 40, 1000)] == [2, 2, 2, 3, 4, 4]


def test_the_view_of_two_intents_one_failing_half_the_time() -> None:
    view = information(turns(["A"] * 4 + ["B"] * 4, [True, True, False, False] + [False] * 4))
    assert view["outcome"] == "gap_turn" and view["turns"] == 8
    intents = view["intents"]  # two intents, 4 turns each: 1 bit, the most 2 intents carry
    assert (intents["bits"], intents["max_bits"], intents["equivalent_intents"]) == (1, 1, 2)
    assert intents["sentence"] == (
        "The 8 messages spread over 2 intents with 1.00 bits of uncertainty, as much as "
        "2.0 equally used intents would carry (100% of the 1.00 bits 2 intents can): "
        "traffic is spread almost evenly."
    )
    outcome = view["outcome_entropy"]
    assert (outcome["gap_turns"], outcome["gap_rate"]) == (2, 0.25)
    assert outcome["bits"] == round(H_QUARTER, 4) == 0.8113
    assert outcome["sentence"].startswith("25% of the 8 turns were gap turns")
    # Per intent: A holds all that is left once the intent is known (1/2 * 1 bit).
    rows = view["by_intent"]["rows"]
    assert view["by_intent"]["conditional_bits"] == 0.5
    assert [(r["intent"], r["bits"], r["share_of_uncertainty_left"]) for r in rows] == [
        ("A", 1.0, 1.0),
        ("B", 0.0, 0.0),
    ]
    assert [r["reading"] for r in rows] == [
        "a gap turn 50% of the time (1.00 bits, as unpredictable as a coin toss)",
        "never a gap turn",
    ]
    assert (
        "lives mostly in A (100% of it); 1 of the 2 intents always or never failed"
        in (view["by_intent"]["sentence"])
    )
    both = view["intent_and_outcome"]
    explained = (H_QUARTER - 0.5) / H_QUARTER  # 0.3837
    assert both["bits"] == round(H_QUARTER - 0.5, 4) == 0.3113
    assert both["miller_madow_bits"] == 0.3113
    assert both["explained"] == round(explained, 4)
    assert (both["turns"], both["intents"], both["cells"]) == (8, 2, 3)
    assert both["sentence"] == (
        "Knowing the predicted intent removes 38% of the uncertainty about whether a turn "
        "fails (0.311 of 0.811 bits): failures concentrate in a few intents."
    )
    assert both["note"].startswith("8 turns over 3 intent-outcome cells")


def test_failures_spread_evenly_over_intents_are_worded_so() -> None:
    # A, B: 10 turns each, 3 gaps each: the intent tells nothing (0 bits).
    gaps = [True] * 3 + [False] * 7
    view = information(turns(["A"] * 10 + ["B"] * 10, gaps + gaps))
    both = view["intent_and_outcome"]
    assert (both["bits"], both["explained"]) == (0.0, 0.0)
    assert "removes 0% of the uncertainty" in both["sentence"]
    assert "the intent alone says little about which turns fail" in both["sentence"]


@pytest.mark.parametrize("failed", [True, False])
def test_one_intent_and_one_outcome_is_zero_bits_without_dividing_by_zero(failed: bool) -> None:
    view = information(turns(["card_arrival"] * 3, [failed] * 3))
    assert view["intents"]["bits"] == 0.0
    assert view["intents"]["sentence"] == (
        "All 3 messages went to one intent (card_arrival): the predicted intent carries no "
        "uncertainty (0 bits)."
    )
    assert view["outcome_entropy"]["bits"] == 0.0
    assert "carries no uncertainty (0 bits)" in view["outcome_entropy"]["sentence"]
    both = view["intent_and_outcome"]
    assert (both["bits"], both["miller_madow_bits"], both["explained"]) == (0.0, 0.0, None)
    assert "tells nothing" in both["sentence"]
    assert view["by_intent"]["rows"][0]["share_of_uncertainty_left"] is None
    assert "certain" in view["by_intent"]["sentence"]


def test_no_turns_at_all() -> None:
    view = information(turns([], []))
    assert view["turns"] == 0
    assert view["intents"]["equivalent_intents"] is None
    assert view["outcome_entropy"]["gap_rate"] is None
    assert view["by_intent"]["rows"] == []
    assert view["intent_and_outcome"]["explained"] is None
    assert view["signals"]["labelled_turns"] == 0 and view["signals"]["rows"] == []


def _labelled_sample() -> pd.DataFrame:
    """Eight labelled turns (four a gap) and one unlabelled; probabilities rise with the
    turn, the first three unlabelled by the ranking; the reason low_confidence is given
    on exactly the gaps."""
    verdicts = [False, False, False, True, True, True, True, False]
    ranking = [[["a", 0.9], ["b", 0.05]]] * 4 + [[["a", 0.4], ["b", 0.35]]] * 4
    ranking[:3] = [[], [], []]  # not stored: left out of the ranking's features
    reasons = [
        [{"code": "low_confidence", "text": "...", "weight": 1.0}] if v else [] for v in verdicts
    ]
    return turns(
        ["A"] * 9,
        [*verdicts, True],
        labelled_gap=[*verdicts, False],
        labelled_no_gap=[not v for v in verdicts] + [False],
        gap_probability=[0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95],
        intent_ranking=[*ranking, [["a", 0.5]]],
        gap_reasons=[*reasons, [{"code": "unknown_words", "text": "...", "weight": 2.0}]],
    )


def test_stored_signals_against_peoples_verdicts() -> None:
    view = information(_labelled_sample())["signals"]
    assert (view["labelled_turns"], view["gap_verdicts"]) == (8, 4)
    rows = {r["signal"]: r for r in view["rows"]}
    # The reason low_confidence is given on the four gaps only: it tells all 1 bit.
    reason = rows["reason 'low_confidence'"]
    assert (reason["turns"], reason["bits"], reason["explained"]) == (8, 1.0, 1.0)
    # Miller-Madow: cells 2, 2, 2: (1 + 1 - 1) / (2 * 8 ln 2) more.
    assert reason["miller_madow_bits"] == round(1 + 1 / (16 * LN2), 4)
    # The probability, cut at its median 0.5: low {F, F, F, T}, high {T, T, T, F}:
    # I = 1 - H(1/4) = 0.1887; Miller-Madow (1 + 1 - 3) / (2 * 8 ln 2) less.
    probability = rows["the gap probability"]
    assert (probability["turns"], probability["bins"]) == (8, 2)
    assert probability["bits"] == round(1 - H_QUARTER, 4) == 0.1887
    assert probability["miller_madow_bits"] == round(1 - H_QUARTER - 1 / (16 * LN2), 4)
    assert probability["sentence"] == (
        "The gap probability tells 19% of what is uncertain in a person's verdict "
        "(0.189 of 1.000 bits on 8 labelled turns)."
    )
    # The top confidence from the ranking, on the five turns that stored one: 0.9 on
    # turn 4 (a gap), 0.4 on turns 5-8 (three gaps, one not). Cut at the median (0.4):
    # {0.4: T, T, T, F}, {0.9: T}; Y = 4 gaps of 5.
    # I = H(1/5) - 4/5 H(1/4) = 0.7219 - 0.6490 = 0.0729.
    top = rows["the NLU top confidence"]
    h_fifth = -(0.2 * math.log2(0.2) + 0.8 * math.log2(0.8))
    assert top["turns"] == 5
    assert top["bits"] == round(h_fifth - 0.8 * H_QUARTER, 4)
    # The best first; the reason only the unlabelled turn had is not measured.
    assert view["rows"][0]["signal"] == "reason 'low_confidence'"
    assert "reason 'unknown_words'" not in rows
    assert view["sentence"] == (
        "Of the stored signals, reason 'low_confidence' tells the most about a person's "
        "verdict: 100% of its uncertainty on 8 labelled turns."
    )
    assert "gap_scores.features" in view["limitation"]


def test_each_stored_feature_of_the_gap_model_against_peoples_verdicts() -> None:
    # Verdicts F F F T T T T F (and one unlabelled turn). "oos" is 1 on the gaps and 0
    # on the others: it tells the whole 1 bit. "margin" was stored only on turns 5-8
    # (scored after features were kept), always 0.3: one value, nothing told.
    verdicts = [False, False, False, True, True, True, True, False]
    features = [{"oos": float(v)} for v in verdicts]
    for row in features[4:]:
        row["margin"] = 0.3
    sample = _labelled_sample().assign(gap_features=[*features, {"oos": 1.0}])
    rows = {r["signal"]: r for r in information(sample)["signals"]["rows"]}
    oos, margin = rows["feature 'oos'"], rows["feature 'margin'"]
    assert (oos["turns"], oos["bins"], oos["bits"], oos["explained"]) == (8, 2, 1.0, 1.0)
    assert oos["measured"] == "the gap model's input, binned"
    assert (margin["turns"], margin["bins"], margin["bits"]) == (4, 1, 0.0)


def test_a_signal_with_one_value_tells_nothing() -> None:
    sample = _labelled_sample().assign(gap_probability=0.5)
    row = next(
        r for r in information(sample)["signals"]["rows"] if r["signal"] == "the gap probability"
    )
    assert (row["bins"], row["bits"]) == (1, 0.0)
    assert row["sentence"] == "It had one value on all 8 labelled turns: it tells nothing here."


def test_the_report_has_the_view(sample: Engine) -> None:
    view = build_report(sample, SINCE, UNTIL)["information"]
    # conftest.py's 15 bot turns, gap turns as test_views.test_by_intent_worst_first
    # counts them: exchange_rate 2 of 4, card_arrival 2 of 5, freeze_card 1 of 3, and
    # loan, request_human, top_up 1 of 1 each; 8 of 15 in all.
    assert (view["turns"], view["outcome_entropy"]["gap_turns"]) == (15, 8)
    assert view["intents"]["intents"] == 6

    def h(p: float) -> float:
        return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))

    left = 4 / 15 * h(1 / 2) + 5 / 15 * h(2 / 5) + 3 / 15 * h(1 / 3)
    assert view["by_intent"]["conditional_bits"] == round(left, 4)
    assert view["intent_and_outcome"]["bits"] == round(h(8 / 15) - left, 4)
    assert view["signals"]["labelled_turns"] == 5  # t10, t4, t6, t7, t8 (newest label)
    assert view["signals"]["limitation"] == info.LIMITATION
