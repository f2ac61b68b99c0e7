"""How well a gap score finds the answers that miss: ranking, calibration, decisions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

# Rasa's FallbackClassifier defaults: escalate below 0.3 confidence, or when the top
# two intents are within 0.1 of each other.
FALLBACK_THRESHOLD = 0.3
AMBIGUITY_THRESHOLD = 0.1


def calibration_bins(
    y: np.ndarray, probability: np.ndarray, bins: int = 10
) -> list[tuple[float, float, float]]:
    """(share of messages, mean predicted probability, observed gap rate) of each
    non-empty equal-width probability bin, lowest first."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    found = []
    for b in range(bins):
        members = which == b
        if members.any():
            found.append(
                (
                    float(members.mean()),
                    float(probability[members].mean()),
                    float(y[members].mean()),
                )
            )
    return found


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """Mean |observed gap rate - predicted probability| over equal-width bins, by weight."""
    error = 0.0
    for weight, predicted, observed in calibration_bins(y, probability, bins):
        error += weight * abs(observed - predicted)
    return float(error)


def at_rate(y: np.ndarray, score: np.ndarray, rate: float) -> tuple[float, float]:
    """Recall and precision of flagging the ``rate`` share of messages with the top scores."""
    flagged = _flagged(rate, len(score))
    order = np.argsort(-score, kind="stable")[:flagged]
    caught = y[order].sum()
    return float(caught / max(1, y.sum())), float(caught / flagged)


def _flagged(rate: float, n: int) -> int:
    """How many of ``n`` messages escalating ``rate`` of them flags (at least one)."""
    return max(1, int(round(rate * n)))


def score_quality(y: np.ndarray, score: np.ndarray, fallback_rate: float) -> dict[str, float]:
    """The report's block for one score (the gap model, or 1 - NLU confidence)."""
    recall_fb, precision_fb = at_rate(y, score, fallback_rate)
    return {
        "auroc": round(float(roc_auc_score(y, score)), 4),
        "average_precision": round(float(average_precision_score(y, score)), 4),
        "ece": round(expected_calibration_error(y, score), 4),
        "recall_at_fallback_rate": round(recall_fb, 4),
        "precision_at_fallback_rate": round(precision_fb, 4),
        "recall_at_10pct": round(at_rate(y, score, 0.10)[0], 4),
        "recall_at_20pct": round(at_rate(y, score, 0.20)[0], 4),
    }


def versus_baseline(
    y: np.ndarray, gap_model: dict[str, float], baseline: dict[str, float],
    fallback: dict[str, Any],
) -> dict[str, float | None]:  # fmt: skip
    """The gap model against the baseline, and the most any detector could catch.

    1 - AUROC is the share of (gap, no gap) pairs a score puts in the wrong order:
    ``wrongly_ordered_pairs_cut`` is how much fewer of them the gap model has, relative
    to the baseline's (negative: more), comparable between bots whose baselines differ
    (a baseline at 0.96 leaves no room for a gain of 0.05). Escalating as many messages
    as the fallback (:func:`rasa_fallback`) catches at most that many gaps: the ceiling
    of the recall ratio.
    """
    room = 1 - baseline["auroc"]
    flagged = _flagged(fallback["escalation_rate"], len(y))
    ceiling = min(1.0, flagged / max(1, int(y.sum())))

    def ratio(recall: float) -> float | None:
        caught = fallback["gap_recall"]
        return round(recall / caught, 3) if caught else None

    return {
        "auroc_gain": round(gap_model["auroc"] - baseline["auroc"], 4),
        "wrongly_ordered_pairs_cut": round((gap_model["auroc"] - baseline["auroc"]) / room, 3)
        if room > 0
        else None,
        "recall_ratio_at_fallback_rate": ratio(gap_model["recall_at_fallback_rate"]),
        "best_possible_recall_at_fallback_rate": round(ceiling, 4),
        "best_possible_recall_ratio": ratio(ceiling),
    }


def rasa_fallback(y: np.ndarray, rankings: Sequence[Sequence[tuple[str, float]]]) -> dict[str, Any]:
    """What a stock FallbackClassifier(0.3, ambiguity 0.1) would escalate, and how well."""
    escalate = np.array([_falls_back(r) for r in rankings])
    caught = (escalate & (y == 1)).sum()
    return {
        "escalation_rate": round(float(escalate.mean()), 4),
        "gap_recall": round(float(caught / max(1, y.sum())), 4),
        "gap_precision": round(float(caught / max(1, escalate.sum())), 4),
    }


def _falls_back(ranking: Sequence[tuple[str, float]]) -> bool:
    if not ranking:
        return True
    top = ranking[0][1]
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    return top < FALLBACK_THRESHOLD or top - second < AMBIGUITY_THRESHOLD
