"""Unit tests of gapdesk.serving: the current version reaches a running process."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from gapdesk.serving import RasaModelFollower, ServingModel
from gapmodel.types import GapInput, GapScore

ITEM = GapInput("where is my card", [("card_arrival", 0.9)])


class VersionScorer:
    """Scores with a fixed probability and says which version it is."""

    def __init__(self, version: str) -> None:
        self.version = version

    def score(self, item: GapInput) -> GapScore:
        return GapScore(0.5, [], self.version, 0.1)


class Wanted:
    """What the registry says is current; ``None`` as when the database is down."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def __call__(self) -> Path | None:
        return self.path


def _serving(wanted: Wanted, broken: set[str] | None = None) -> ServingModel:
    def load(path: Path) -> VersionScorer:
        if path.name in (broken or set()):
            raise OSError(f"cannot read {path}")
        return VersionScorer(path.name)

    return ServingModel(VersionScorer("v1"), Path("models/v1"), wanted, load, poll_seconds=0.05)


def test_a_newly_current_version_is_loaded_and_then_scores() -> None:
    wanted = Wanted(Path("models/v1"))
    serving = _serving(wanted)
    assert not serving.check()  # the version in use
    wanted.path = Path("models/v2")
    assert serving.check()
    assert serving.score(ITEM).model_version == "v2"


def test_a_version_that_will_not_load_leaves_the_one_in_use_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wanted = Wanted(Path("models/v2"))
    serving = _serving(wanted, broken={"v2"})
    for _ in range(3):
        assert not serving.check()
    assert serving.score(ITEM).model_version == "v1"
    assert len([r for r in caplog.records if "could not load" in r.getMessage()]) == 1
    wanted.path = Path("models/v3")  # the next promotion is tried
    assert serving.check() and serving.score(ITEM).model_version == "v3"


def test_an_unreadable_registry_changes_nothing() -> None:
    serving = _serving(Wanted(None))
    assert not serving.check() and serving.score(ITEM).model_version == "v1"


def test_scores_during_a_swap_each_come_from_exactly_one_version() -> None:
    wanted = Wanted(Path("models/v1"))
    serving = _serving(wanted)
    serving.start()
    seen: list[str] = []
    stop = threading.Event()

    def customer() -> None:
        while not stop.is_set():
            seen.append(serving.score(ITEM).model_version)

    threads = [threading.Thread(target=customer) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    wanted.path = Path("models/v2")
    deadline = time.monotonic() + 5
    while serving.path != Path("models/v2") and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join()
    serving.stop()
    assert set(seen) == {"v1", "v2"} and seen[-1] == "v2"


class RecordingRasa:
    """A Rasa whose loads can fail, or time out after loading all the same."""

    def __init__(self, running: Path, fail: bool = False) -> None:
        self.running, self.fail, self.loads_anyway = running, fail, False
        self.asked: list[Path] = []

    def replace_model(self, model_file: Path) -> None:
        self.asked.append(model_file)
        if self.loads_anyway:
            self.running = model_file
        if self.fail:
            raise TimeoutError("Rasa did not answer in time")
        self.running = model_file

    def model_file(self) -> Path | None:
        return self.running


def test_rasa_is_told_once_per_new_version() -> None:
    rasa, wanted = RecordingRasa(Path("models/bot-a.tar.gz")), Wanted(Path("models/bot-a.tar.gz"))
    follower = RasaModelFollower(rasa, Path("models/bot-a.tar.gz"), wanted)
    assert not follower.check()
    wanted.path = Path("models/bot-b.tar.gz")
    assert follower.check() and not follower.check()
    assert rasa.asked == [Path("models/bot-b.tar.gz")]


def test_a_failed_load_is_retried_later_not_at_every_poll() -> None:
    rasa = RecordingRasa(Path("models/bot-a.tar.gz"), fail=True)
    wanted = Wanted(Path("models/bot-b.tar.gz"))
    follower = RasaModelFollower(rasa, Path("models/bot-a.tar.gz"), wanted, retry_seconds=0.2)
    assert not follower.check() and not follower.check()
    assert len(rasa.asked) == 1
    rasa.fail = False
    time.sleep(0.25)
    assert follower.check() and rasa.running == Path("models/bot-b.tar.gz")


def test_after_a_timed_out_load_the_follower_believes_what_rasa_runs() -> None:
    # Rasa finished loading b although the request timed out: a rollback to a must
    # then be sent, not skipped as "already running".
    rasa = RecordingRasa(Path("models/bot-a.tar.gz"), fail=True)
    rasa.loads_anyway = True
    wanted = Wanted(Path("models/bot-b.tar.gz"))
    follower = RasaModelFollower(rasa, Path("models/bot-a.tar.gz"), wanted)
    assert not follower.check()
    rasa.fail, rasa.loads_anyway = False, False
    wanted.path = Path("models/bot-a.tar.gz")
    assert follower.check() and rasa.running == Path("models/bot-a.tar.gz")
