"""``gapdesk demo traffic`` against the real bot: real messages land as turns and in the report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gapdesk.demo.traffic import load_messages, plan_conversations, send_traffic
from gapdesk.reports.build import build_report
from gapmodel.redaction import redact
from tests.e2e.conftest import ROOT, RunningBot

pytestmark = pytest.mark.e2e


def test_demo_traffic_lands_in_the_database_and_the_report(bot: RunningBot) -> None:
    started = datetime.now(UTC) - timedelta(minutes=1)
    bank, shop = load_messages(ROOT)
    run = uuid.uuid4().hex[:6]
    planned = plan_conversations(bank, shop, messages=8, conversations=3, seed=7, run=run)
    lines: list[str] = []
    result = send_traffic(bot.client, planned, progress=lines.append)
    assert result.conversations == 3 and result.messages >= 8 and len(lines) == 3
    assert result.replies >= result.messages  # the bot answered every message
    assert [c.id for c in planned] == [f"demo-{run}-{n:04d}" for n in (1, 2, 3)]
    for conversation in planned:
        stored = bot.conversation(conversation.id, turns=1)
        assert stored["channel"] == "rest"
        assert stored["turns"][0]["customer_text"] == redact(conversation.messages[0])
    report = build_report(bot.store.engine, started, datetime.now(UTC) + timedelta(minutes=1))
    assert report["volume"]["messages"] >= 3
    assert report["segments"]["customers"] >= 3
