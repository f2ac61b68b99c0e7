"""``gapdesk db prune``: what it prints, its exit codes, and that cron can run it blindly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from gapdesk.cli import main
from gapdesk.storage import retention
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.store import Store, make_engine
from tests.gapdesk.storage.conftest import NOW, dump, fill, fill_tracker_store

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample database and a tracker store, settings pointing at them, and the
    clock at the sample's NOW (2026-12-01)."""
    monkeypatch.chdir(tmp_path)  # no .env of the working directory is read
    url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    upgrade(url)
    engine = make_engine(url)
    fill(Store(engine))
    engine.dispose()
    trackers = create_engine(f"sqlite:///{tmp_path / 'rasa_trackers.db'}")
    fill_tracker_store(trackers)
    trackers.dispose()
    monkeypatch.setenv("GAPDESK_DATABASE_URL", url)
    monkeypatch.setenv("GAPDESK_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'rasa_trackers.db'}")
    monkeypatch.setenv("GAPDESK_VAR_DIR", str(tmp_path / "var"))
    real = retention.cutoff_for
    monkeypatch.setattr(retention, "cutoff_for", lambda days, now=None: real(days, NOW))
    return tmp_path


def _dump(installation: Path) -> dict:
    engine = make_engine(f"sqlite:///{installation / 'gapdesk.db'}")
    try:
        return dump(engine)
    finally:
        engine.dispose()


def _table(output: str) -> dict[str, list[int]]:
    """The per-table counts of the output: table -> [texts removed, ids, deleted]."""
    rows = {}
    for line in output.splitlines():
        *name, texts, ids, deleted = line.split() or [""]
        if texts.isdigit() and ids.isdigit() and deleted.isdigit():
            rows[" ".join(name)] = [int(texts), int(ids), int(deleted)]
    return rows


def test_with_retention_off_nothing_is_touched(
    installation: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _dump(installation)
    assert main(["db", "prune"]) == 0
    assert (
        "retention is off (GAPDESK_RETENTION_DAYS=0): everything is kept" in capsys.readouterr().out
    )
    assert _dump(installation) == before


def test_dry_run_then_run_then_nothing_left(
    installation: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAPDESK_RETENTION_DAYS", "30")
    assert main(["db", "prune", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "retention 30 days: rows from before 2026-11-01 00:00 UTC" in dry
    assert dry.rstrip().endswith("(dry run: nothing was changed)")
    counts = _table(dry)
    assert counts["turns"] == [9, 8, 0] and counts["conversations"] == [0, 3, 0]
    assert counts["login_failures"] == [0, 0, 1] and counts["rasa events"] == [5, 0, 5]
    assert counts["customers"] == [0, 0, 3]  # trust rows of customers idle since the cutoff
    assert not (installation / "var" / retention.KEY_FILE).exists()

    assert main(["db", "prune"]) == 0
    done = capsys.readouterr().out
    assert _table(done) == counts and "changed 51 row(s)" in done
    assert (installation / "var" / retention.KEY_FILE).exists()

    assert main(["db", "prune"]) == 0  # the next night: nothing new is old enough
    again = capsys.readouterr().out
    assert again.rstrip().endswith("nothing to change")
    assert all(row == [0, 0, 0] for row in _table(again).values())


def test_days_overrides_the_setting_and_must_be_a_day_at_least(
    installation: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "prune", "--days", "0"]) == 2
    assert capsys.readouterr().err == (
        "gapdesk: --days must be at least 1 (GAPDESK_RETENTION_DAYS=0 keeps all)\n"
    )
    assert main(["db", "prune", "--days", "365", "--dry-run"]) == 0
    assert (
        capsys.readouterr()
        .out.rstrip()
        .endswith("nothing to change (dry run: nothing was changed)")
    )


def test_a_negative_setting_is_refused(
    installation: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAPDESK_RETENTION_DAYS", "-7")
    assert main(["db", "prune"]) == 2
    assert "GAPDESK_RETENTION_DAYS must not be negative" in capsys.readouterr().err


def test_a_failure_is_one_line_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GAPDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'no_tables.db'}")
    monkeypatch.setenv("GAPDESK_VAR_DIR", str(tmp_path / "var"))
    assert main(["db", "prune", "--days", "30"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gapdesk: prune stopped in gapdesk's database: ")
    assert "no such table" in err and "run it again to finish" in err
    assert err.count("\n") == 1


def test_a_run_while_another_process_prunes_exits_2_and_changes_nothing(
    installation: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAPDESK_RETENTION_DAYS", "30")
    lock = installation / "var" / retention.LOCK_FILE
    holder = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from gapdesk.storage.retention import prune_lock\n"
        "with prune_lock(Path(sys.argv[1])):\n"
        "    print('holding', flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", holder, str(lock)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        before = _dump(installation)
        assert main(["db", "prune"]) == 2
        err = capsys.readouterr().err
        assert f"another gapdesk db prune is running (pid {child.pid} since" in err
        assert _dump(installation) == before
    finally:
        child.kill()  # killed while holding it: the lock goes with the process
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert main(["db", "prune"]) == 0  # free again
