"""Promoting another version while customers chat: no turn fails or is lost, and each
is scored by exactly one version and recorded with it."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from gapdesk.registry import Registry
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.store import Store, make_engine
from gapdesk.supervisor import follow_models
from gapmodel.model import GapModel
from tests.e2e.conftest import BotFactory

pytestmark = pytest.mark.e2e

MESSAGES = [
    "how do I top up by bank transfer",
    "my card still hasn't arrived",
    "what is the exchange rate for euros",
    "can I change my PIN",
]
SECOND_VERSION = "gap-e2e-second"


def _two_versions(trained_models: dict[str, str], models: Path, database_url: str) -> Registry:
    """v1: the trained bot; v2: the same models under other names, its gap model
    renamed so that the turns it scores say so."""
    models.mkdir()
    rasa, gap = Path(trained_models["rasa_model"]), Path(trained_models["gap_model"])
    shutil.copy(rasa, models / "bot-first.tar.gz")
    shutil.copy(gap, models / "gap-first.joblib")
    shutil.copy(rasa, models / "bot-second.tar.gz")
    second = GapModel.load(gap)
    second.metadata["version"] = SECOND_VERSION
    second.save(models / "gap-second.joblib")
    upgrade(database_url)
    registry = Registry(Store(make_engine(database_url)), models)
    first = registry.register(models / "bot-first.tar.gz", models / "gap-first.joblib", "train")
    registry.register(models / "bot-second.tar.gz", models / "gap-second.joblib", "retrain")
    registry.promote(first.name)
    return registry


def test_a_promotion_reaches_rasa_and_the_actions_while_customers_chat(
    start_bot: BotFactory, trained_models: dict[str, str], tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    registry = _two_versions(trained_models, tmp_path / "models", database_url)
    first_version = GapModel.load(tmp_path / "models" / "gap-first.joblib").version
    bot = start_bot(
        database_url=database_url, models_dir=str(tmp_path / "models"), model_poll_seconds=0.5
    )
    follower = follow_models(bot.settings, bot.service("Rasa server"))
    follower.start()

    sent: dict[str, int] = {}
    failures: list[str] = []
    stop = threading.Event()

    def customer(number: int) -> None:
        conversation = f"swap-{number}"
        sent[conversation] = 0
        while not stop.is_set():
            text = MESSAGES[(number + sent[conversation]) % len(MESSAGES)]
            try:
                if not bot.say(conversation, text):
                    failures.append(f"{conversation}: no reply to {text!r}")
            except Exception as exc:  # a failed turn is what this test looks for
                failures.append(f"{conversation}: {exc}")
            sent[conversation] += 1

    customers = [threading.Thread(target=customer, args=(n,)) for n in range(3)]
    try:
        for thread in customers:
            thread.start()
        time.sleep(3)
        registry.promote("v2")
        deadline = time.monotonic() + 30
        while not _rasa_runs(bot.settings.rasa_url, bot.client, "bot-second.tar.gz"):
            assert time.monotonic() < deadline, "Rasa never loaded the promoted model"
            time.sleep(0.5)
        time.sleep(4)  # customers keep chatting on the new version
    finally:
        stop.set()
        for thread in customers:
            thread.join()
        follower.stop()

    assert failures == []
    for conversation, count in sent.items():
        turns = bot.conversation(conversation, turns=count, timeout=30)["turns"]
        assert len(turns) == count, f"{conversation}: a turn was lost"
        versions = [t["gap_score"]["model_version"] for t in turns if t.get("gap_score")]
        assert set(versions) <= {first_version, SECOND_VERSION}
        # Within one conversation the old version scores until the swap, then the new one.
        switched = versions.index(SECOND_VERSION) if SECOND_VERSION in versions else None
        assert switched is not None, f"{conversation}: never scored by the promoted version"
        assert set(versions[switched:]) == {SECOND_VERSION}


def _rasa_runs(rasa_url: str, client: object, model_name: str) -> bool:
    from gapdesk.engine.client import sign_token

    token = sign_token(client.secret)  # type: ignore[attr-defined]
    status = httpx.get(
        f"{rasa_url}/status", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    return status.status_code == 200 and str(status.json().get("model_file", "")).endswith(
        model_name
    )
