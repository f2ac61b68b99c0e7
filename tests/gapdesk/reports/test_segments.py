"""Customer segments: hand-made customers in obvious groups, and the small cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from gapdesk.reports.build import build_report, write_report_files
from gapdesk.reports.frames import Frames, Period
from gapdesk.reports.segments import (
    MIN_CUSTOMERS,
    VISIT_GAP,
    behaviour_features,
    customer_table,
    segments,
)
from tests.gapdesk.reports.conftest import SINCE, UNTIL

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _turns(
    customer: str, channel: str, intent: str, messages: int, *, escalated: bool = False,
    thumbs_down: bool = False, gap: bool = False, first: int = 0, apart: timedelta | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    step = apart or timedelta(minutes=1)
    return [
        {
            "id": f"{customer}-{i}",
            "conversation_id": customer,
            "created_at": START + timedelta(hours=first) + i * step,
            "intent": intent,
            "channel": channel,
            "escalated": escalated,
            "thumbs_down": thumbs_down,
            "gap_turn": gap or escalated or thumbs_down,
            "kind": "bot",
        }
        for i in range(messages)
    ]


def _frames(outcomes: pd.DataFrame, ratings: dict[str, int] | None = None) -> Frames:
    feedback = pd.DataFrame(
        [
            {
                "id": n,
                "conversation_id": c,
                "turn_id": None,
                "kind": "conversation",
                "rating": str(score),
                "reason": None,
                "created_at": START,
            }  # fmt: skip
            for n, (c, score) in enumerate((ratings or {}).items())
        ],
        columns=["id", "conversation_id", "turn_id", "kind", "rating", "reason", "created_at"],
    )
    empty = pd.DataFrame(columns=["conversation_id", "created_at"])
    return Frames(
        period=Period.of(SINCE, UNTIL),
        turns=outcomes[["conversation_id", "kind"]] if len(outcomes) else empty.assign(kind=[]),
        feedback=feedback,
        labels=pd.DataFrame(columns=["id", "turn_id", "is_gap", "correct_intent", "created_at"]),
        escalations=pd.DataFrame(columns=["id", "conversation_id", "created_at", "status"]),
        claims=empty,
        agent_replies=empty,
        model_versions=pd.DataFrame(columns=["name", "status", "current", "created_at"]),
    )


def three_groups() -> tuple[pd.DataFrame, dict[str, int]]:
    """Seven heavy Telegram customers asking about cards and handed over; seven
    one-message web widget customers asking about exchange rates, rating 5; six Slack
    customers topping up, thumbs-down on everything, rating 1."""
    rows: list[dict[str, Any]] = []
    ratings: dict[str, int] = {}
    for n in range(7):
        rows += _turns(f"tg{n}", "telegram", "card_arrival", 7 + n % 4, escalated=True, first=n)
    for n in range(7):
        rows += _turns(f"web{n}", "socketio", "exchange_rate", 1, first=n)
        ratings[f"web{n}"] = 5
    for n in range(6):
        rows += _turns(f"sl{n}", "slack", "top_up", 3 + n % 3, thumbs_down=True, first=n)
        ratings[f"sl{n}"] = 1
    return pd.DataFrame(rows), ratings


def test_obvious_groups_are_found_and_described() -> None:
    outcomes, ratings = three_groups()
    view = segments(outcomes, _frames(outcomes, ratings))
    assert view["segmented"] and view["k"] == 3 and view["customers"] == 20
    assert view["strength"] in {"strong", "reasonable"}
    assert [t["k"] for t in view["tried"]] == list(range(2, 9))
    by_channel = {row["channel"]: row for row in view["segments"]}
    assert {c: r["customers"] for c, r in by_channel.items()} == {
        "telegram": 7, "socketio": 7, "slack": 6,
    }  # fmt: skip
    telegram, web, slack = by_channel["telegram"], by_channel["socketio"], by_channel["slack"]
    assert telegram["escalation_rate"] == 1.0 and telegram["containment"] == 0.0
    assert telegram["top_intents"][0] == {"intent": "card_arrival", "messages": 58, "share": 1.0}
    assert telegram["name"] == "heavy Telegram users asking about card arrival, many hand-overs"
    assert web["containment"] == 1.0 and web["satisfaction"] == 5.0 and web["ratings"] == 7
    assert web["name"].startswith("occasional web widget users asking about exchange rate")
    assert slack["thumbs_down_rate"] == 1.0 and slack["satisfaction"] == 1.0
    assert slack["name"] == "Slack users asking about top up, often thumbs-down, dissatisfied"
    assert [row["number"] for row in view["segments"]] == [1, 2, 3]
    assert view["segments"][-1]["channel"] == "slack"  # largest first


def test_the_result_does_not_depend_on_the_run() -> None:
    outcomes, ratings = three_groups()
    frames = _frames(outcomes, ratings)
    assert segments(outcomes, frames) == segments(outcomes.sample(frac=1, random_state=3), frames)


def test_a_customer_keeps_one_row_across_visits() -> None:
    rows = _turns("tg", "telegram", "card_arrival", 2)
    rows += _turns("tg", "telegram", "top_up", 2, first=5)  # five hours later: a new visit
    rows += _turns("web", "socketio", "top_up", 3, apart=VISIT_GAP / 2)
    table = customer_table(pd.DataFrame(rows), pd.DataFrame(columns=["conversation_id", "score"]),
                           handed_over=set())  # fmt: skip
    assert table.loc["tg", "messages"] == 4 and table.loc["tg", "visits"] == 2
    assert table.loc["tg", "intents"] == {"card_arrival": 2, "top_up": 2}
    assert table.loc["web", "visits"] == 1 and bool(table.loc["web", "contained"])
    features = behaviour_features(table)
    assert list(features.index) == ["tg", "web"]
    assert {"messages (log)", "channel: telegram", "intent: top_up"} <= set(features.columns)
    assert features.abs().max().max() <= 1.0 + 1e-9  # standardised, two customers


def test_too_few_customers_are_not_segmented_and_the_view_says_why() -> None:
    outcomes = pd.DataFrame(
        [r for n in range(MIN_CUSTOMERS - 1) for r in _turns(f"c{n}", "rest", "x", 1 + n)]
    )
    view = segments(outcomes, _frames(outcomes))
    assert not view["segmented"] and view["segments"] == []
    assert view["reason"] == "9 customers in the period; segments need at least 10."


def test_customers_who_all_behave_alike_are_not_segmented() -> None:
    outcomes = pd.DataFrame([r for n in range(12) for r in _turns(f"c{n}", "rest", "x", 2)])
    view = segments(outcomes, _frames(outcomes))
    assert not view["segmented"] and "all behaved alike" in view["reason"]


def test_no_traffic_gives_an_empty_view() -> None:
    outcomes = pd.DataFrame(columns=["conversation_id", "created_at", "kind", "escalated"])
    view = segments(outcomes, _frames(outcomes))
    assert view["customers"] == 0 and not view["segmented"] and view["segments"] == []


def test_the_report_has_segments_and_the_page_shows_them(sample: Engine, tmp_path: Path) -> None:
    report = build_report(sample, SINCE, UNTIL)
    assert report["segments"]["customers"] == 10
    html_path, _ = write_report_files(report, tmp_path / "sample")
    assert "<h2>Customer segments</h2>" in html_path.read_text(encoding="utf-8")


def test_a_quiet_period_has_no_segments_and_the_page_says_so(empty: Engine, tmp_path: Path) -> None:
    quiet = build_report(empty, SINCE, UNTIL)
    html_path, _ = write_report_files(quiet, tmp_path / "empty")
    assert "No data for this view: no customers in the period." in html_path.read_text(
        encoding="utf-8"
    )
