"""The benchmark's Markdown report, from a hand-written report.json."""

from __future__ import annotations

from typing import Any

from gapdesk.bench.gap_benchmark import markdown

QUALITY = {
    "auroc": 0.9,
    "average_precision": 0.9,
    "ece": 0.05,
    "recall_at_fallback_rate": 0.25,
    "precision_at_fallback_rate": 0.95,
    "recall_at_10pct": 0.2,
    "recall_at_20pct": 0.4,
}


def _report(versus: dict[str, Any]) -> dict[str, Any]:
    return {
        "n": 100,
        "in_scope_accuracy": 0.9,
        "gap_rate": 0.4,
        "gap_model": QUALITY,
        "confidence_baseline": QUALITY,
        "rasa_fallback": {"escalation_rate": 0.12, "gap_recall": 0.24, "gap_precision": 0.8},
        "versus_baseline": versus,
        "latency_ms": {"p50": 4.2, "p99": 6.9},
    }


def test_the_report_compares_with_the_baseline_and_the_ceiling() -> None:
    text = markdown(
        _report(
            {
                "auroc_gain": 0.084,
                "wrongly_ordered_pairs_cut": 0.571,
                "recall_ratio_at_fallback_rate": 1.106,
                "best_possible_recall_at_fallback_rate": 0.2672,
                "best_possible_recall_ratio": 1.115,
            }
        )
    )
    assert "AUROC +0.084, 57% fewer wrongly ordered (gap, no gap) pairs than it." in text
    assert "catches 1.106× the fallback's gaps; no detector could catch more than 1.115×" in text


def test_the_report_says_more_when_the_gap_model_orders_worse() -> None:
    text = markdown(
        _report(
            {
                "auroc_gain": -0.02,
                "wrongly_ordered_pairs_cut": -0.2,
                "recall_ratio_at_fallback_rate": None,
                "best_possible_recall_at_fallback_rate": 1.0,
                "best_possible_recall_ratio": None,
            }
        )
    )
    assert "AUROC -0.020, 20% more wrongly ordered (gap, no gap) pairs than it." in text
    assert "no detector could catch" not in text  # the fallback caught nothing to compare


def test_a_perfect_baseline_leaves_nothing_to_cut() -> None:
    versus = {
        "auroc_gain": 0.0,
        "wrongly_ordered_pairs_cut": None,
        "recall_ratio_at_fallback_rate": 1.0,
        "best_possible_recall_at_fallback_rate": 0.3,
        "best_possible_recall_ratio": 1.0,
    }
    assert "Against 1 - NLU confidence: AUROC +0.000.\n" in markdown(_report(versus))
