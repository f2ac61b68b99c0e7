from __future__ import annotations

import numpy as np
import pytest

from gapmodel.metrics import (
    at_rate,
    expected_calibration_error,
    rasa_fallback,
    score_quality,
    versus_baseline,
)


def test_perfectly_calibrated_scores_have_no_calibration_error() -> None:
    rng = np.random.default_rng(1)
    probability = rng.uniform(size=20_000)
    y = (rng.uniform(size=20_000) < probability).astype(int)
    assert expected_calibration_error(y, probability) < 0.02


def test_overconfident_scores_have_a_large_calibration_error() -> None:
    y = np.array([0, 1] * 500)
    assert expected_calibration_error(y, np.full(1000, 0.95)) == pytest.approx(0.45)


def test_at_rate_flags_the_top_scores() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    score = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2])
    recall, precision = at_rate(y, score, 0.3)  # flags the top 3: 1, 0, 1
    assert recall == pytest.approx(2 / 3)
    assert precision == pytest.approx(2 / 3)


def test_rasa_fallback_escalates_low_confidence_and_ties() -> None:
    rankings = [
        [("a", 0.25), ("b", 0.2)],  # low confidence
        [("a", 0.50), ("b", 0.45)],  # ambiguous
        [("a", 0.90), ("b", 0.05)],  # confident
        [("a", 0.95), ("b", 0.01)],  # confident
    ]
    y = np.array([1, 0, 1, 0])
    result = rasa_fallback(y, rankings)
    assert result == {"escalation_rate": 0.5, "gap_recall": 0.5, "gap_precision": 0.5}


def test_score_quality_has_the_report_keys_and_ranks() -> None:
    y = np.array([0, 0, 1, 1])
    quality = score_quality(y, np.array([0.1, 0.2, 0.8, 0.9]), fallback_rate=0.5)
    assert quality["auroc"] == 1.0
    assert quality["recall_at_fallback_rate"] == 1.0
    assert set(quality) == {
        "auroc", "average_precision", "ece", "recall_at_fallback_rate",
        "precision_at_fallback_rate", "recall_at_10pct", "recall_at_20pct",
    }  # fmt: skip


def test_versus_baseline_measures_the_gain_against_the_room_left_and_the_ceiling() -> None:
    y = np.array([1] * 40 + [0] * 60)
    gap_model = {"auroc": 0.95, "recall_at_fallback_rate": 0.25}
    baseline = {"auroc": 0.90, "recall_at_fallback_rate": 0.2}
    fallback = {"escalation_rate": 0.12, "gap_recall": 0.2}
    versus = versus_baseline(y, gap_model, baseline, fallback)
    assert versus["auroc_gain"] == pytest.approx(0.05)
    assert versus["wrongly_ordered_pairs_cut"] == pytest.approx(0.5)  # 10 % wrong -> 5 %
    assert versus["recall_ratio_at_fallback_rate"] == pytest.approx(1.25)
    # 12 escalations catch at most 12 of the 40 gaps.
    assert versus["best_possible_recall_at_fallback_rate"] == pytest.approx(0.3)
    assert versus["best_possible_recall_ratio"] == pytest.approx(1.5)


def test_versus_a_perfect_baseline_or_a_fallback_that_catches_nothing() -> None:
    y = np.array([1, 0, 0, 0])
    perfect = {"auroc": 1.0, "recall_at_fallback_rate": 1.0}
    versus = versus_baseline(y, perfect, perfect, {"escalation_rate": 0.0, "gap_recall": 0.0})
    assert versus["wrongly_ordered_pairs_cut"] is None
    assert versus["recall_ratio_at_fallback_rate"] is None
    # Like the recall at a rate, the ceiling counts at least one escalated message.
    assert versus["best_possible_recall_at_fallback_rate"] == 1.0
