"""Unmet needs: which messages count, their topics with volume and trend, and the draft.

The period is conftest.py's week (2026-11-02 to 11-09); its middle is 11-05 12:00.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from gapdesk.cli import main
from gapdesk.datasets import read_rasa_nlu
from gapdesk.engine.project import Project
from gapdesk.reports import unmet_needs
from gapdesk.reports.frames import load_frames
from gapdesk.reports.outcomes import annotate_turns
from gapdesk.reports.unmet_needs import (
    OUT_OF_SCOPE_REASONS,
    describe,
    find_need_topics,
    trend,
    unmet_messages,
    write_draft,
)
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Label, Turn
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine
from gapmodel import reasons
from gapmodel.errors import ConfigurationError
from tests.gapdesk.reports.conftest import SINCE, UNTIL, at
from tests.gapdesk.test_topics import CLOSE_ACCOUNT, EXCHANGE, LOST_CARD

OOS = [{"code": "like_out_of_scope", "text": "resembles questions ...", "weight": 1.2}]
LOW = [{"code": "low_confidence", "text": "only 30 % sure", "weight": 0.8}]


class Traffic:
    """Writes turns, thumbs and labels as the action server and the console do."""

    def __init__(self, engine: Engine) -> None:
        self.store = Store(engine)
        self.uids: dict[str, str] = {}

    def turn(
        self,
        conversation: str,
        when: str,
        text: str,
        decision: str,
        decision_reasons: Sequence[str] = (),
        gap_reasons: list[dict[str, Any]] | None = None,
    ) -> str:
        score = None if gap_reasons is None else {"probability": 0.8, "reasons": gap_reasons,
                                                  "model_version": "gap-new"}  # fmt: skip
        record = new_record(
            "turn", conversation, channel="socketio", created_at=at(when).isoformat(),
            customer_text=text, intent="card_arrival", confidence=0.3, decision=decision,
            decision_reasons=list(decision_reasons), gap_score=score,
            intent_ranking=[["card_arrival", 0.3], ["top_up", 0.2]],
        )  # fmt: skip
        self.store.apply(record)
        self.uids[text] = record["uid"]
        return text

    def thumbs_down(self, conversation: str, text: str, reason: str) -> None:
        self.store.apply(
            new_record(
                "feedback", conversation, turn_uid=self.uids[text], rating="down", reason=reason
            )  # fmt: skip
        )

    def label(self, text: str, intent: str, when: str) -> None:
        with self.store.session() as session:
            turn_id = session.scalar(select(Turn.id).where(Turn.uid == self.uids[text]))
            session.add(Label(turn_id=turn_id, author="ana", is_gap=True, correct_intent=intent,
                              created_at=at(when)))  # fmt: skip


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _unmet(engine: Engine) -> pd.DataFrame:
    frames = load_frames(engine, SINCE, UNTIL)
    return unmet_messages(annotate_turns(frames), frames)


def test_the_four_cases_and_what_is_not_one(engine: Engine) -> None:
    t = Traffic(engine)
    # Handed over as out of scope: by the gap model's reasons, or no answer for the intent.
    t.turn("a1", "11-02 09:00", "what's the weather in lisbon", "escalate", ["high_gap"], OOS)
    t.turn("a2", "11-02 09:00", "do you sell insurance", "escalate",
           ["no_answer", "repeated_failure"], LOW)  # fmt: skip
    t.turn("a3", "11-02 09:00", "card thing", "escalate", ["high_gap"], LOW)  # not out of scope
    t.turn("a4", "11-02 09:00", "get me a person, weather", "escalate", ["asked_for_human"])
    # Labelled out of scope (the newest label counts).
    t.turn("b1", "11-03 09:00", "can I buy bitcoin", "answer", [], LOW)
    t.label("can I buy bitcoin", "out_of_scope", "11-03 10:00")
    t.turn("b2", "11-03 09:00", "can I get a loan", "answer", [], LOW)
    t.label("can I get a loan", "out_of_scope", "11-03 10:00")
    t.label("can I get a loan", "loan_request", "11-04 10:00")  # changed its mind
    # Clarified, then (after another clarification) handed over within ten minutes each.
    t.turn("c1", "11-04 10:00", "mortgage rates?", "clarify", ["doubtful"], LOW)
    t.turn("c1", "11-04 10:02", "mortgage rates for a house", "clarify", ["doubtful"], LOW)
    t.turn("c1", "11-04 10:03", "I want to talk to a person", "escalate", ["asked_for_human"])
    t.turn("c2", "11-04 10:00", "pension advice", "clarify", ["doubtful"], LOW)
    t.turn("c2", "11-04 10:30", "a person please", "escalate", ["asked_for_human"])  # too late
    t.turn("c3", "11-04 10:00", "card limit", "clarify", ["doubtful"], LOW)
    t.turn("c3", "11-04 10:01", "card limit abroad", "answer", [], LOW)  # answered between
    t.turn("c3", "11-04 10:02", "a person now", "escalate", ["asked_for_human"])
    # "It answered a different question"; a thumbs-down for another reason is not one.
    t.turn("d1", "11-06 09:00", "how do I pay my phone bill", "answer", [], LOW)
    t.thumbs_down("d1", "how do I pay my phone bill", "wrong_topic")
    t.turn("d2", "11-06 09:00", "how do I top up", "answer", [], LOW)
    t.thumbs_down("d2", "how do I top up", "incomplete")
    # Two cases at once: one message, counted once.
    t.turn("e1", "11-07 09:00", "sell me a car", "escalate", ["high_gap"], OOS)
    t.label("sell me a car", "out_of_scope", "11-07 10:00")

    unmet = _unmet(engine)
    assert dict(zip(unmet["customer_text"], unmet["cases"], strict=True)) == {
        "what's the weather in lisbon": ["out_of_scope_hand_over"],
        "do you sell insurance": ["out_of_scope_hand_over"],
        "can I buy bitcoin": ["labelled_out_of_scope"],
        "mortgage rates?": ["clarified_then_handed_over"],
        "mortgage rates for a house": ["clarified_then_handed_over"],
        "how do I pay my phone bill": ["different_question"],
        "sell me a car": ["out_of_scope_hand_over", "labelled_out_of_scope"],
    }
    frames = load_frames(engine, SINCE, UNTIL)
    view = describe(find_need_topics(annotate_turns(frames), frames))
    assert view["messages"] == 7
    assert view["cases"] == {
        "out_of_scope_hand_over": 3,
        "labelled_out_of_scope": 2,
        "clarified_then_handed_over": 2,
        "different_question": 1,
    }
    assert view["min_topic_size"] == 5


def test_the_out_of_scope_reason_codes_are_the_gap_models() -> None:
    codes = {template.code for template in reasons._REASONS.values()}
    assert codes >= OUT_OF_SCOPE_REASONS


def test_trend_words() -> None:
    assert [trend(0, 3), trend(2, 5), trend(5, 2), trend(3, 3), trend(0, 0)] == [
        "new", "rising", "falling", "steady", "steady",
    ]  # fmt: skip


def _three_topics(engine: Engine) -> None:
    """Exchange rates all in the first half (falling), close account half and half
    (steady), lost cards all in the second half (new); each by another case."""
    t = Traffic(engine)
    for i, text in enumerate(EXCHANGE):
        t.turn(f"x{i}", f"11-02 {10 + i}:00", text, "escalate", ["high_gap"], OOS)
    for i, text in enumerate(CLOSE_ACCOUNT):
        t.turn(f"k{i}", f"11-0{3 if i < 5 else 7} {10 + i}:00", text, "answer", [], LOW)
        t.label(text, "out_of_scope", "11-08 09:00")
    for i, text in enumerate(LOST_CARD):
        t.turn(f"l{i}", f"11-06 {10 + i}:00", text, "answer", [], LOW)
        t.thumbs_down(f"l{i}", text, "wrong_topic")


@pytest.fixture
def by_true_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Message vectors made by hand, one axis per true topic: the clusters are known."""
    axis = {text.lower(): n for n, group in enumerate([EXCHANGE, CLOSE_ACCOUNT, LOST_CARD])
            for text in group}  # fmt: skip

    def vectors(texts: Sequence[str], dimensions: int) -> tuple[np.ndarray, str]:
        axes = [axis.get(t.lower(), 3) for t in texts]  # 3: any other message
        rows = (
            np.eye(4)[axes]
            + 0.001
            * np.array(
                [axes[:k].count(a) for k, a in enumerate(axes)]  # n-th message on its axis
            )[:, None]
        )
        return rows / np.linalg.norm(rows, axis=1)[:, None], "by hand"

    monkeypatch.setattr(unmet_needs, "message_vectors", vectors)


def test_topics_with_volume_trend_examples_and_the_draft_command(
    engine: Engine, by_true_topic: None
) -> None:
    _three_topics(engine)
    frames = load_frames(engine, SINCE, UNTIL)
    view = describe(find_need_topics(annotate_turns(frames), frames))
    assert (view["messages"], view["clustered"], view["unclustered"]) == (30, 30, 0)
    assert view["vectors"] == "by hand"
    middle = datetime(2026, 11, 5, 12, tzinfo=UTC)
    assert view["halves"] == {"first": [SINCE, middle], "second": [middle, UNTIL]}
    topics = view["topics"]  # equal sizes: in order of their first message
    assert [(t["number"], t["messages"], t["first_half"], t["second_half"], t["trend"])
            for t in topics] == [(1, 10, 10, 0, "falling"), (2, 10, 5, 5, "steady"),
                                 (3, 10, 0, 10, "new")]  # fmt: skip
    assert "exchange" in topics[0]["name"] and "account" in topics[1]["name"]
    assert "card" in topics[2]["name"] or "stolen" in topics[2]["name"]
    assert topics[0]["cases"]["out_of_scope_hand_over"] == 10
    assert topics[1]["cases"]["labelled_out_of_scope"] == 10
    assert topics[2]["cases"]["different_question"] == 10
    for topic, texts in zip(topics, [EXCHANGE, CLOSE_ACCOUNT, LOST_CARD], strict=True):
        assert len(topic["examples"]) == 5 and set(topic["examples"]) <= set(texts)
    assert topics[2]["draft_command"] == (
        "gapdesk needs draft --since 2026-11-02T00:00:00+00:00 "
        "--until 2026-11-09T00:00:00+00:00 --topic 3"
    )


def test_a_topic_becomes_a_draft_that_training_does_not_read(
    engine: Engine, by_true_topic: None, tmp_path: Path
) -> None:
    _three_topics(engine)
    frames = load_frames(engine, SINCE, UNTIL)
    found = find_need_topics(annotate_turns(frames), frames)
    project = Project(root=tmp_path / "bot")
    (project.root / project.nlu).mkdir(parents=True)
    (project.root / project.nlu / "bank.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hello\n'
    )
    before = project.nlu_files(), project.rasa_inputs(), project.crossval_inputs()
    path = write_draft(found, 1, project.root / project.drafts)
    assert path.parent == project.root / "data" / "nlu" / "drafts"
    rows = read_rasa_nlu([path])
    assert sorted(r.text for r in rows) == sorted(EXCHANGE)
    assert len({r.label for r in rows}) == 1
    assert (project.nlu_files(), project.rasa_inputs(), project.crossval_inputs()) == before
    with pytest.raises(ConfigurationError, match="exists"):
        write_draft(found, 1, project.root / project.drafts)
    assert write_draft(found, 1, project.root / project.drafts, overwrite=True) == path
    with pytest.raises(ConfigurationError, match="no topic 4: the period has 3 topics"):
        write_draft(found, 4, project.root / project.drafts)


def test_the_needs_commands(
    engine: Engine,
    by_true_topic: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _three_topics(engine)
    monkeypatch.chdir(tmp_path)  # so no .env of the working directory is read
    monkeypatch.setenv("GAPDESK_DATABASE_URL", str(engine.url))
    period = ["--since", "2026-11-02", "--until", "2026-11-08"]
    assert main(["needs", "list", *period]) == 0
    listed = capsys.readouterr().out
    assert "30 unmet messages" in listed and "in 3 topics" in listed
    assert "  3. " in listed and "(10 messages, 0 -> 10: new)" in listed
    assert main(["needs", "draft", *period, "--topic", "2"]) == 0
    [draft] = (tmp_path / "data" / "nlu" / "drafts").glob("*.yml")
    assert sorted(r.text for r in read_rasa_nlu([draft])) == sorted(CLOSE_ACCOUNT)
    assert main(["needs", "draft", *period, "--topic", "9"]) == 2
    assert "no topic 9" in capsys.readouterr().err


def test_the_report_has_a_section_for_them(engine: Engine, by_true_topic: None) -> None:
    from gapdesk.reports.build import build_report
    from gapdesk.reports.render import render_html

    traffic = Traffic(engine)
    for i in range(6):  # a fourth topic, of messages with markup in them
        traffic.turn(f"z{i}", "11-08 09:00", f"<b>weather</b> in lisbon {i}?", "escalate",
                     ["high_gap"], OOS)  # fmt: skip
    _three_topics(engine)
    report = build_report(engine, SINCE, UNTIL)
    assert report["unmet_needs"]["messages"] == 36
    assert [t["messages"] for t in report["unmet_needs"]["topics"]] == [10, 10, 10, 6]
    html = render_html(report)
    assert "<h2>Unmet needs</h2>" in html
    assert "gapdesk needs draft --since 2026-11-02T00:00:00+00:00" in html
    assert "&lt;b&gt;weather&lt;/b&gt; in lisbon" in html
    assert "<b>weather" not in html
