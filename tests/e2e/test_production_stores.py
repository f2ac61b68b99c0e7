"""The production path: gapdesk's database and Rasa's trackers in PostgreSQL, locks in Redis."""

from __future__ import annotations

import concurrent.futures

import pytest
import redis
from sqlalchemy import create_engine, text

from tests.e2e.conftest import BotFactory

pytestmark = pytest.mark.e2e


def test_bot_on_postgresql_and_redis(
    start_bot: BotFactory,
    postgres_url: str,
    redis_available: None,
) -> None:
    client = redis.Redis(host="127.0.0.1", port=6379)
    set_calls_before = client.info("commandstats").get("cmdstat_set", {}).get("calls", 0)
    bot = start_bot(
        database_url=postgres_url,
        tracker_store_url=postgres_url,
        lock_store_url="redis://127.0.0.1:6379/1",
        lock_store_prefix=f"e2e{abs(hash(postgres_url))}",
    )
    try:
        messages = ["my card still hasn't arrived", "how do I top up by bank transfer", "thanks"]
        with concurrent.futures.ThreadPoolExecutor(len(messages)) as pool:
            replies = list(pool.map(lambda m: bot.say("e2e-pg", m), messages))
        assert all(replies), "every message got an answer"

        conversation = bot.conversation("e2e-pg", turns=len(messages))
        assert {t["customer_text"] for t in conversation["turns"]} == set(messages)

        with create_engine(postgres_url).connect() as connection:
            user_events = connection.execute(
                text(
                    "SELECT count(*) FROM events WHERE sender_id = 'e2e-pg' AND type_name = 'user'"
                )
            ).scalar_one()
        assert user_events == len(messages), "Rasa's tracker lives in PostgreSQL"

        set_calls_after = client.info("commandstats").get("cmdstat_set", {}).get("calls", 0)
        assert set_calls_after - set_calls_before >= len(messages), "Rasa locked in Redis"
    finally:
        bot.stop()
