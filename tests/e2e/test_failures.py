"""When a part fails, the customer still gets a clear answer and nothing is lost."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import BotFactory
from tests.e2e.words import TECHNICAL_PROBLEM

pytestmark = pytest.mark.e2e


def test_action_server_down_gives_an_apology_and_logs_it(start_bot: BotFactory) -> None:
    bot = start_bot()
    bot.service("action server").stop()
    replies = bot.say("e2e-actions-down", "my card still hasn't arrived")
    assert len(replies) == 1
    assert "technical problem" in replies[0]["text"]
    log = (bot.log_dir / "rasa.log").read_text(encoding="utf-8", errors="replace")
    assert "action server down or failing" in log


def test_database_outage_never_silences_the_bot_and_loses_nothing(
    start_bot: BotFactory, postgres_url: str
) -> None:
    """The bot answers while its database is missing; the turns arrive once it is back."""
    from sqlalchemy import create_engine, text

    from gapdesk.storage.migrate import upgrade
    from tests.conftest import POSTGRES_ADMIN_URL

    missing = postgres_url + "_later"
    bot = start_bot(prepare_database=False, database_url=missing)
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        for text_ in ("my card still hasn't arrived", "how do I top up by card"):
            assert bot.say("e2e-db-down", text_), "the bot must answer without its database"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{missing.rsplit("/", 1)[1]}"'))
        upgrade(missing)
        conversation = bot.conversation("e2e-db-down", turns=2, timeout=30)
        assert [t["customer_text"] for t in conversation["turns"]] == [
            "my card still hasn't arrived",
            "how do I top up by card",
        ]
        log = (bot.log_dir / "actions.log").read_text(encoding="utf-8", errors="replace")
        assert "kept in" in log and "for retry" in log
    finally:
        bot.stop()
        with admin.connect() as connection:
            connection.execute(
                text(f'DROP DATABASE IF EXISTS "{missing.rsplit("/", 1)[1]}" WITH (FORCE)')
            )


def test_action_server_down_in_the_middle_of_a_form_gives_an_apology(
    start_bot: BotFactory,
) -> None:
    bot = start_bot()
    asks = bot.say("e2e-form-down", "please freeze my card")
    assert "last four digits" in asks[-1]["text"]
    bot.service("action server").stop()
    replies = bot.say("e2e-form-down", "4821")
    assert [r["text"] for r in replies] == [TECHNICAL_PROBLEM]
