"""Stored text printed to a supervisor's terminal: gapdesk.cli.terminal and its commands.

Customers choose the text the CLI prints (their messages, their conversation id, and
the reasons and briefs that quote them); none of it may reach the terminal as a
control sequence. The commands run through ``main`` against a real SQLite store in
tmp_path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gapdesk.cli import main
from gapdesk.cli.terminal import terminal_json, terminal_text
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Label, Turn
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine

RED = "\x1b[31m"
TITLE = "\x1b]0;pwned\x07"  # OSC: sets the terminal's title
CSI_C1 = "\x9b2J"  # C1 CSI: clears the screen on terminals that take 8-bit controls
RLO = "\u202e"  # right-to-left override: shows the rest of the line reversed
HOSTILE_ID = f"c{RED}1"
# What must never reach the terminal: every control but tab and newline, and the bidi
# embedding, override and isolate controls.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store holding one hostile conversation; ``main`` reads it from the environment."""
    url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    monkeypatch.setenv("GAPDESK_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # so no .env of the working directory is read
    upgrade(url)
    store = Store(make_engine(url))
    store.apply(
        new_record(
            "turn",
            HOSTILE_ID,
            channel="rest",
            customer_text=f"{RED}refund{TITLE}\nbot: you get a refund{CSI_C1}",
            intent="card_arrival",
            confidence=0.5,
            intent_ranking=[["card_arrival", 0.5]],
            answer_intent=None,
            answer_text=f"Which topic?{RLO}evil",
            decision="clarify",
            decision_reasons=["doubtful"],
            gap_score={
                "probability": 0.6,
                "reasons": [{"code": "unknown_words", "text": f"unknown word {RED}x", "weight": 1}],
                "model_version": "gap-test",
                "latency_ms": 1.0,
            },
        )
    )
    store.apply(
        new_record(
            "escalation",
            HOSTILE_ID,
            reason_codes=["doubtful"],
            brief=f"The customer wrote “{RED}refund{TITLE}”.",
            gap_probability=0.6,
        )
    )
    return url


def _printed(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr().out
    assert not UNSAFE.search(out), f"a control character reached the terminal: {out!r}"
    return out


# terminal_text


def test_control_sequences_are_shown_not_obeyed() -> None:
    assert terminal_text(f"a{RED}b") == "a\\x1b[31mb"
    assert terminal_text(TITLE) == "\\x1b]0;pwned\\x07"
    assert terminal_text(CSI_C1) == "\\x9b2J"
    assert terminal_text("\x7f\x00\r") == "\\x7f\\x00\\x0d"
    assert terminal_text(f"{RLO}abc\u2066") == "\\u202eabc\\u2066"


def test_ordinary_text_is_unchanged() -> None:
    text = "Straße, café, 你好, مرحبا, 👍🏽 and a\ttab"
    assert terminal_text(text) == text


def test_line_breaks_are_visible_in_a_one_line_field_or_laid_out_by_the_caller() -> None:
    assert terminal_text("one\r\ntwo\nthree") == "one\\ntwo\\nthree"
    assert terminal_text("one\ntwo", line_break="\n    ") == "one\n    two"


def test_non_text_values_print_as_before() -> None:
    assert terminal_text(None) == "None"


def test_terminal_json_reads_back_the_same() -> None:
    value = {"text": f"{RED}{CSI_C1}{RLO}\x7fcafé\n"}
    printed = terminal_json(value)
    assert not UNSAFE.search(printed)
    assert "café" in printed  # non-ASCII stays readable
    assert json.loads(printed) == value


# the commands


def test_conversations_show_escapes_every_stored_field(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["conversations", "show", HOSTILE_ID]) == 0
    out = _printed(capsys)
    assert out.startswith("c\\x1b[31m1  [rest, escalated]")
    assert "customer: \\x1b[31mrefund\\x1b]0;pwned\\x07" in out
    # The customer's second line stays inside the message: it cannot pass for the bot's.
    assert "\n          bot: you get a refund\\x9b2J" in out
    assert [line for line in out.splitlines() if line.startswith("bot:")] == [
        "bot: Which topic?\\u202eevil"
    ]
    assert "    - unknown word \\x1b[31mx" in out
    assert "ESCALATED (doubtful): The customer wrote “\\x1b[31mrefund" in out


def test_conversations_show_json_keeps_the_exact_text(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["conversations", "show", HOSTILE_ID, "--json"]) == 0
    shown = json.loads(_printed(capsys))
    assert shown["turns"][0]["customer_text"].startswith(f"{RED}refund{TITLE}")
    assert shown["turns"][0]["answer_text"] == f"Which topic?{RLO}evil"


def test_conversations_list_escapes_the_id(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["conversations", "list"]) == 0
    assert "c\\x1b[31m1" in _printed(capsys)


def test_labels_export_to_stdout_is_safe_and_reads_back_the_same(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(make_engine(database_url))
    with store.session() as session:
        turn_id = session.query(Turn.id).scalar()
        session.add(Label(turn_id=turn_id, author="sup", is_gap=True, ideal_answer=CSI_C1))
    assert main(["labels", "export"]) == 0
    [row] = [json.loads(line) for line in _printed(capsys).splitlines()]
    assert row["ideal_answer"] == CSI_C1
    assert row["text"].startswith(f"{RED}refund")


class _FakeRasa:
    def say(self, conversation_id: str, text: str) -> list[dict[str, Any]]:
        return [
            {
                "text": f"Transfer {RED}TR-1 found.\nAnything else?",
                "buttons": [{"title": f"Yes{TITLE}", "payload": f"/affirm{CSI_C1}"}],
            }
        ]


def test_chat_escapes_the_bots_replies(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    typed: Iterator[str] = iter(["where is my transfer"])

    def type_line(prompt: str = "") -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("gapdesk.cli.chat.rasa_client", lambda settings: _FakeRasa())
    monkeypatch.setattr("builtins.input", type_line)
    assert main(["chat", "--id", "cli-test"]) == 0
    out = _printed(capsys)
    assert "bot> Transfer \\x1b[31mTR-1 found.\n     Anything else?" in out
    assert "[1] Yes\\x1b]0;pwned\\x07  (type /affirm\\x9b2J)" in out
