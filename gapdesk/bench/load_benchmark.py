"""``gapdesk benchmark load``: many conversations at once, against the bot and its baselines.

Three bots run side by side on the machine (gapdesk/bench/stacks.py): the real bot,
the same bot with gap scoring off, and plain Rasa answering with responses (no action
server). Each in turn, alone under load while the others idle, gets

1. a short warm-up (not measured);
2. the **paced** run: ``conversations`` customers with human think times offering
   ``rate`` messages per second, for ``seconds``: latency percentiles and errors;
3. the **saturation** run: ``saturation_conversations`` customers writing back to back:
   the most turns per second;
4. the **loss audit** of both runs (gapdesk/bench/load_audit.py);

and the CPU seconds each of its processes (with their children) spent per turn.

Given a PostgreSQL server (``postgres_url``) and Redis, two more bots are measured the
same way, both on production's stores (PostgreSQL for both, Redis locks): one Rasa
and one action server, and two of each behind HAProxy (gapdesk/balancer.py).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from gapdesk.bench import load_audit
from gapdesk.bench.load_traffic import Sent, Traffic, run_traffic
from gapdesk.bench.report import percentiles_ms, write_report
from gapdesk.bench.stacks import (
    bot_settings,
    plain_rasa_services,
    train_plain_bot,
    tree_cpu_seconds,
)
from gapdesk.datasets import read_labelled
from gapdesk.engine.client import RasaClient
from gapdesk.engine.project import Project
from gapdesk.engine.secrets import webhook_token
from gapdesk.errors import EngineError
from gapdesk.models_dir import current_models
from gapdesk.settings import Settings
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.scratch import scratch_database
from gapdesk.storage.store import Store, make_engine
from gapdesk.supervisor import Service, build_services, free_ports, running

logger = logging.getLogger(__name__)

TEXTS = Path("data/datasets/banking77/test.csv")
CONFIGS = ("gapdesk", "scoring_off", "plain_rasa")
SCALE_OUT = {"one_instance": 1, "two_instances": 2}  # Rasa instances = action servers
WARM_UP_SECONDS = 10.0


@dataclass(frozen=True)
class LoadPlan:
    conversations: int = 200
    rate: float = 20.0
    seconds: float = 60.0
    saturation_conversations: int = 50
    saturation_seconds: float = 30.0
    seed: int = 0
    postgres_url: str = ""  # a server for the scale-out bots' databases; "": none
    redis_url: str = "redis://127.0.0.1:6379/1"


@dataclass
class Bot:
    """One of the bots under test, started."""

    name: str
    settings: Settings
    services: list[Service]

    def traffic(self, texts: Sequence[str], seed: int, phase: str) -> Traffic:
        token = webhook_token(self.settings.webhook_token, self.settings.var_path)
        url = f"{self.settings.rasa_url}/webhooks/rest/webhook"
        return Traffic(url, token, texts, seed, prefix=f"{self.name}-{phase}")

    def cpu_seconds(self) -> dict[str, float]:
        return {
            service.name: tree_cpu_seconds(service.process.pid)
            for service in self.services
            if service.process is not None
        }


def _latency(sent: Sequence[Sent]) -> dict[str, float]:
    return percentiles_ms([m.latency_ms for m in sent if m.ok], (50, 95, 99))


def _phase(
    bot: Bot, texts: Sequence[str], plan: LoadPlan, phase: str
) -> tuple[list[Sent], dict[str, float]]:
    """One run of traffic; returns what was sent and the CPU seconds per turn of each process."""
    paced = phase == "paced"
    before = bot.cpu_seconds()
    sent = run_traffic(
        bot.traffic(texts, plan.seed, phase),
        plan.conversations if paced else plan.saturation_conversations,
        plan.seconds if paced else plan.saturation_seconds,
        plan.rate if paced else None,
    )
    after = bot.cpu_seconds()
    turns = max(1, sum(1 for message in sent if message.ok))
    cpu = {name: round((after[name] - before[name]) / turns, 4) for name in after}
    return sent, cpu


def measure(
    bot: Bot, texts: Sequence[str], plan: LoadPlan, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Warm-up, paced run, saturation run and loss audit of one bot."""
    progress(f"load: {bot.name}: warming up")
    run_traffic(bot.traffic(texts, plan.seed + 1000, "warm-up"), 4, WARM_UP_SECONDS, None)
    progress(f"load: {bot.name}: {plan.conversations} conversations at {plan.rate:g} "
             f"messages/s for {plan.seconds:g} s")  # fmt: skip
    paced, paced_cpu = _phase(bot, texts, plan, "paced")
    progress(f"load: {bot.name}: {plan.saturation_conversations} conversations back to back "
             f"for {plan.saturation_seconds:g} s")  # fmt: skip
    saturated, saturated_cpu = _phase(bot, texts, plan, "saturation")
    progress(f"load: {bot.name}: auditing {len(paced) + len(saturated)} messages")
    everything = paced + saturated
    client = RasaClient.from_settings(bot.settings, timeout=60)
    trackers = load_audit.read_trackers(client, everything)
    lost_turns, duplicated = 0, 0
    if bot.name != "plain_rasa":  # plain Rasa has no gap action and no database
        store = Store(make_engine(bot.settings.database_url))
        lost_turns, duplicated = load_audit.turn_losses(store, trackers.gap_turns)
    saturation_ok = sum(1 for message in saturated if message.ok)
    return {
        "turns_per_s": round(sum(1 for m in paced if m.ok) / plan.seconds, 2),
        "offered_per_s": round(len(paced) / plan.seconds, 2),
        "saturation_turns_per_s": round(saturation_ok / plan.saturation_seconds, 2),
        **_latency(paced),
        "saturation": _latency(saturated),
        "errors": sum(1 for message in everything if not message.ok),
        "error_examples": sorted({m.error or str(m.status) for m in everything if not m.ok})[:5],
        "messages": len(everything),
        "lost_messages": trackers.lost_messages,
        "lost_turns": lost_turns,
        "duplicated_turns": duplicated,
        "cpu_s_per_turn": {"paced": paced_cpu, "saturation": saturated_cpu},
        "latencies_ms": sorted(round(m.latency_ms, 1) for m in paced if m.ok),
    }


def _scale_out_bots(settings: Settings, work: Path, plan: LoadPlan, stack: ExitStack) -> list[Bot]:
    from gapdesk.balancer import scaled_services  # HAProxy: only when asked for

    ports = free_ports(2 * len(SCALE_OUT))
    bots = []
    for index, (name, count) in enumerate(SCALE_OUT.items()):
        database = stack.enter_context(scratch_database(plan.postgres_url, f"load_{name}"))
        bot = replace(
            bot_settings(settings, work / name, *ports[2 * index : 2 * index + 2]),
            database_url=database,
            tracker_store_url=database,
            lock_store_url=plan.redis_url,
            lock_store_prefix=f"load{name.replace('_', '')}",
            rasa_instances=count,
            action_servers=count,
        )
        upgrade(bot.database_url)
        logs = work / name / "logs"
        services = (
            scaled_services(bot, logs, console=False)
            if count > 1
            else build_services(bot, logs, console=False)
        )
        bots.append(Bot(name, bot, services))
    return bots


def _bots(settings: Settings, work: Path, plain_model: Path) -> list[Bot]:
    ports = free_ports(2 * len(CONFIGS))  # all at once: never the same port twice
    bots = []
    for index, name in enumerate(CONFIGS):
        folder = work / name
        bot = bot_settings(settings, folder, *ports[2 * index : 2 * index + 2])
        if name == "scoring_off":
            bot = replace(bot, gap_scoring="off")
        upgrade(bot.database_url)
        if name == "plain_rasa":
            services = plain_rasa_services(bot, folder / "logs", plain_model)
        else:
            services = build_services(bot, folder / "logs", console=False)
        bots.append(Bot(name, bot, services))
    return bots


def run(
    settings: Settings, out: Path, plan: LoadPlan, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Start the three bots, measure each in turn, write report.json, report.md and a plot."""
    if not current_models(settings.models_path):
        raise EngineError("no trained bot: run `gapdesk train` (or `make run`)")
    project = Project()
    texts = [row.text for row in read_labelled(project.root / TEXTS)]
    with tempfile.TemporaryDirectory(prefix="gapdesk-load-") as tmp:
        work = Path(tmp)
        progress("load: training the plain-response baseline")
        plain_model = train_plain_bot(project, work / "plain")
        with ExitStack() as stack:
            bots = _bots(settings, work, plain_model)
            if plan.postgres_url:
                bots += _scale_out_bots(settings, work, plan, stack)
            progress(f"load: starting {len(bots)} bots")
            services = [service for bot in bots for service in bot.services]
            with running(services, timeout=600):
                results = {bot.name: measure(bot, texts, plan, progress) for bot in bots}
    report: dict[str, Any] = {
        "rate": plan.rate,
        "conversations": plan.conversations,
        "seconds": plan.seconds,
        "saturation_conversations": plan.saturation_conversations,
        "saturation_seconds": plan.saturation_seconds,
        "channel": "rest",
        "machine": {"cpus": os.cpu_count()},
        **results,
    }
    gapdesk, off = results["gapdesk"], results["scoring_off"]
    report["saturation_ratio_to_scoring_off"] = _ratio(gapdesk, off)
    if "two_instances" in results:
        report["saturation_ratio_two_to_one"] = _ratio(
            results["two_instances"], results["one_instance"]
        )
    out.mkdir(parents=True, exist_ok=True)
    write_plot(out, results)
    for result in results.values():
        result.pop("latencies_ms")  # the plot has them; the JSON stays readable
    write_report(out, report, markdown(report))
    return report


def _ratio(one: dict[str, Any], other: dict[str, Any]) -> float:
    """``one``'s saturation throughput over ``other``'s."""
    return round(one["saturation_turns_per_s"] / max(other["saturation_turns_per_s"], 1e-9), 3)


def write_plot(out: Path, results: dict[str, dict[str, Any]]) -> None:
    """Latency distribution of the paced run, one curve per bot."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for name, result in results.items():
        latencies = result["latencies_ms"]
        if latencies:
            shares = np.arange(1, len(latencies) + 1) / len(latencies)
            axis.plot(latencies, shares, label=name)
    axis.set_xscale("log")
    axis.set(
        title="Paced run: turn latency", xlabel="latency (ms, log scale)", ylabel="share of turns"
    )
    axis.axvline(1000, color="grey", linewidth=0.5)
    axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(out / "latency.png", dpi=110)
    plt.close(figure)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Paced: {report['conversations']} conversations offering {report['rate']:g} messages/s "
        f"for {report['seconds']:g} s; saturation: {report['saturation_conversations']} "
        f"conversations back to back for {report['saturation_seconds']:g} s "
        f"({report['channel']} channel, {report['machine']['cpus']} CPUs).",
        "",
        "| | offered / answered per s | p50 / p95 / p99 ms | saturation turns/s | errors "
        "| lost messages / turns | CPU s per turn (paced) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in (*CONFIGS, *SCALE_OUT):
        if name not in report:
            continue
        r = report[name]
        cpu = ", ".join(f"{k} {v:.3f}" for k, v in r["cpu_s_per_turn"]["paced"].items())
        lines.append(
            f"| {name} | {r['offered_per_s']} / {r['turns_per_s']} | {r['p50_ms']} / "
            f"{r['p95_ms']} / {r['p99_ms']} | {r['saturation_turns_per_s']} | {r['errors']} | "
            f"{r['lost_messages']} / {r['lost_turns']} | {cpu} |"
        )
    lines += [
        "",
        f"gapdesk's saturation throughput is {report['saturation_ratio_to_scoring_off']:.2f}× "
        "scoring-off's (target ≥ 0.85×).",
    ]
    if "saturation_ratio_two_to_one" in report:
        lines.append(
            "On PostgreSQL with Redis locks, two Rasa instances and two action servers "
            f"behind HAProxy give {report['saturation_ratio_two_to_one']:.2f}× one's "
            "saturation throughput."
        )
    return "\n".join(lines) + "\n"
