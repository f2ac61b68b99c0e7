"""`gapdesk retrain` on a copy of the bank bot: real Rasa training and parsing.

The candidate is built to be worse: the older labels teach the newest turns' very
questions under shuffled intents, while the newest (held-out) labels are the truth.
It must be refused, the current version must keep serving, and the training files
must describe the serving version again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gapdesk.registry import Registry
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import AuditEvent, Label, Turn
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

# Questions of the bank bot's intents (BANKING77 test phrasings, not training examples).
QUESTIONS = {
    "card_arrival": ["how long until my new card comes", "my card is still not here"],
    "exchange_rate": ["what rate do you use for dollars", "how are exchange rates set"],
    "lost_or_stolen_card": ["someone took my card", "I can't find my card anywhere"],
    "pin_blocked": ["my pin got blocked", "I entered the wrong pin too many times"],
    "top_up_failed": ["my top up did not work", "why did adding money fail"],
}
PROJECT_PARTS = ["config.yml", "bot", "data/nlu", "data/rules", "data/stories",
                 "data/knowledge_base", "data/out_of_scope"]  # fmt: skip


@pytest.fixture
def bot_copy(tmp_path: Path, trained_models: dict[str, str]) -> Iterator[tuple[Path, Store]]:
    """The bank bot's project in a folder of its own, its trained models as v1."""
    root = tmp_path / "bot"
    for part in PROJECT_PARTS:
        source, target = ROOT / part, root / part
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    (root / ".venv-rasa").symlink_to(ROOT / ".venv-rasa")
    models = root / "models"
    models.mkdir()
    rasa_model = shutil.copy(trained_models["rasa_model"], models)
    gap_model = shutil.copy(trained_models["gap_model"], models)
    url = f"sqlite:///{root / 'var' / 'gapdesk.db'}"
    (root / "var").mkdir()
    upgrade(url)
    store = Store(make_engine(url))
    registry = Registry(store, models)
    registry.promote(registry.register(Path(rasa_model), Path(gap_model), "train").name)
    yield root, store


def _turn(store: Store, text: str, answered: str, at: datetime) -> int:
    record = new_record(
        "turn", f"c-{at.timestamp()}", customer_text=text, intent=answered, confidence=0.7,
        intent_ranking=[[answered, 0.7], ["card_arrival", 0.1]], decision="answer",
        answer_intent=answered, created_at=at.isoformat(),
    )  # fmt: skip
    store.apply(record)
    with store.session() as session:
        return int(session.scalar(select(Turn.id).where(Turn.uid == record["uid"])))


def _label(store: Store, turn_id: int, author: str, intent: str, answered: str) -> None:
    with store.session() as session:
        session.add(Label(turn_id=turn_id, author=author, is_gap=intent != answered,
                          correct_intent=intent))  # fmt: skip


def _worse_by_construction(store: Store) -> None:
    """120 old labels teaching 40 questions (and two near copies of each) under shuffled
    intents, then 40 new true ones; plus two labels naming an intent the bot lacks and
    one turn two people labelled both ways."""
    questions = [(f"{text} {n}", intent) for intent, texts in QUESTIONS.items()
                 for text in texts for n in ("please", "today", "now", "again")]  # fmt: skip
    intents = sorted(QUESTIONS)
    shuffled = {name: intents[(i + 1) % len(intents)] for i, name in enumerate(intents)}
    moment = iter(datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=m) for m in range(999))
    for variant in ("{}", "{} thanks", "so {}"):
        for text, intent in questions:
            turn = _turn(store, variant.format(text), intent, next(moment))
            _label(store, turn, "mallory", shuffled[intent], intent)
    for coin in ("bitcoin", "ether"):
        turn = _turn(store, f"can I hold {coin} in my account", "exchange_rate", next(moment))
        _label(store, turn, "ana", "crypto_wallet", "exchange_rate")
    disputed = _turn(store, "my card is bent", "card_arrival", next(moment))
    _label(store, disputed, "ana", "card_arrival", "card_arrival")
    with store.session() as session:
        session.add(Label(turn_id=disputed, author="ben", is_gap=True, correct_intent=None))
    for text, intent in questions:  # the newest: held out, and true
        _label(store, _turn(store, text, intent, next(moment)), "ana", intent, intent)


def _retrain(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["GAPDESK_DATABASE_URL"] = f"sqlite:///{root / 'var' / 'gapdesk.db'}"
    env["GAPDESK_MODELS_DIR"] = str(root / "models")
    env["GAPDESK_VAR_DIR"] = str(root / "var")
    return subprocess.run(
        [sys.executable, "-m", "gapdesk", "retrain", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip


def test_a_worse_candidate_is_refused_and_the_current_version_keeps_serving(
    bot_copy: tuple[Path, Store],
) -> None:
    root, store = bot_copy
    _worse_by_construction(store)
    registry = Registry(store, root / "models")

    dry = _retrain(root, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    counts = json.loads(_json_part(dry.stdout))
    not_used = counts["signals"]["not_used"]
    assert not_used["label_unknown_intent"] == 2
    assert not_used["labels_that_contradict_each_other"] == 1
    assert counts["signals"]["held_out_rows"] >= 30
    assert [v.name for v in registry.versions()] == ["v1"]  # a dry run changes nothing

    result = _retrain(root, "--promote")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "refused" in result.stdout and "worse on held-out turns" in result.stdout
    current = registry.current()
    assert current is not None and current.name == "v1"
    candidate = registry.get("v2")
    assert candidate.status == "refused" and "worse" in (candidate.reason or "")
    judged = candidate.evaluation["held_out"]
    assert (
        judged["candidate"]["nlu_accuracy_on_named_intents"]
        < (judged["current"]["nlu_accuracy_on_named_intents"])
    )
    assert candidate.parent == "v1" and candidate.trigger == "retrain"
    # data/ describes the serving version again: the refused lessons are not left behind
    assert not (root / "data" / "nlu" / "labels.yml").exists()
    assert not (root / "data" / "live" / "gap_turns.jsonl").exists()
    with store.session() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "refuse_model" in actions


def _json_part(stdout: str) -> str:
    """The JSON object `gapdesk retrain` prints before its one-line verdict."""
    return stdout[: stdout.rstrip().rfind("\n")]
