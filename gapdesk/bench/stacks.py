"""The bots a benchmark starts beside each other: the real one, and its baselines.

* **the real bot**: Rasa, the action server (every answer gap-scored, decided and
  recorded) and no console;
* **scoring off**: the same bot with ``GAPDESK_GAP_SCORING=off`` (the answer action
  replies with the plain knowledge-base answer, still recorded);
* **plain Rasa**: the same NLU and domain, every answer a plain Rasa response, and no
  action server at all: the floor of what any action-server design costs.

Each bot gets its own folder (SQLite database, Rasa's tracker store, ``var/``) and its
own free loopback ports.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from gapdesk.engine import rasa
from gapdesk.engine.project import Project
from gapdesk.settings import Settings
from gapdesk.supervision import ProcessInfo, processes
from gapdesk.supervisor import Service, build_services
from gapmodel.knowledge import KnowledgeBase


def train_plain_bot(project: Project, work: Path) -> Path:
    """Train the plain-response baseline into ``work``; returns its model file.

    The same NLU data, config and domain as the bot, but each answerable intent's rule
    answers with its knowledge-base text as a Rasa response (no custom action).
    """
    kb = KnowledgeBase.load(project.knowledge_base)
    domain = work / "domain"
    domain.mkdir(parents=True, exist_ok=True)
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
    rules_dir.mkdir(exist_ok=True)
    (rules_dir / "plain.yml").write_text(json.dumps({"version": "3.1", "rules": rules}), "utf-8")
    plain = replace(project, domain=domain, rules=rules_dir)
    command = rasa.train_bot_command(plain, work, "plain")
    rasa.wait(rasa.run(command, "baseline training", work / "baseline-training.log"))
    return work / "plain.tar.gz"


def bot_settings(base: Settings, folder: Path, rasa_port: int, actions_port: int) -> Settings:
    """``base`` with its own database, tracker store, ``var/`` and ports in ``folder``."""
    return replace(
        base,
        database_url=f"sqlite:///{folder / 'gapdesk.db'}",
        tracker_store_url=f"sqlite:///{folder / 'trackers.db'}",
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_server_port=actions_port,
        var_dir=str(folder / "var"),
        model_poll_seconds=0,  # a benchmark's bot keeps the model it started with
    )


def plain_rasa_services(settings: Settings, log_dir: Path, plain_model: Path) -> list[Service]:
    """Rasa alone on the plain-response model: no action server, no console."""
    _, rasa_server = build_services(settings, log_dir, rasa_model=plain_model, console=False)
    return [rasa_server]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and every living descendant,
    so that Sanic's worker processes count with the server that started them."""
    table = processes()
    children: dict[int, list[ProcessInfo]] = {}
    for process in table:
        children.setdefault(process.parent, []).append(process)
    used = sum(p.cpu_seconds for p in table if p.pid == pid)
    frontier = [pid]
    while frontier:
        for child in children.get(frontier.pop(), []):
            used += child.cpu_seconds
            frontier.append(child.pid)
    return used
