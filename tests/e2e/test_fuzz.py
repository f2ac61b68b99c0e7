"""Hostile input on every public endpoint of the real bot.

One bot with every messaging channel connected (a stand-in Telegram Bot API on
loopback; Twilio's and Slack's replies cannot leave the machine) gets the fuzz
generator's probes for a fixed seed, the same ones ``gapdesk benchmark fuzz`` sends:
REST and callback webhooks, socket.io, Telegram, Twilio and Slack posts signed as the
providers sign, the console's sign-in, reply, label and hand-back forms. Its
message-size limit is set low, so that the setting is seen to reach Rasa.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from gapdesk.bench.fuzz import CHANNELS, CONSOLE, MALFORMED, MESSAGE, probes
from gapdesk.bench.fuzz_run import Fuzzer, Outcome, messaging_channels
from gapdesk.bench.stand_ins import StandInTelegram
from tests.e2e.conftest import BotFactory, RunningBot

pytestmark = pytest.mark.e2e

SEED = 16
COUNT = 500  # 50 per endpoint: about a minute and a half on 2 cores, after the start
LIMIT = 300  # GAPDESK_MAX_MESSAGE_CHARS of this bot
TOO_LONG = f"Please shorten it to {LIMIT} characters"


@dataclass
class Fuzzed:
    bot: RunningBot
    fuzzer: Fuzzer
    outcomes: list[Outcome]
    crashed: list[str]

    def failing(self, *failures: str) -> list[tuple[str, str, int | None, str]]:
        return [
            (o.probe.endpoint, o.probe.category, o.status, o.detail[:160])
            for o in self.outcomes
            if o.failure in failures
        ]


@pytest.fixture(scope="module")
def fuzzed(start_bot: BotFactory) -> Iterator[Fuzzed]:
    with StandInTelegram() as telegram:
        bot = start_bot(max_message_chars=LIMIT, **messaging_channels(telegram.url))
        fuzzer = Fuzzer(bot.settings, bot.services)
        try:
            outcomes = fuzzer.run(probes(SEED, COUNT, LIMIT))
            yield Fuzzed(bot, fuzzer, outcomes, fuzzer.crashed())
        finally:
            fuzzer.close()


def test_no_request_gets_a_server_error_and_no_service_dies(fuzzed: Fuzzed) -> None:
    assert len(fuzzed.outcomes) == COUNT
    assert fuzzed.failing("server error", "no answer") == []
    assert fuzzed.crashed == []
    assert all(service.healthy() for service in fuzzed.bot.services)


def test_every_malformed_request_gets_a_4xx_that_says_what_is_wrong(fuzzed: Fuzzed) -> None:
    malformed = [o for o in fuzzed.outcomes if o.probe.expect == MALFORMED]
    assert len(malformed) > COUNT // 5
    assert fuzzed.failing("malformed accepted", "refusal without a reason") == []


def test_every_well_formed_message_is_answered_or_kept(fuzzed: Fuzzed) -> None:
    messages = [o for o in fuzzed.outcomes if o.probe.expect == MESSAGE]
    assert {o.probe.endpoint for o in messages} == {
        "rest", "callback", "socketio", "telegram", "twilio", "slack"
    }  # fmt: skip
    assert fuzzed.failing("silent drop", "refused a message") == []
    # Every one was looked for in Rasa's tracker, or answered on the spot (REST, socket.io).
    assert all(o.tracked or o.probe.endpoint == "rest" for o in messages)


def test_console_forms_never_fail_and_show_hostile_text_as_text(fuzzed: Fuzzed) -> None:
    console = [o for o in fuzzed.outcomes if o.probe.endpoint in CONSOLE]
    assert fuzzed.failing("unescaped") == []
    assert all(o.status is not None and o.status < 500 for o in console)
    # The forms were read, not only refused: replies sent, labels saved, sign-ins tried.
    assert {o.status for o in console} >= {303, 401}


def test_a_message_over_the_limit_is_cut_and_the_customer_told_the_limit(
    fuzzed: Fuzzed,
) -> None:
    bot = fuzzed.bot
    text = "My card has not arrived. " + "Here is everything that happened. " * 40
    [reply] = bot.say("e2e-fuzz-too-long", text)
    assert TOO_LONG in reply["text"]
    events = bot.client.tracker("e2e-fuzz-too-long")["events"]
    [said] = [e for e in events if e["event"] == "user"]
    assert said["text"] == text[:LIMIT].strip()
    # As Rasa reads the message: without the spaces around it.
    assert said["metadata"]["gapdesk_cut"] == {"length": len(text.strip()), "kept": LIMIT}
    assert bot.say("e2e-fuzz-too-long", "my card has not arrived")  # and the bot goes on


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_limit_holds_on_every_channel(fuzzed: Fuzzed, channel: str) -> None:
    seed = SEED + 1 + CHANNELS.index(channel)  # customers none of the other probes are
    probe = next(
        probe
        for probe in probes(seed, 10_000, LIMIT, endpoints=(channel,))
        if probe.expect == MESSAGE and len((probe.text or "").strip()) > LIMIT
    )
    outcome = fuzzed.fuzzer.send(probe)
    fuzzed.fuzzer.check_trackers([outcome])  # waits for Slack's turn in the background
    assert outcome.failure is None and outcome.tracked, outcome.detail
    events = fuzzed.bot.client.tracker(outcome.probe.conversation)["events"]
    [said] = [e for e in events if e["event"] == "user"]
    assert len(said["text"]) <= LIMIT and said["metadata"]["gapdesk_cut"]["kept"] == LIMIT
    assert any(TOO_LONG in (e.get("text") or "") for e in events if e["event"] == "bot")


def test_a_rest_metadata_that_is_not_an_object_is_refused_not_lost(fuzzed: Fuzzed) -> None:
    """Rasa 3.6 answered 200 to it and lost the message in a TypeError nobody heard of."""
    bot = fuzzed.bot
    answer = httpx.post(
        f"{bot.settings.rasa_url}/webhooks/rest/webhook",
        json={"sender": "e2e-fuzz-metadata", "message": "hello", "metadata": "a string"},
        headers={"Authorization": f"Bearer {bot.client.webhook_token}"},
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "'metadata' must be a JSON object (or left out), not a string"
    events = bot.client.tracker("e2e-fuzz-metadata")["events"]
    assert not [e for e in events if e["event"] == "user"]
