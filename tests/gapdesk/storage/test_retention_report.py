"""Reports keep their figures over a pruned period (gapdesk.reports, gapdesk.storage.retention).

The report is built over October 2026, every day of it older than the cutoff, before
and after pruning: every figure is the same, only the customers' own words (the
examples of the by-intent and by-answer tables) are gone. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gapdesk.reports.build import build_report
from gapdesk.reports.outcomes import rephrased
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Turn
from gapdesk.storage.retention import prune
from gapdesk.storage.store import Store, make_engine
from tests.gapdesk.storage.conftest import DAYS, NOW, OLD_PERIOD, REPHRASED_TURNS, fill

GENERATED = datetime(2026, 12, 1, tzinfo=UTC)
FIGURES = (
    "volume", "containment", "escalation", "missed_gaps", "satisfaction", "waiting_times",
    "reliability", "model_versions", "control_group",
)  # fmt: skip


def _report(store: Store) -> dict[str, Any]:
    return build_report(store.engine, *OLD_PERIOD, generated_at=GENERATED)


def _without_examples(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "examples"} for row in rows]


def test_a_report_over_the_pruned_period_gives_the_same_figures(
    sample: Store, tmp_path: Path
) -> None:
    before = _report(sample)
    # the sample exercises every figure (and no rephrase: see the test below)
    assert before["volume"]["messages"] == 7 and before["volume"]["conversations"] == 4
    assert before["containment"]["contained"] == 1 and before["containment"]["handed_over"] == 3
    assert before["escalation"]["hand_overs"] == 3 and before["escalation"]["precision"] == 0.5
    assert before["missed_gaps"]["missed"] == 2 and before["missed_gaps"]["signals"] == {
        "thumbs_down": 2, "labelled_gap": 0, "rephrased": 0, "handed_over": 2
    }  # fmt: skip
    assert before["satisfaction"]["ratings"] == 1 and before["waiting_times"]["claimed"] == 2
    assert before["control_group"]["off"]["conversations"] == 1
    assert any(row["examples"] for row in before["by_intent"])

    result = prune(sample, tmp_path, DAYS, now=NOW)
    assert result.changes["turns"]["texts removed"] == 9
    after = _report(sample)

    for figure in FIGURES:
        assert after[figure] == before[figure], figure
    for table in ("by_intent", "by_answer"):
        assert _without_examples(after[table]) == _without_examples(before[table])
        assert all(row["examples"] == [] for row in after[table])  # the texts are gone


def test_the_rephrase_fact_is_kept_where_the_texts_go(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    store = Store(make_engine(database_url))
    ids = fill(store, rephrase=True)
    with store.session() as session:
        texts = dict(session.execute(select(Turn.id, Turn.customer_text)).all())
    first, second = (ids[name] for name, *_ in REPHRASED_TURNS)
    assert rephrased(texts[first], texts[second])  # how the report judges it, on the texts

    prune(store, tmp_path, DAYS, now=NOW)
    with store.session() as session:
        kept = dict(session.execute(select(Turn.id, Turn.rephrased_next)).all())
        gone = session.scalars(select(Turn.customer_text).where(Turn.id.in_([first, second])))
        assert list(gone) == [None, None]
    assert kept[first] is True and kept[second] is False
    assert sum(1 for flag in kept.values() if flag) == 1
    store.engine.dispose()


def test_a_report_counts_the_same_rephrases_after_pruning(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    fill(store, rephrase=True)
    before = _report(store)
    assert before["missed_gaps"]["signals"]["rephrased"] == 1
    prune(store, tmp_path, DAYS, now=NOW)
    after = _report(store)
    store.engine.dispose()
    for figure in FIGURES:
        assert after[figure] == before[figure], figure
