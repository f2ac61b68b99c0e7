"""`gapdesk benchmark` on a small slice of real data: the report keeps its shape."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

INTENTS = ["card_arrival", "exchange_rate", "top_up_failed", "lost_or_stolen_card", "pin_blocked"]
SCORE_KEYS = {
    "auroc", "average_precision", "ece", "recall_at_fallback_rate",
    "precision_at_fallback_rate", "recall_at_10pct", "recall_at_20pct",
}  # fmt: skip


def _slice(source: Path, target: Path, per_intent: int, oos: list[str]) -> None:
    """A few intents of BANKING77, plus out-of-scope rows labelled 'none'."""
    taken: dict[str, int] = {}
    with source.open(newline="", encoding="utf-8") as f, target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["sentence", "label"])
        for row in csv.DictReader(f):
            if row["category"] in INTENTS and taken.get(row["category"], 0) < per_intent:
                taken[row["category"]] = taken.get(row["category"], 0) + 1
                writer.writerow([row["text"], row["category"]])
        for text in oos:
            writer.writerow([text, "none"])


def test_benchmark_reports_both_scores_in_the_agreed_shape(tmp_path: Path) -> None:
    data = ROOT / "data" / "datasets" / "banking77"
    oos_train = ["what's the weather like", "tell me a joke", "who wrote hamlet"] * 4
    oos_test = ["recommend a film", "how tall is everest", "best pizza in town"]
    _slice(
        data / "train.csv",
        tmp_path / "train.csv",
        40,
        [f"{t} {i}" for i, t in enumerate(oos_train)],
    )
    _slice(data / "test.csv", tmp_path / "test.csv", 10, oos_test)
    result = subprocess.run(
        [
            sys.executable, "-m", "gapdesk", "benchmark",
            "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
            "--oos-label", "none", "--out", str(tmp_path / "report"),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["n"] == 10 * len(INTENTS) + len(oos_test)
    assert 0 < report["in_scope_accuracy"] <= 1
    assert set(report["gap_model"]) >= SCORE_KEYS
    assert set(report["confidence_baseline"]) >= SCORE_KEYS
    assert set(report["rasa_fallback"]) == {"escalation_rate", "gap_recall", "gap_precision"}
    assert report["versus_baseline"]["auroc_gain"] == pytest.approx(
        report["gap_model"]["auroc"] - report["confidence_baseline"]["auroc"], abs=1e-3
    )
    assert report["latency_ms"]["p99"] >= report["latency_ms"]["p50"] > 0
    for name in ("report.json", "report.md", "gap_detection.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0


F_KEYS = {
    "auroc", "ece", "missed_gaps", "needless_handovers", "escalation_precision",
    "containment", "handover_rate", "cost_per_turn", "n",
}  # fmt: skip


def test_the_loop_benchmark_reports_before_and_after_in_the_agreed_shape(tmp_path: Path) -> None:
    data = ROOT / "data" / "datasets" / "banking77"
    _slice(data / "train.csv", tmp_path / "train.csv", 30, [])
    oos = ["recommend a film", "how tall is everest", "best pizza in town", "who won the cup",
           "is it going to rain", "tell me a joke", "what is the capital of peru"]  # fmt: skip
    _slice(
        data / "test.csv", tmp_path / "traffic.csv", 12, [f"{t} {i}" for i in range(3) for t in oos]
    )
    result = subprocess.run(
        [
            sys.executable, "-m", "gapdesk", "benchmark", "loop",
            "--train", str(tmp_path / "train.csv"), "--traffic", str(tmp_path / "traffic.csv"),
            "--oos-label", "none", "--shuffle", "1", "--budget", "12", "--budgets", "0,12",
            "--out", str(tmp_path / "report"),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["budget"] == 12 and set(report["budgets"]) == {"0", "12"}
    second_half = (12 * len(INTENTS) + 3 * len(oos)) - (12 * len(INTENTS) + 3 * len(oos)) // 2
    for figures in (report["before"], report["after"], report["after_at_before_handover_rate"],
                    *report["budgets"].values()):  # fmt: skip
        assert set(figures) >= F_KEYS and figures["n"] == second_half
    assert report["budgets"]["0"] == report["before"]  # no labels: nothing learned
    assert report["budgets"]["12"] == report["after"]
    same_rate = report["after_at_before_handover_rate"]
    assert same_rate["handover_rate"] == report["before"]["handover_rate"]
    assert report["runs"]["12"]["labels"] == 12
    ranked = report["ranked_at_before_counts"]  # both versions at before's two counts
    for key in ("handover_rate", "clarification_rate"):
        assert ranked["before"][key] == ranked["after"][key] == report["before"][key]
    controls = report["controls"]  # as many labels drawn at random; out-of-scope ones
    assert set(controls) == {"random_turns", "random_out_of_scope_turns"}
    kinds = controls["random_turns"]["labelled"]
    assert controls["random_turns"]["labels"] == 12
    assert kinds["out_of_scope"] + kinds["wrong_intent"] + kinds["no_gap"] == 12
    queue_oos = report["runs"]["12"]["labelled"]["out_of_scope"]
    assert controls["random_out_of_scope_turns"]["labelled"]["out_of_scope"] == queue_oos
    for arm in controls.values():
        assert set(arm["after"]) >= F_KEYS and arm["after"]["n"] == second_half
    assert "budget 12" in result.stderr  # the steps are shown on stderr, the JSON on stdout
    for name in ("report.json", "report.md", "learning_curve.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
