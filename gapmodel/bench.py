"""``gapdesk bench``: the bot's measured figures, written as report.json + report.md.

* **nlu**: intent accuracy of the current Rasa model on BANKING77's test set.
* **training**: wall-clock time of ``gapdesk train --force`` from scratch (NLU, dialogue,
  cross-validation and gap model), in a scratch folder.
* **latency**: REST-channel turn latency, sequential, of the real bot (every answer
  gap-scored, decided and recorded) against a baseline trained from the same data in
  which every answerable intent is answered by a plain Rasa response. Both run at the
  same time and are asked in alternation, so they share the machine's conditions.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from gapmodel import engine
from gapmodel.datasets import read_labelled
from gapmodel.knowledge import KnowledgeBase
from gapmodel.processes import build_services, running
from gapmodel.settings import Settings
from gapmodel.storage.migrate import upgrade
from gapmodel.training import current_models, read_predictions

logger = logging.getLogger(__name__)

TEST_SET = Path("data/datasets/banking77/test.csv")


def nlu_accuracy(project: engine.Project, rasa_model: str, work: Path) -> dict[str, Any]:
    rows = read_labelled(project.root / TEST_SET)
    messages = work / "b77_test.jsonl"
    messages.write_text(
        "".join(json.dumps({"text": r.text, "label": r.label}) + "\n" for r in rows), "utf-8"
    )
    out = work / "b77_test_predictions.jsonl"
    command = engine.nlu_predictions_command(
        "predict", project.config, [project.nlu], out, messages=messages, model=rasa_model
    )
    engine.wait(engine.run(command, "NLU predictions", work / "nlu-predictions.log"))
    predictions = read_predictions(out)
    correct = sum(not p.is_gap for p in predictions)
    accuracy = correct / len(predictions)
    return {"test_set": str(TEST_SET), "n": len(predictions), "accuracy": round(accuracy, 4)}


def training_time(work: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "GAPDESK_MODELS_DIR": str(work / "models"),
        "GAPDESK_VAR_DIR": str(work / "var"),
    }
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "gapmodel.cli", "train", "--force"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return {"from_scratch_seconds": round(time.monotonic() - started, 1)}


def _plain_bot(project: engine.Project, kb: KnowledgeBase, work: Path) -> Path:
    """Train the baseline: the same NLU and domain, every answer a plain response."""
    domain = work / "domain"
    domain.mkdir()
    for part in sorted(project.domain.glob("*.yml")):
        (domain / part.name).write_text(part.read_text("utf-8"), "utf-8")
    responses = {f"utter_answer_{i}": [{"text": a.text}] for i, a in kb.answers.items()}
    (domain / "plain_answers.yml").write_text(
        json.dumps({"version": "3.1", "responses": responses}), "utf-8"
    )
    rules = [
        {"rule": f"plain {i}", "steps": [{"intent": i}, {"action": f"utter_answer_{i}"}]}
        for i in kb.answers
    ]
    rules_dir = work / "rules"
    rules_dir.mkdir()
    (rules_dir / "plain.yml").write_text(json.dumps({"version": "3.1", "rules": rules}), "utf-8")
    plain = replace(project, domain=domain, rules=rules_dir)
    command = engine.train_bot_command(plain, work, "plain")
    engine.wait(engine.run(command, "baseline training", work / "baseline-training.log"))
    return work / "plain.tar.gz"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bot_settings(work: Path, name: str) -> Settings:
    folder = work / name
    return Settings(
        database_url=f"sqlite:///{folder / 'gapdesk.db'}",
        tracker_store_url=f"sqlite:///{folder / 'trackers.db'}",
        rasa_url=f"http://127.0.0.1:{_free_port()}",
        action_server_port=_free_port(),
        var_dir=str(folder / "var"),
    )


def turn_latency(
    project: engine.Project, settings: Settings, work: Path, turns: int
) -> dict[str, Any]:
    kb = KnowledgeBase.load(project.knowledge_base)
    plain_model = _plain_bot(project, kb, work)
    scored = _bot_settings(work, "scored")
    baseline = _bot_settings(work, "baseline")
    upgrade(scored.database_url)
    services = build_services(replace(scored, models_dir=settings.models_dir), work / "logs-scored")
    # The baseline needs no action server: only its Rasa server, on the plain model.
    _, baseline_rasa = build_services(baseline, work / "logs-baseline")
    baseline_rasa.command[baseline_rasa.command.index("--model") + 1] = str(plain_model)
    texts = [r.text for r in read_labelled(project.root / TEST_SET)][:: max(1, 3080 // turns)]
    texts = texts[:turns]
    timings: dict[str, list[float]] = {"scored": [], "baseline": []}
    with running([*services, baseline_rasa]), httpx.Client(timeout=30) as client:
        urls = {"scored": scored.rasa_url, "baseline": baseline.rasa_url}
        for url in urls.values():  # warm up both
            for _ in range(5):
                warm_up = {"sender": "warm-up", "message": "hi"}
                client.post(f"{url}/webhooks/rest/webhook", json=warm_up)
        for index, text in enumerate(texts):
            for name, url in urls.items():
                started = time.perf_counter()
                response = client.post(
                    f"{url}/webhooks/rest/webhook",
                    json={"sender": f"bench-{name}-{index}", "message": text},
                )
                response.raise_for_status()
                timings[name].append((time.perf_counter() - started) * 1000)
    percentiles = {
        name: {
            "p50_ms": round(float(np.percentile(values, 50)), 1),
            "p99_ms": round(float(np.percentile(values, 99)), 1),
        }
        for name, values in timings.items()
    }
    ratio = percentiles["scored"]["p50_ms"] / percentiles["baseline"]["p50_ms"]
    return {**percentiles, "turns": len(texts), "p50_overhead_ratio": round(ratio, 2)}


def run(settings: Settings, out: Path, turns: int, with_training: bool) -> dict[str, Any]:
    project = engine.Project()
    current = current_models(settings.models_path)
    if not current:
        raise SystemExit("no trained bot: run `gapdesk train` first")
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="gapdesk-bench-") as tmp:
        work = Path(tmp)
        report["nlu"] = nlu_accuracy(project, current["rasa_model"], work)
        report["latency"] = turn_latency(project, settings, work, turns)
        if with_training:
            report["training"] = training_time(work / "training")
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (out / "report.md").write_text(markdown(report), "utf-8")
    return report


def markdown(report: dict[str, Any]) -> str:
    nlu, latency = report["nlu"], report["latency"]
    lines = [
        "| figure | gapdesk | baseline | target |",
        "|---|---|---|---|",
        f"| NLU accuracy, BANKING77 test (n={nlu['n']}) | {nlu['accuracy']:.3f} | | ≥ 0.90 |",
        f"| turn p50, REST, sequential (n={latency['turns']}) | "
        f"{latency['scored']['p50_ms']} ms | {latency['baseline']['p50_ms']} ms "
        f"(plain response) | ≤ 1.25× baseline |",
        f"| turn p99 | {latency['scored']['p99_ms']} ms | {latency['baseline']['p99_ms']} ms "
        "| ≤ 150 ms |",
        f"| p50 overhead | {latency['p50_overhead_ratio']}× | 1× | ≤ 1.25× |",
    ]
    if "training" in report:
        seconds = report["training"]["from_scratch_seconds"]
        lines.append(f"| training from scratch | {seconds:.0f} s | | ≤ 600 s |")
    return "\n".join(lines) + "\n"
