"""``gapdesk figures``: the running bot's measured figures, written as report.json + report.md.

* **nlu**: intent accuracy of the current Rasa model on BANKING77's test set.
* **cross-domain**: the share of first messages the bot clarifies or escalates instead of
  answering: Bitext's online-shop customer requests, and BANKING77's test set; how far
  apart the two are by gap probability, whatever the costs; and which of the shop's
  intents the bank bot answers most (many are requests a bank also gets).
* **training**: wall-clock time of ``gapdesk train --force`` from scratch (NLU, dialogue,
  cross-validation and gap model), in a scratch folder.
* **latency**: REST-channel turn latency, sequential, of the real bot (every answer
  gap-scored, decided and recorded) against the same bot with gap scoring off (the
  answer action replies with the plain knowledge-base answer), and, for scale, Rasa
  alone answering with plain responses (no action server). All three run at the same
  time and are asked in alternation, so they share the machine's conditions.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sklearn.metrics import roc_auc_score

from gapdesk.bench.report import percentiles_ms, write_report
from gapdesk.bench.stacks import bot_settings, plain_rasa_services, train_plain_bot
from gapdesk.datasets import LabelledText, read_labelled
from gapdesk.engine import rasa
from gapdesk.engine.client import RasaClient
from gapdesk.engine.project import Project
from gapdesk.errors import EngineError
from gapdesk.models_dir import current_models
from gapdesk.policy import decide_turn
from gapdesk.settings import Settings
from gapdesk.storage.migrate import upgrade
from gapdesk.supervisor import build_services, free_ports, running
from gapdesk.training import read_predictions, write_messages
from gapmodel.decision import ANSWER, ESCALATE
from gapmodel.fitting import Prediction
from gapmodel.knowledge import KnowledgeBase
from gapmodel.model import GapModel
from gapmodel.types import GapInput

logger = logging.getLogger(__name__)

TEST_SET = Path("data/datasets/banking77/test.csv")
BITEXT = Path("data/datasets/bitext_customer_support/bitext_customer_support_4514.csv")


def _bitext() -> tuple[list[LabelledText], list[str]]:
    """Another business's customer requests (an online shop), out of scope for the bank,
    and the shop's own intent of each."""
    rows = read_labelled(BITEXT)
    return [LabelledText(r.text, "oos") for r in rows], [r.label for r in rows]


def _predict(
    project: Project, rasa_model: str, rows: list[LabelledText], work: Path, name: str
) -> list[Prediction]:
    """The bot's NLU ranking of each message (in-process in the Rasa environment)."""
    messages = write_messages(work / f"{name}.jsonl", rows)
    out = work / f"{name}_predictions.jsonl"
    command = rasa.nlu_predictions_command(
        "predict", project.config, [project.nlu], out, messages=messages, model=rasa_model
    )
    rasa.wait(rasa.run(command, f"NLU predictions ({name})", work / f"{name}.log"))
    return read_predictions(out)


def nlu_accuracy(predictions: list[Prediction]) -> dict[str, Any]:
    correct = sum(not p.is_gap for p in predictions)
    accuracy = correct / len(predictions)
    return {"test_set": str(TEST_SET), "n": len(predictions), "accuracy": round(accuracy, 4)}


@dataclass(frozen=True)
class FirstTurn:
    """What the bot does with a conversation's first message, and the score behind it."""

    action: str
    gap_probability: float  # 1.0 for a request for a person: a rule hands it over unscored


def first_turns(
    predictions: list[Prediction], model: GapModel, kb: KnowledgeBase, settings: Settings
) -> list[FirstTurn]:
    """What the bot decides for each message as a conversation's first turn."""
    turns = []
    for p in predictions:
        intent = p.ranking[0][0] if p.ranking else None
        if intent == "request_human":
            turns.append(FirstTurn(ESCALATE, 1.0))
            continue
        score = model.score(GapInput(p.text, p.ranking))
        decision = decide_turn(score, p.text, [], 0, intent in kb, settings)
        turns.append(FirstTurn(decision.action, score.probability))
    return turns


def not_answered(turns: Sequence[FirstTurn]) -> float:
    """Share of turns clarified or escalated (``turns`` is never empty here)."""
    return round(sum(t.action != ANSWER for t in turns) / len(turns), 4)


def not_answered_by_group(turns: Sequence[FirstTurn], groups: Sequence[str]) -> dict[str, float]:
    """Share not answered in each group, the most answered group first."""
    members: dict[str, list[FirstTurn]] = defaultdict(list)
    for turn, group in zip(turns, groups, strict=True):
        members[group].append(turn)
    shares = {group: not_answered(them) for group, them in members.items()}
    return dict(sorted(shares.items(), key=lambda item: (item[1], item[0])))


def at_one_threshold(
    reference: Sequence[float], other: Sequence[float], rate: float
) -> tuple[float, float]:
    """Shares of ``reference`` and of ``other`` at or above the gap probability that
    ``rate`` of ``reference`` reaches: one threshold for both sets. The reference's own
    share is returned too: with tied probabilities it can be above ``rate``."""
    first, second = np.asarray(reference), np.asarray(other)
    threshold = np.quantile(first, 1 - rate)
    return round(float(np.mean(first >= threshold)), 4), round(
        float(np.mean(second >= threshold)), 4
    )


def cross_domain(
    bank: list[Prediction], shop: list[Prediction], shop_intents: list[str],
    model: GapModel, kb: KnowledgeBase, settings: Settings,
) -> dict[str, Any]:  # fmt: skip
    """Share of messages not answered: another business's customers vs the bank's own.

    The costs' decisions are the bot's own figures; the threshold figure and the AUROC
    say how far apart the two sets are whatever the costs (the gap probability alone),
    and the breakdown which of the shop's requests the bank bot takes for its own.
    """
    bank_turns = first_turns(bank, model, kb, settings)
    shop_turns = first_turns(shop, model, kb, settings)
    bank_p = [t.gap_probability for t in bank_turns]
    shop_p = [t.gap_probability for t in shop_turns]
    shop_first = np.r_[np.zeros(len(bank_p)), np.ones(len(shop_p))]
    bank_at_threshold, shop_at_threshold = at_one_threshold(bank_p, shop_p, 0.10)
    return {
        "bitext_not_answered": not_answered(shop_turns),
        "banking77_test_not_answered": not_answered(bank_turns),
        "bitext_n": len(shop),
        "banking77_test_n": len(bank),
        "separation_auroc": round(float(roc_auc_score(shop_first, [*bank_p, *shop_p])), 4),
        "bitext_not_answered_at_banking77_10pct": shop_at_threshold,
        "banking77_test_at_that_threshold": bank_at_threshold,
        "bitext_not_answered_by_intent": not_answered_by_group(shop_turns, shop_intents),
    }


def training_time(work: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "GAPDESK_MODELS_DIR": str(work / "models"),
        "GAPDESK_VAR_DIR": str(work / "var"),
        # Its own registry: the timed version must not become the bot's current one.
        "GAPDESK_DATABASE_URL": f"sqlite:///{work / 'var' / 'gapdesk.db'}",
        # Rasa reuses trained components from its cache: an empty one means from scratch.
        "RASA_CACHE_DIRECTORY": str(work / "rasa-cache"),
    }
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "gapdesk", "train", "--force"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return {"from_scratch_seconds": round(time.monotonic() - started, 1)}


def turn_latency(project: Project, settings: Settings, work: Path, turns: int) -> dict[str, Any]:
    """Sequential REST turns, asked in alternation of three bots sharing one machine."""
    plain_model = train_plain_bot(project, work)
    ports = free_ports(6)  # all at once: three bots, never the same port twice
    base = Settings(models_dir=settings.models_dir)
    bots = {
        "scored": bot_settings(base, work / "scored", *ports[0:2]),
        "unscored": replace(bot_settings(base, work / "unscored", *ports[2:4]), gap_scoring="off"),
        "rasa_responses": bot_settings(base, work / "rasa_responses", *ports[4:6]),
    }
    services = []
    for name, bot in bots.items():
        upgrade(bot.database_url)
        if name == "rasa_responses":  # plain responses: no action server at all
            services += plain_rasa_services(bot, work / f"logs-{name}", plain_model)
        else:
            services += build_services(bot, work / f"logs-{name}", console=False)
    texts = [r.text for r in read_labelled(project.root / TEST_SET)][:: max(1, 3080 // turns)]
    texts = texts[:turns]
    timings: dict[str, list[float]] = {name: [] for name in bots}
    clients = {name: RasaClient.from_settings(bot) for name, bot in bots.items()}
    with running(services), httpx.Client() as connection:
        for client in clients.values():
            for _ in range(5):  # warm up
                client.say("warm-up", "hi", connection)
        for index, text in enumerate(texts):
            for name, client in clients.items():
                started = time.perf_counter()
                client.say(f"bench-{name}-{index}", text, connection)
                timings[name].append((time.perf_counter() - started) * 1000)
    result: dict[str, Any] = {name: percentiles_ms(values) for name, values in timings.items()}
    result["turns"] = len(texts)
    result["p50_overhead_ratio"] = round(
        result["scored"]["p50_ms"] / result["unscored"]["p50_ms"], 2
    )
    return result


def run(settings: Settings, out: Path, turns: int, with_training: bool) -> dict[str, Any]:
    project = Project()
    current = current_models(settings.models_path)
    if not current:
        raise EngineError("no trained bot: run `gapdesk train` (or `make run`)")
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="gapdesk-figures-") as tmp:
        work = Path(tmp)
        bank = _predict(project, current["rasa_model"], read_labelled(TEST_SET), work, "b77")
        shop_rows, shop_intents = _bitext()
        shop = _predict(project, current["rasa_model"], shop_rows, work, "bitext")
        report["nlu"] = nlu_accuracy(bank)
        model = GapModel.load(Path(current["gap_model"]))
        kb = KnowledgeBase.load(project.knowledge_base)
        report["cross_domain"] = cross_domain(bank, shop, shop_intents, model, kb, settings)
        report["latency"] = turn_latency(project, settings, work, turns)
        if with_training:
            report["training"] = training_time(work / "training")
    write_report(out, report, markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    nlu, latency, cross = report["nlu"], report["latency"], report["cross_domain"]
    scored, unscored, plain = latency["scored"], latency["unscored"], latency["rasa_responses"]
    lines = [
        "| figure | measured | target |",
        "|---|---|---|",
        f"| NLU accuracy, BANKING77 test (n={nlu['n']}) | {nlu['accuracy']:.3f} | ≥ 0.90 |",
        f"| turn p50 / p99, gap-scored (REST, sequential, n={latency['turns']}) | "
        f"{scored['p50_ms']} / {scored['p99_ms']} ms | p99 ≤ 150 ms |",
        f"| turn p50 / p99, same bot unscored (GAPDESK_GAP_SCORING=off) | "
        f"{unscored['p50_ms']} / {unscored['p99_ms']} ms | |",
        f"| p50 overhead of gap scoring | {latency['p50_overhead_ratio']}× | ≤ 1.25× |",
        f"| turn p50 / p99, Rasa alone with plain responses (no action server) | "
        f"{plain['p50_ms']} / {plain['p99_ms']} ms | |",
        f"| Bitext shop requests clarified or escalated (n={cross['bitext_n']}) | "
        f"{cross['bitext_not_answered']:.1%} | ≥ 95 % |",
        f"| BANKING77 test clarified or escalated (n={cross['banking77_test_n']}) | "
        f"{cross['banking77_test_not_answered']:.1%} | ≤ 10 % |",
        "| Bitext not answered at one gap-probability threshold, set to hand over 10 % of "
        f"BANKING77 test ({cross['banking77_test_at_that_threshold']:.1%} at it) | "
        f"{cross['bitext_not_answered_at_banking77_10pct']:.1%} | |",
        "| gap probability separating Bitext from BANKING77 test (AUROC) | "
        f"{cross['separation_auroc']:.3f} | |",
    ]
    if "training" in report:
        seconds = report["training"]["from_scratch_seconds"]
        lines.append(
            f"| training from scratch (NLU, dialogue, gap model) | {seconds:.0f} s | ≤ 600 s |"
        )
    most_answered = list(cross["bitext_not_answered_by_intent"].items())[:5]
    shares = ", ".join(f"{intent} {share:.0%}" for intent, share in most_answered)
    lines += ["", f"Bitext intents the bank bot answers most (share not answered): {shares}."]
    return "\n".join(lines) + "\n"
