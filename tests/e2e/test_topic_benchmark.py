"""`gapdesk benchmark topics` on a slice of id-oos: the report keeps its shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

# From the valid split: the test split is the benchmark's own.
ID_OOS = ROOT / "data" / "datasets" / "banking77_oos" / "id-oos" / "valid"
INTENTS = {"exchange_rate", "age_limit", "pin_blocked", "terminate_account", "card_swallowed"}
KEYS = {"n", "topics", "ari", "purity_top10", "share_top10", "unclustered_share"}


def _slice(target: Path) -> int:
    """The messages of a few hidden intents as a seq.in/label/label_original folder."""
    texts = (ID_OOS / "seq.in").read_text(encoding="utf-8").splitlines()
    intents = (ID_OOS / "label_original").read_text(encoding="utf-8").splitlines()
    kept = [(t, i) for t, i in zip(texts, intents, strict=True) if i in INTENTS and t.strip()]
    target.mkdir()
    (target / "seq.in").write_text("".join(f"{t}\n" for t, _ in kept), encoding="utf-8")
    (target / "label").write_text("oos\n" * len(kept), encoding="utf-8")
    (target / "label_original").write_text("".join(f"{i}\n" for _, i in kept), encoding="utf-8")
    return len(kept)


def test_the_topic_benchmark_reports_agreement_in_the_agreed_shape(tmp_path: Path) -> None:
    n = _slice(tmp_path / "messages")
    result = subprocess.run(
        [
            sys.executable, "-m", "gapdesk", "benchmark", "topics",
            "--messages", str(tmp_path / "messages"), "--label-file", "label_original",
            "--out", str(tmp_path / "report"),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    [line] = result.stdout.strip().splitlines()  # one JSON object on stdout
    report = json.loads(line)
    assert set(report) >= KEYS and report["n"] == n and report["true_topics"] == len(INTENTS)
    assert report["vectors"] == "MiniLM" and report["ari_counts_unclustered_as_singletons"]
    assert report["topics"] == len(report["by_topic"]) >= 2
    assert 0 < report["purity_top10"] <= 1 and 0 < report["share_top10"] <= 1
    assert -1 <= report["ari"] <= 1 and report["unclustered_share"] < 1
    assert (
        set(report["kmeans_lsa"]) >= KEYS - {"n"} and report["kmeans_lsa"]["k"] == report["topics"]
    )
    for topic in report["by_topic"]:
        assert topic["name"] and topic["true_topic"] in INTENTS and 1 <= len(topic["examples"]) <= 5
    assert "embedding" in result.stderr  # the steps go to stderr, the JSON to stdout
    for name in ("report.json", "report.md", "topics.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
