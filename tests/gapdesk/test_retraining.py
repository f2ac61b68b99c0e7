"""Unit tests of gapdesk.retraining that need no Rasa: the held-out split, the lock, what
a retrain would learn from, and the runs that end before training."""

from __future__ import annotations

import multiprocessing
import os
import re
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from gapdesk.datasets import LabelledText, write_rasa_nlu
from gapdesk.engine.project import Project
from gapdesk.errors import RegistryError, RetrainBusyError
from gapdesk.labels import NLU_FILE_NAME
from gapdesk.models_dir import Trained
from gapdesk.registry import Registry
from gapdesk.retraining import (
    LOCK_FILE,
    Retrainer,
    _recorded,
    nlu_training_data,
    plan,
    retrain_lock,
    split_held_out,
)
from gapdesk.settings import Settings
from gapdesk.signals import LiveRow, gather
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.store import Store, make_engine
from tests.gapdesk.test_signals import _label, _rate, _turn

# fork: the child starts at once, with everything already imported.
FORK = multiprocessing.get_context("fork")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BANK = {
    "card_arrival": ["my card has not arrived", "where is my new card"],
    "top_up": ["how do I top up", "add money to my account"],
}


def _row(turn_id: int, minutes: int) -> LiveRow:
    at = T0 + timedelta(minutes=minutes)
    return LiveRow(turn_id, at, f"turn {turn_id}", [("top_up", 0.5)], True, 1.0, "label")


# -- split_held_out --------------------------------------------------------------------


def test_the_newest_share_by_turn_time_is_held_out() -> None:
    rows = [_row(1, 30), _row(2, 0), _row(3, 20), _row(4, 10)]  # ids do not follow time
    train, held = split_held_out(rows, 0.25)
    assert [row.turn_id for row in train] == [2, 4, 3]  # oldest first
    assert [row.turn_id for row in held] == [1]
    train, held = split_held_out(rows, 0.5)
    assert ([r.turn_id for r in train], [r.turn_id for r in held]) == ([2, 4], [3, 1])


def test_a_share_that_is_not_a_whole_number_of_rows_holds_out_at_least_that_share() -> None:
    rows = [_row(i, i) for i in range(1, 6)]
    train, held = split_held_out(rows, 0.25)  # 1.25 rows: 2
    assert [r.turn_id for r in held] == [4, 5] and len(train) == 3


def test_rows_of_the_same_time_are_held_out_by_turn_id() -> None:
    rows = [_row(7, 10), _row(3, 10), _row(5, 0)]
    train, held = split_held_out(rows, 0.25)
    assert [r.turn_id for r in train] == [5, 3]
    assert [r.turn_id for r in held] == [7]


def test_only_labels_are_held_out_and_one_always_trains() -> None:
    rated = [replace(_row(i, i), source="thumbs_up", weight=0.3) for i in (10, 11, 12)]
    labelled = [_row(i, i) for i in (1, 2, 3)]
    train, held = split_held_out(rated + labelled, 0.9)
    assert [r.turn_id for r in held] == [2, 3]  # ratings newer than them still train
    assert [r.turn_id for r in train] == [1, 10, 11, 12]


def test_no_row_of_a_held_out_text_trains() -> None:
    rows = [_row(1, 0), replace(_row(2, 10), text="Turn  1"), _row(3, 20), _row(4, 30)]
    repeated = replace(_row(5, 40), text="TURN 4", source="thumbs_up", weight=0.3)
    train, held = split_held_out([*rows, repeated], 0.25)
    assert [r.turn_id for r in held] == [4]
    assert [r.turn_id for r in train] == [1, 2, 3]  # the rating of the same words is out


def test_only_labels_given_since_the_current_version_are_held_out() -> None:
    since = T0 + timedelta(days=1)
    old = [replace(_row(i, i), given_at=since - timedelta(hours=1)) for i in (1, 2, 3)]
    new = [replace(_row(i, i), given_at=since + timedelta(hours=1)) for i in (4, 5)]
    late = replace(_row(6, 50), given_at=since - timedelta(hours=1))  # a newer turn, old label
    train, held = split_held_out([*old, *new, late], 0.5, since)
    assert [r.turn_id for r in held] == [5]  # half of the two new ones; 6 was trained on
    assert [r.turn_id for r in train] == [1, 2, 3, 4, 6]


def test_one_row_or_none_holds_nothing_out() -> None:
    only = _row(1, 0)
    assert split_held_out([only], 0.5) == ([only], [])
    assert split_held_out([], 0.5) == ([], [])


# -- retrain_lock ----------------------------------------------------------------------


def _hold(path: Path, held: Event, release: Event) -> None:
    with retrain_lock(path):
        held.set()
        release.wait(10)


def _hold_until_killed(path: Path, held: Event) -> None:
    with retrain_lock(path):
        held.set()
        time.sleep(30)


def _try(path: Path, result: multiprocessing.SimpleQueue[str]) -> None:
    try:
        with retrain_lock(path):
            result.put("acquired")
    except RetrainBusyError as exc:
        result.put(f"refused: {exc}")


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "var" / LOCK_FILE
    busy = rf"running \(pid {os.getpid()} since "
    with retrain_lock(path), pytest.raises(RetrainBusyError, match=busy), retrain_lock(path):
        pytest.fail("the lock was taken twice")
    with retrain_lock(path):  # released: free again
        assert path.read_text().startswith(f"pid {os.getpid()}")


def test_the_lock_is_released_when_the_retrain_fails(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    with pytest.raises(RuntimeError), retrain_lock(path):
        raise RuntimeError("training failed")
    with retrain_lock(path):
        pass
    assert path.read_text() == ""  # no holder left named


def test_another_process_is_refused_while_this_one_holds_it(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    result: multiprocessing.SimpleQueue[str] = FORK.SimpleQueue()
    with retrain_lock(path):
        child = FORK.Process(target=_try, args=(path, result))
        child.start()
        child.join(10)
        refused = result.get()
    assert refused.startswith("refused: another gapdesk retrain is running")
    assert f"pid {os.getpid()}" in refused
    child = FORK.Process(target=_try, args=(path, result))  # released: the child gets it
    child.start()
    child.join(10)
    assert result.get() == "acquired"


def test_a_lock_held_by_another_process_refuses_here_until_it_ends(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    held = FORK.Event()
    child = FORK.Process(target=_hold_until_killed, args=(path, held))
    child.start()
    try:
        assert held.wait(10)
        with pytest.raises(RetrainBusyError, match=rf"pid {child.pid} since"), retrain_lock(path):
            pass
    finally:
        child.kill()  # killed while holding it: the lock goes with the process
        child.join(10)
    with retrain_lock(path):
        pass


def test_waiting_takes_the_lock_once_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    held, release = FORK.Event(), FORK.Event()
    child = FORK.Process(target=_hold, args=(path, held, release))
    child.start()
    try:
        assert held.wait(10)
        threading.Timer(0.3, release.set).start()
        started = time.monotonic()
        with retrain_lock(path, wait=True):
            assert time.monotonic() - started >= 0.2
            assert path.read_text().startswith(f"pid {os.getpid()}")
    finally:
        release.set()
        child.join(10)


# -- what a retrain learns from --------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    upgrade(url)
    return Store(make_engine(url))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A bot's folder with NLU examples, and a labels file an earlier retrain wrote."""
    root = tmp_path / "bot"
    write_rasa_nlu(BANK, root / "data" / "nlu" / "bank.yml", "test")
    write_rasa_nlu({"top_up": ["top up failed"]}, root / "data" / "nlu" / NLU_FILE_NAME, "old")
    (root / "data" / "out_of_scope").mkdir(parents=True)
    (root / "data" / "out_of_scope" / "bank.txt").write_text("what is the weather\n")
    return Project(root=root)


def test_the_bots_own_examples_leave_out_those_labels_added(project: Project) -> None:
    examples = nlu_training_data(project)
    assert sorted(e.text for e in examples) == sorted(t for texts in BANK.values() for t in texts)


def test_the_plan_learns_nothing_from_the_held_out_turns(store: Store) -> None:
    training = [LabelledText(t, intent) for intent, texts in BANK.items() for t in texts]
    _, first = _turn(store, "my card is late", "top_up")
    _label(store, first, "ana", True, "card_arrival")
    since = gather(store, training).newest
    _, second = _turn(store, "put money in", "card_arrival")
    _label(store, second, "ana", True, "top_up")
    _, third = _turn(store, "card still missing", "top_up")
    _label(store, third, "ana", True, "card_arrival")

    lessons = plan(store, training, since, 0.25)

    assert [row.turn_id for row in lessons.held_out] == [third]  # the newest turn
    assert [row.turn_id for row in lessons.train_rows] == [first, second]
    assert sorted(e.text for e in lessons.examples.intent_examples) == [
        "my card is late", "put money in",
    ]  # fmt: skip
    assert [row.turn_id for row in lessons.fresh.rows] == [second, third]
    summary = lessons.summary()
    assert summary["gap_rows"] == {"label": 3}
    assert summary["new_since_current"]["gap_rows"] == {"label": 2}
    assert (summary["train_rows"], summary["held_out_rows"]) == (2, 1)
    assert summary["nlu_examples_to_write"] == 2
    assert summary["out_of_scope_examples_to_write"] == 0


# -- Retrainer.run before any training -------------------------------------------------


def _settings(tmp_path: Path, store: Store) -> Settings:
    (tmp_path / "models").mkdir(exist_ok=True)
    return Settings(
        database_url=str(store.engine.url),
        models_dir=str(tmp_path / "models"),
        var_dir=str(tmp_path / "var"),
    )


def _serving(settings: Settings, store: Store) -> Registry:
    """A registry whose current version v1 has its two files (any bytes: the runs tested
    here end before a model is loaded)."""
    registry = Registry(store, settings.models_path)
    rasa, gap = settings.models_path / "bot-a.tar.gz", settings.models_path / "gap-a.joblib"
    rasa.write_bytes(b"rasa model")
    gap.write_bytes(b"gap model")
    registry.promote(registry.register(rasa, gap, "train").name)
    return registry


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _retrainer(settings: Settings, store: Store, project: Project) -> Retrainer:
    return Retrainer(settings, store, project, progress=lambda step: None)


def _some_signals(store: Store) -> None:
    """A label naming an intent, a thumbs up, a wrong topic and a thin answer."""
    _, labelled = _turn(store, "my card is late", "top_up")
    _label(store, labelled, "ana", True, "card_arrival")
    up, _ = _turn(store, "has my card been posted")
    _rate(store, up, "up")
    wrong, _ = _turn(store, "open a savings account")
    _rate(store, wrong, "down", "wrong_topic")
    thin, _ = _turn(store, "when does my card come")
    _rate(store, thin, "down", "incomplete")


def test_no_current_version_is_an_error_saying_what_to_do(
    tmp_path: Path, store: Store, project: Project
) -> None:
    settings = _settings(tmp_path, store)
    with pytest.raises(RegistryError, match=r"no model version serves yet.*gapdesk train"):
        _retrainer(settings, store, project).run()


def test_a_current_version_without_its_files_is_an_error_saying_what_to_do(
    tmp_path: Path, store: Store, project: Project
) -> None:
    settings = _settings(tmp_path, store)
    registry = _serving(settings, store)
    gap_file = registry.files(registry.get("v1"))[1]
    gap_file.unlink()
    _some_signals(store)
    with pytest.raises(RegistryError) as raised:
        _retrainer(settings, store, project).run()
    message = str(raised.value)
    assert "current version v1 has no files" in message
    assert str(gap_file) in message
    assert "gapdesk models list" in message and "gapdesk train" in message


def test_with_no_signal_at_all_nothing_changes(
    tmp_path: Path, store: Store, project: Project
) -> None:
    settings = _settings(tmp_path, store)
    registry = _serving(settings, store)
    before = _files(project.root)

    outcome = _retrainer(settings, store, project).run()

    assert outcome.state == "nothing_new"
    assert "nothing new to learn since v1" in outcome.message
    assert outcome.version is not None and outcome.version.name == "v1"
    assert _files(project.root) == before
    assert [v.name for v in registry.versions()] == ["v1"]


def test_nothing_new_since_the_current_versions_signals_changes_nothing(
    database_url: str, tmp_path: Path, project: Project
) -> None:
    upgrade(database_url)
    store = Store(make_engine(database_url))
    settings = _settings(tmp_path, store)
    registry = _serving(settings, store)
    _some_signals(store)
    # What a retrain records of the signals the version learned from.
    signals = gather(store, nlu_training_data(project))
    registry.record_signals("v1", _recorded(signals, signals.summary()))
    _rate(store, _turn(store, "my card broke")[0], "down", "incomplete")  # not learnable
    before = _files(project.root)

    outcome = _retrainer(settings, store, project).run()

    assert outcome.state == "nothing_new", outcome.signals["new_since_current"]
    assert outcome.signals["gap_rows"] == {"label": 1, "thumbs_up": 1,
                                           "thumbs_down_wrong_topic": 1}  # fmt: skip
    assert outcome.signals["new_since_current"]["gap_rows"] == {}
    assert _files(project.root) == before
    assert not (project.root / project.live).exists()
    assert [v.name for v in registry.versions()] == ["v1"]

    time.sleep(0.01)
    _rate(store, _turn(store, "send me a new card")[0], "up")  # something new after all
    again = _retrainer(settings, store, project).run(dry_run=True)
    assert again.state == "dry_run"
    assert again.signals["new_since_current"]["gap_rows"] == {"thumbs_up": 1}


def test_a_dry_run_counts_by_signal_and_writes_nothing(
    tmp_path: Path, store: Store, project: Project
) -> None:
    settings = _settings(tmp_path, store)
    registry = _serving(settings, store)
    _some_signals(store)
    before = _files(project.root)
    models_before = _files(settings.models_path)

    outcome = _retrainer(settings, store, project).run(dry_run=True)

    assert outcome.state == "dry_run" and outcome.version is None
    assert "nothing written" in outcome.message
    counts = outcome.signals
    assert counts["gap_rows"] == {"label": 1, "thumbs_up": 1, "thumbs_down_wrong_topic": 1}
    assert counts["gap_rows_gaps"] == 2
    assert counts["not_used"]["thumbs_down_incomplete"] == 1
    assert counts["new_since_current"]["gap_rows"] == counts["gap_rows"]  # v1 learned none
    # One person's label: it trains (one at least always does); ratings never judge.
    assert (counts["train_rows"], counts["held_out_rows"]) == (3, 0)
    assert counts["nlu_examples"] == 1
    assert _files(project.root) == before  # labels.yml of the earlier retrain untouched
    assert not (project.root / project.live).exists()
    assert _files(settings.models_path) == models_before
    assert [v.name for v in registry.versions()] == ["v1"]
    assert registry.get("v1").signal_counts == {}


def test_a_run_while_another_holds_the_lock_is_refused(
    tmp_path: Path, store: Store, project: Project
) -> None:
    settings = _settings(tmp_path, store)
    _serving(settings, store)
    busy = re.escape(f"pid {os.getpid()}")
    with retrain_lock(settings.var_path / LOCK_FILE), pytest.raises(RetrainBusyError, match=busy):
        _retrainer(settings, store, project).run(dry_run=True)
    assert _retrainer(settings, store, project).run(dry_run=True).state == "nothing_new"


def test_new_signals_that_teach_what_the_files_hold_already_change_nothing(
    tmp_path: Path, store: Store, project: Project
) -> None:
    settings = _settings(tmp_path, store)
    registry = _serving(settings, store)
    uid, labelled = _turn(store, "my card is late", "top_up")
    _label(store, labelled, "ana", True, "card_arrival")
    retrainer = _retrainer(settings, store, project)
    # As after a retrain that learned this label: its files written, its time recorded.
    lessons = plan(store, nlu_training_data(project), None, settings.retrain_held_out_share)
    retrainer._write_training_files(lessons.examples, lessons.train_rows)
    registry.record_signals("v1", _recorded(lessons.everything, lessons.summary()))
    time.sleep(0.01)
    _rate(store, uid, "up")  # a rating of the labelled turn: the label still decides
    _label(store, labelled, "ben", True, "card_arrival")  # a second person agrees
    before = _files(project.root)

    outcome = retrainer.run()

    assert outcome.state == "nothing_new", outcome.signals
    assert _files(project.root) == before
    assert [v.name for v in registry.versions()] == ["v1"]


# -- Retrainer.run past training (training and judging stood in for) -------------------


def _fake_training(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """``train`` makes the same pair of files every time, as the real one does for the
    same training data (its cache)."""
    rasa, gap = settings.models_path / "bot-b.tar.gz", settings.models_path / "gap-b.joblib"

    def train(*args: object, **kwargs: object) -> Trained:
        rasa.write_bytes(b"candidate rasa model")
        gap.write_bytes(b"candidate gap model")
        return Trained(rasa, gap, {"nlu": "b"}, {"cv_auroc": 0.9})

    monkeypatch.setattr("gapdesk.retraining.train", train)


FIGURES = {"n": 40, "cost_per_turn": 1.0, "auroc": 0.9, "nlu_accuracy_on_named_intents": 0.9}


def test_a_run_that_failed_while_judging_is_judged_by_the_next(
    tmp_path: Path, store: Store, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, store)
    registry = _serving(settings, store)
    _some_signals(store)
    _fake_training(monkeypatch, settings)
    before = _files(project.root)

    def judging_fails(*args: object) -> dict[str, object]:
        raise RuntimeError("Rasa could not parse the held-out turns")

    monkeypatch.setattr(Retrainer, "judge", judging_fails)
    with pytest.raises(RuntimeError):
        _retrainer(settings, store, project).run(promote=True)
    assert registry.current() is not None and registry.current().name == "v1"
    assert _files(project.root) == before  # the lessons of an unjudged candidate are gone

    monkeypatch.setattr(Retrainer, "judge", lambda *a: {"current": FIGURES, "candidate": FIGURES})
    outcome = _retrainer(settings, store, project).run(promote=True)

    assert outcome.state == "promoted" and outcome.version is not None
    assert outcome.version.name == "v2" and [v.name for v in registry.versions()] == ["v2", "v1"]
    assert registry.get("v2").evaluation["held_out"]["candidate"] == FIGURES
