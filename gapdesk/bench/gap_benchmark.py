"""``gapdesk benchmark``: the gap model against NLU confidence, on any bot's data.

TRAIN and TEST are labelled messages (CSV files or ``seq.in``/``label`` folders; see
:mod:`gapdesk.datasets`). Rows labelled with the out-of-scope label are never an
intent: in TRAIN they are out-of-scope examples, in TEST they are gaps. Everything
the gap model learns comes from TRAIN (plus the generic out-of-scope corpus the
project ships); TEST labels are only used to score.

Both scores come from the same run and the same NLU model: the gap model's
probability, and the confidence baseline ``1 - top NLU confidence``; a stock Rasa
FallbackClassifier(0.3, ambiguity 0.1) decision is reported beside them.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from gapdesk.bench.report import percentiles_ms, write_report
from gapdesk.datasets import LabelledText, group_by_label, read_labelled, read_lines
from gapdesk.engine import rasa
from gapdesk.training import UNKNOWN_INTENT_SHARE, read_predictions, write_messages
from gapmodel.coverage import DEFAULT_SPACY_MODEL, forget_training_readings
from gapmodel.embeddings import shared_encoder
from gapmodel.fitting import OOS_LABEL, Prediction, as_input, fit_gap_model
from gapmodel.metrics import rasa_fallback, score_quality, versus_baseline
from gapmodel.model import GapModel

logger = logging.getLogger(__name__)

GENERIC_OUT_OF_SCOPE = Path("data/out_of_scope/generic.txt")
# Messages timed for the latency figures. A p99 of 500 timings rests on their 5 slowest
# and moved between 10 and 25 ms from run to run on the same model; of 3,000 it held
# within 9-12 ms. Timing them all costs about 20 s.
LATENCY_SAMPLE = 3000


def read_all(paths: Sequence[Path], oos_label: str) -> list[LabelledText]:
    rows = [row for path in paths for row in read_labelled(path)]
    # One name for out of scope inside gapdesk, whatever the data set calls it.
    return [LabelledText(r.text, OOS_LABEL if r.label == oos_label else r.label) for r in rows]


def split_train(
    train: Sequence[LabelledText], generic_out_of_scope: Path | None
) -> tuple[list[LabelledText], list[str]]:
    """TRAIN's intent examples, and its out-of-scope texts with the generic corpus's."""
    out_of_scope = [r.text for r in train if r.label == OOS_LABEL]
    if generic_out_of_scope is not None and generic_out_of_scope.is_file():
        out_of_scope += read_lines(generic_out_of_scope)
    return [r for r in train if r.label != OOS_LABEL], out_of_scope


def nlu_predictions(
    config: Path,
    train: list[LabelledText],
    test: list[LabelledText],
    out_of_scope: list[str],
    work: Path,
    folds: int,
) -> tuple[list[Prediction], list[Prediction]]:
    """Cross-validated predictions on TRAIN and a full-TRAIN model's on TEST, in parallel."""
    from gapdesk.datasets import write_rasa_nlu

    nlu_file = work / "nlu" / "train.yml"
    write_rasa_nlu(group_by_label(r for r in train if r.label != OOS_LABEL), nlu_file, "benchmark")
    extra = write_messages(
        work / "train_out_of_scope.jsonl", [LabelledText(t, OOS_LABEL) for t in out_of_scope]
    )
    test_messages = write_messages(work / "test.jsonl", test)
    cv_out, test_out = work / "crossval.jsonl", work / "test_predictions.jsonl"
    jobs = [
        rasa.run(
            rasa.nlu_predictions_command(
                "crossval",
                config,
                [nlu_file],
                cv_out,
                folds=folds,
                extra=extra,
                unknown_share=UNKNOWN_INTENT_SHARE,
            ),  # fmt: skip
            "NLU cross-validation on TRAIN",
            work / "crossval.log",
        ),
        rasa.run(
            rasa.nlu_predictions_command(
                "predict", config, [nlu_file], test_out, messages=test_messages
            ),
            "NLU training on TRAIN, predictions on TEST",
            work / "predict.log",
        ),
    ]
    rasa.wait_all(jobs)
    return read_predictions(cv_out), read_predictions(test_out)


def _latency(model: GapModel, inputs: list[Any]) -> dict[str, float]:
    """Per-turn scoring time on one thread, as the action server scores (see supervisor)."""
    timings = []
    # As a freshly started server: a test message equal to a training text is read anew.
    forget_training_readings()
    encoder = shared_encoder() if model.featurizer.semantic else None
    if encoder is not None:
        encoder.forget()
    with threadpool_limits(1):
        for item in inputs[:LATENCY_SAMPLE]:
            started = time.perf_counter()
            model.score(item)
            timings.append((time.perf_counter() - started) * 1000)
    spread = percentiles_ms(timings, digits=2)
    return {"p50": spread["p50_ms"], "p99": spread["p99_ms"]}


def run(
    train_paths: Sequence[Path],
    test_paths: Sequence[Path],
    oos_label: str = "oos",
    out: Path | None = None,
    config: Path = Path("config.yml"),
    folds: int = 3,
    generic_out_of_scope: Path | None = GENERIC_OUT_OF_SCOPE,
    semantic: bool = False,
    spacy_model: str = DEFAULT_SPACY_MODEL,
) -> dict[str, Any]:
    """Train on TRAIN, score TEST, return (and write to ``out``) the report."""
    train = read_all(train_paths, oos_label)
    test = read_all(test_paths, oos_label)
    in_scope, out_of_scope = split_train(train, generic_out_of_scope)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gapdesk-benchmark-") as tmp:
        cv, test_predictions = nlu_predictions(config, train, test, out_of_scope, Path(tmp), folds)
    model = fit_gap_model(
        cv,
        [r.text for r in in_scope],
        [r.label for r in in_scope],
        {"version": "benchmark", "semantic_features": semantic},
        semantic,
        spacy_model,
    )
    inputs = [as_input(p) for p in test_predictions]
    gap_probability = model.predict_proba(inputs)
    confidence_gap = np.array(
        [1 - (p.ranking[0][1] if p.ranking else 0.0) for p in test_predictions]
    )
    y = np.array([int(p.is_gap) for p in test_predictions])
    fallback = rasa_fallback(y, [p.ranking for p in test_predictions])
    rate = fallback["escalation_rate"]
    gap_quality = score_quality(y, gap_probability, rate)
    baseline_quality = score_quality(y, confidence_gap, rate)
    tested_in_scope = [p for p in test_predictions if p.label != OOS_LABEL]
    report: dict[str, Any] = {
        "n": len(test_predictions),
        "in_scope_accuracy": round(float(np.mean([not p.is_gap for p in tested_in_scope])), 4)
        if tested_in_scope
        else None,
        "gap_rate": round(float(y.mean()), 4),
        "gap_model": gap_quality,
        "confidence_baseline": baseline_quality,
        "rasa_fallback": fallback,
        "versus_baseline": versus_baseline(y, gap_quality, baseline_quality, fallback),
        "latency_ms": _latency(model, inputs),
        "train": {
            "paths": [str(p) for p in train_paths],
            "in_scope_examples": len(in_scope),
            "out_of_scope_examples": len(out_of_scope),
            "gap_model_cv_auroc": model.metadata["cv_auroc"],
            "semantic_features": semantic,
        },
        "test": {"paths": [str(p) for p in test_paths]},
        "seconds": round(time.monotonic() - started, 1),
    }
    if out is not None:
        from gapdesk.bench.plots import write_plots

        write_report(out, report, markdown(report))
        write_plots(out, y, {"gap model": gap_probability, "1 - NLU confidence": confidence_gap})
    return report


def markdown(report: dict[str, Any]) -> str:
    gap, base, fallback, versus = (
        report["gap_model"],
        report["confidence_baseline"],
        report["rasa_fallback"],
        report["versus_baseline"],
    )
    rate = fallback["escalation_rate"]
    rows = [
        ("AUROC for gap", "auroc"),
        ("average precision", "average_precision"),
        ("expected calibration error", "ece"),
        (f"gap recall at the fallback's escalation rate ({rate:.1%})", "recall_at_fallback_rate"),
        ("gap precision at that rate", "precision_at_fallback_rate"),
        ("gap recall when escalating 10 %", "recall_at_10pct"),
        ("gap recall when escalating 20 %", "recall_at_20pct"),
    ]
    lines = [
        f"n = {report['n']}, in-scope accuracy {report['in_scope_accuracy']}, "
        f"gap rate {report['gap_rate']}",
        "",
        "| | gap model | 1 - NLU confidence |",
        "|---|---|---|",
        *(f"| {label} | {gap[key]} | {base[key]} |" for label, key in rows),
        "",
        f"Rasa FallbackClassifier(0.3, 0.1): escalates {fallback['escalation_rate']:.1%}, "
        f"gap recall {fallback['gap_recall']}, gap precision {fallback['gap_precision']}.",
        *_versus_lines(versus),
        f"Gap model scoring latency per turn: p50 {report['latency_ms']['p50']} ms, "
        f"p99 {report['latency_ms']['p99']} ms.",
    ]
    return "\n".join(lines) + "\n"


def _versus_lines(versus: dict[str, Any]) -> list[str]:
    cut, ratio = versus["wrongly_ordered_pairs_cut"], versus["recall_ratio_at_fallback_rate"]
    gain = f"Against 1 - NLU confidence: AUROC {versus['auroc_gain']:+.3f}"
    if cut is not None:
        fewer = "fewer" if cut >= 0 else "more"
        gain += f", {abs(cut):.0%} {fewer} wrongly ordered (gap, no gap) pairs than it"
    lines = [gain + "."]
    if ratio is not None:
        lines.append(
            f"At the fallback's rate the gap model catches {ratio}× the fallback's gaps; "
            f"no detector could catch more than {versus['best_possible_recall_ratio']}× "
            f"(recall {versus['best_possible_recall_at_fallback_rate']})."
        )
    return lines
