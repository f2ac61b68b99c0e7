"""The report's figures on the hand-made database of conftest.py, computed by hand.

Fifteen bot turns in ten conversations (t1..t13, t1b, t12b); c0 is before the period.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine

from gapdesk.reports import breakdowns, model_views, views
from gapdesk.reports.frames import Frames, load_frames
from gapdesk.reports.outcomes import annotate_turns, rephrased
from tests.gapdesk.reports.conftest import SCRIPT, SINCE, UNTIL, sample_engine


@pytest.fixture
def frames(sample: Engine) -> Frames:
    return load_frames(sample, SINCE, UNTIL)


@pytest.fixture
def outcomes(frames: Frames) -> pd.DataFrame:
    return annotate_turns(frames)


def test_only_the_periods_rows_are_read(frames: Frames) -> None:
    bot = frames.turns[frames.turns["kind"] == "bot"]
    assert len(bot) == 15  # t0 of c0 (10-30) is before the period
    assert len(frames.turns) == 17  # and the two agent replies (c4, c5)
    assert set(bot["conversation_id"]) == {f"c{i}" for i in range(1, 11)}
    # c0's thumbs-down and rating 1 are outside; 3 ratings and 4 thumbs inside.
    assert sorted(frames.feedback["rating"]) == ["2", "3", "5", "down", "down", "up", "up"]
    assert str(frames.turns["created_at"].dt.tz) == "UTC"


def test_volume_per_day_and_channel(outcomes: pd.DataFrame) -> None:
    volume = views.volume(outcomes)
    assert (volume["messages"], volume["conversations"]) == (15, 10)
    # 11-02: t10, t1, t1b, t2 (c7, c1, c2); 11-03: t3 t4 t5 t6; 11-04: t7 t8 t9;
    # 11-05: t11 t12 t12b; 11-06: t13.
    assert [(d["date"][5:], d["messages"], d["conversations"]) for d in volume["per_day"]] == [
        ("11-02", 4, 3), ("11-03", 4, 2), ("11-04", 3, 2), ("11-05", 3, 2), ("11-06", 1, 1),
    ]  # fmt: skip
    assert volume["per_channel"] == [
        {"channel": "socketio", "messages": 8, "conversations": 6},
        {"channel": "telegram", "messages": 4, "conversations": 2},
        {"channel": "rest", "messages": 3, "conversations": 2},
    ]


def test_containment(frames: Frames, outcomes: pd.DataFrame) -> None:
    # 10 conversations; a person came into c4, c5, c10; c2 and c8 had a thumbs-down.
    # Contained: c1, c3, c6, c7, c9 = 5 of 10.
    assert views.containment(outcomes, frames) == {
        "conversations": 10,
        "contained": 5,
        "rate": 0.5,
        "handed_over": 3,
        "thumbs_down_without_hand_over": 2,
    }


def test_escalation_rate_and_precision(frames: Frames, outcomes: pd.DataFrame) -> None:
    # Hand-overs t6 (asked for a person), t7, t13 of 15 bot turns: 0.2. Judged: t6 a
    # real gap, t7 needless; t13 not judged. Precision 1 / 2.
    figures = views.escalation(outcomes, frames)
    assert figures == {
        "bot_turns": 15,
        "hand_overs": 3,
        "rate": 0.2,
        "asked_for_human": 1,
        "conversations": 10,
        "conversations_handed_over": 3,
        "judged": 2,
        "real_gaps": 1,
        "needless": 1,
        "precision": 0.5,
        "statuses": {"handed_back": 1, "open": 1, "resolved": 1},
    }


def test_missed_gaps_are_the_union_of_four_signals(outcomes: pd.DataFrame) -> None:
    # 11 answers: t1 t1b t2 t3 t4 t5 t9 t10 t11 t12 t12b. Missed: t2 and t11 (thumbs-down),
    # t10 (labelled gap), t3 (t4 rephrases it 2 min later), t5 (t6 hands over 1 min
    # later). Not missed: t1 (rephrased by t1b, but had a thumbs-up), t4 (labelled gap,
    # then "no gap": the newest counts), t12 (t12b is similar but 30 min later).
    figures = views.missed_gaps(outcomes)
    assert figures == {
        "answered": 11,
        "missed": 5,
        "rate": round(5 / 11, 4),
        "signals": {"thumbs_down": 2, "labelled_gap": 1, "rephrased": 1, "handed_over": 1},
    }
    turns = outcomes.set_index("customer_text")
    assert bool(turns.loc["where is my card", "rephrased_after"])  # seen, but vouched for
    assert not bool(turns.loc["where is my card", "missed_gap"])


def test_rephrase_rule() -> None:
    assert rephrased("exchange rate for dollars please", "exchange rate for dollars")
    assert not rephrased("can I get a mortgage", "I want to talk to a person")
    assert not rephrased("thanks", "thanks")  # two shared words of 4+ letters needed
    assert not rephrased(None, "exchange rate for dollars")


def test_by_intent_worst_first(outcomes: pd.DataFrame) -> None:
    # Gap turns: exchange_rate t3, t11 of t3 t4 t7 t11 (t7 handed over but labelled no
    # gap); card_arrival t5, t8 of t1 t1b t5 t8 t9; loan t13, request_human t6, top_up t2
    # of one each; freeze_card t10 of t10 t12 t12b.
    rows = breakdowns.by_intent(outcomes)
    assert [(r["intent"], r["turns"], r["gap_turns"], r["gap_rate"]) for r in rows] == [
        ("exchange_rate", 4, 2, 0.5), ("card_arrival", 5, 2, 0.4), ("loan", 1, 1, 1.0),
        ("request_human", 1, 1, 1.0), ("top_up", 1, 1, 1.0), ("freeze_card", 3, 1, 0.3333),
    ]  # fmt: skip
    card = rows[1]
    assert (card["thumbs_up"], card["thumbs_down"], card["hand_overs"]) == (2, 0, 0)
    assert card["examples"] == [SCRIPT, "can I get a mortgage", "card arrival"]  # failed first


def test_by_answer_worst_first(outcomes: pd.DataFrame) -> None:
    rows = breakdowns.by_answer(outcomes)
    assert [(r["answer"], r["answers"], r["missed_gaps"], r["missed_rate"]) for r in rows] == [
        ("exchange_rate", 3, 2, 0.6667), ("top_up", 1, 1, 1.0),
        ("freeze_card", 3, 1, 0.3333), ("card_arrival", 4, 1, 0.25),
    ]  # fmt: skip


def test_examples_are_redacted_and_short() -> None:
    turns = pd.DataFrame(
        {
            "customer_text": ["my card 4111 1111 1111 1111 broke", "x" * 300, None],
            "created_at": pd.to_datetime(["2026-11-02", "2026-11-03", "2026-11-04"], utc=True),
        }
    )
    shown = breakdowns.examples(turns, pd.Series([True, False, False]))
    assert "4111" not in shown[0]
    assert len(shown[1]) == breakdowns.EXAMPLE_CHARACTERS and shown[1].endswith("…")
    assert len(shown) == 2


def test_satisfaction(frames: Frames) -> None:
    # Ratings 2 (c7) and 5 (c1) on 11-02, 3 (c8) on 11-05; c0's 1 is before the period.
    assert views.satisfaction(frames) == {
        "ratings": 3,
        "mean": 3.3333,
        "distribution": {"1": 0, "2": 1, "3": 1, "4": 0, "5": 1},
        "per_day": [
            {"date": "2026-11-02", "ratings": 2, "mean": 3.5},
            {"date": "2026-11-05", "ratings": 1, "mean": 3.0},
        ],
    }


def test_waiting_times(frames: Frames) -> None:
    # Waits 4 and 30 min (median 17, p90 4 + 0.9 * 26 = 27.4); first responses 6 and 40
    # min (median 23, p90 6 + 0.9 * 34 = 36.6); c10's escalation is still open.
    assert views.waiting_times(frames) == {
        "escalations": 3,
        "claimed": 2,
        "answered": 2,
        "unanswered": 1,
        "wait_minutes": {"median": 17.0, "p90": 27.4},
        "first_response_minutes": {"median": 23.0, "p90": 36.6},
    }


def test_reliability_of_the_serving_version(frames: Frames, outcomes: pd.DataFrame) -> None:
    # v2 (gap-new) is current. Its labelled turns: t4 .42 no gap, t7 .85 no gap, t8 .62
    # gap (t6 is unscored, t10 was scored by gap-old). One per bin:
    # ECE = (|0 - .42| + |1 - .62| + |0 - .85|) / 3 = 1.65 / 3 = 0.55.
    figures = model_views.reliability(outcomes, frames)
    assert (figures["version"], figures["registry_names"]) == ("gap-new", ["v2"])
    assert (figures["labels"], figures["ece"], figures["version_source"]) == (3, 0.55, "registry")
    assert [(b["turns"], b["mean_predicted"], b["observed"]) for b in figures["bins"]] == [
        (1, 0.42, 0.0), (1, 0.62, 1.0), (1, 0.85, 0.0),
    ]  # fmt: skip


def test_model_versions_side_by_side(frames: Frames, outcomes: pd.DataFrame) -> None:
    # gap-old: t10 only (missed: labelled gap); c7's rating 2. gap-new: 10 scored turns,
    # hand-overs t7 t13, answers t1 t1b t2 t3 t4 t5 t9 of which t2 t3 t5 missed; c1's 5.
    old, new = model_views.model_versions(outcomes, frames)
    assert (old["version"], old["registry_names"], old["serving"]) == ("gap-old", ["v1"], False)
    assert (old["bot_turns"], old["missed_rate"], old["satisfaction"]) == (1, 1.0, 2.0)
    assert (new["version"], new["serving"], new["bot_turns"]) == ("gap-new", True, 10)
    assert (new["hand_overs"], new["escalation_rate"]) == (2, 0.2)
    assert (new["answered"], new["missed_gaps"], new["missed_rate"]) == (7, 3, 0.4286)
    assert (new["ratings"], new["satisfaction"]) == (1, 5.0)


def test_control_group_against_scored_traffic(frames: Frames, outcomes: pd.DataFrame) -> None:
    # Control: c8 (t11, thumbs-down, rating 3), c9 (t12, t12b). Scored: the other 8.
    # Scored: 12 bot turns, hand-overs t6 t7 t13 (0.25); answers t1 t1b t2 t3 t4 t5 t9 t10,
    # missed t2 t3 t5 t10 (0.5); contained c1 c3 c6 c7 of 8; ratings 5 and 2.
    figures = model_views.control_group(outcomes, frames)
    assert figures["both_ran"] is True
    assert figures["off"] == {
        "conversations": 2, "bot_turns": 3, "hand_overs": 0, "escalation_rate": 0.0,
        "answered": 3, "missed_gaps": 1, "missed_rate": 0.3333, "thumbs_down": 1,
        "containment": 0.5, "ratings": 1, "satisfaction": 3.0,
    }  # fmt: skip
    assert figures["scored"] == {
        "conversations": 8, "bot_turns": 12, "hand_overs": 3, "escalation_rate": 0.25,
        "answered": 8, "missed_gaps": 4, "missed_rate": 0.5, "thumbs_down": 1,
        "containment": 0.5, "ratings": 2, "satisfaction": 3.5,
    }  # fmt: skip


def test_the_same_figures_on_sqlite_and_postgresql(database_url: str) -> None:
    engine = sample_engine(database_url)
    try:
        frames = load_frames(engine, SINCE, UNTIL)
        outcomes = annotate_turns(frames)
        assert views.containment(outcomes, frames)["rate"] == 0.5
        assert views.escalation(outcomes, frames)["precision"] == 0.5
        assert views.missed_gaps(outcomes)["missed"] == 5
        assert views.waiting_times(frames)["wait_minutes"] == {"median": 17.0, "p90": 27.4}
        assert model_views.reliability(outcomes, frames)["ece"] == 0.55
    finally:
        engine.dispose()
