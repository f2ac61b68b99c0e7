from __future__ import annotations

import numpy as np
import pytest

from gapdesk.bench.bot_figures import FirstTurn, at_one_threshold, markdown, not_answered_by_group
from gapmodel.costs import ANSWER, CLARIFY, ESCALATE


def test_the_breakdown_lists_the_most_answered_group_first() -> None:
    turns = [
        FirstTurn(ANSWER, 0.1),
        FirstTurn(ESCALATE, 0.9),
        FirstTurn(CLARIFY, 0.5),
        FirstTurn(ANSWER, 0.2),
        FirstTurn(ESCALATE, 1.0),
    ]
    groups = ["track_order", "complaint", "get_refund", "get_refund", "track_order"]
    assert list(not_answered_by_group(turns, groups).items()) == [
        ("get_refund", 0.5),
        ("track_order", 0.5),
        ("complaint", 1.0),
    ]


def test_one_threshold_hands_over_the_other_set_at_the_reference_rate() -> None:
    reference = np.arange(100) / 100  # 10 % of it at 0.891 or above
    assert at_one_threshold(reference, [0.95, 0.9, 0.5], 0.10) == (
        0.1,
        pytest.approx(2 / 3, abs=1e-4),
    )
    assert at_one_threshold(reference, [0.95, 0.9, 0.5], 0.50) == (0.5, 1.0)
    assert at_one_threshold(reference, [0.2, 0.3], 0.10) == (0.1, 0.0)


def test_one_threshold_says_when_ties_hand_over_more_of_the_reference() -> None:
    reference = [0.1] * 80 + [1.0] * 20  # a rule's hand-overs count as 1.0
    assert at_one_threshold(reference, [1.0, 0.5], 0.10) == (0.2, 0.5)


def test_the_report_names_the_shop_intents_answered_most() -> None:
    timing = {"p50_ms": 10.0, "p99_ms": 20.0}
    report = {
        "nlu": {"n": 3080, "accuracy": 0.911},
        "latency": {
            "turns": 200,
            "scored": timing,
            "unscored": timing,
            "rasa_responses": timing,
            "p50_overhead_ratio": 1.0,
        },
        "cross_domain": {
            "bitext_n": 4514,
            "banking77_test_n": 3080,
            "bitext_not_answered": 0.881,
            "banking77_test_not_answered": 0.112,
            "bitext_not_answered_at_banking77_10pct": 0.832,
            "banking77_test_at_that_threshold": 0.1,
            "separation_auroc": 0.936,
            "bitext_not_answered_by_intent": {"cancel_order": 0.432, "complaint": 1.0},
        },
    }
    text = markdown(report)
    assert "(10.0% at it) | 83.2% |" in text
    assert "(share not answered): cancel_order 43%, complaint 100%." in text
