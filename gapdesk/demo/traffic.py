"""``gapdesk demo traffic``: real customers' messages replayed through the running bot.

Nothing fake is written into the database: the messages go through the bot's REST
channel (``/webhooks/rest/webhook``, :meth:`RasaClient.say`) like any integrator's,
and the bot records them as it records every turn. The messages are real ones:

* BANKING77's test split (``data/datasets/banking77/test.csv``): bank customers'
  questions, which the bank bot was trained for (on the other split);
* Bitext's customer-support set (``data/datasets/bitext_customer_support``): an online
  shop's customers, out of scope for the bank, so the bot has gaps to show.

Each conversation (id ``demo-<run>-<number>``) is one made-up customer: a bank
customer asking about one topic and sometimes another, or a shop customer, with a few
messages (some customers many more than others). Most end with "thanks" or "bye", so the
bot asks for a 1-5 rating; customers click rating buttons the bot sends as the widget's
customers would (thumbs up or down, a reason after a thumbs-down, a score), pleased or
displeased by a roll of the seeded dice, and sometimes pick a topic the bot offers when
it asks what they meant. The same seed plans the same conversations (only the run part
of the ids differs), and the counts are bounded.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from gapdesk.datasets import LabelledText, read_labelled
from gapdesk.engine.client import RasaClient
from gapdesk.ratings import ANSWER, DOWN, UP, Rating, parse_payload
from gapmodel.errors import ConfigurationError

BANKING77 = Path("data/datasets/banking77/test.csv")
BITEXT = Path("data/datasets/bitext_customer_support/bitext_customer_support_4514.csv")
MAX_MESSAGES = 2000
MAX_CONVERSATIONS = 500
MAX_TEXT = 200  # characters; longer dataset messages are skipped
OFF_TOPIC_SHARE = 0.25  # of the conversations: the shop's customers
SECOND_TOPIC_SHARE = 0.3  # of a bank customer's later messages: another topic
CLOSING_SHARE = 0.7  # of the conversations end with a closer
PLEASED_SHARE = 0.6
RATE_ANSWER_SHARE = 0.5  # of rateable answers get a thumb
RATE_CONVERSATION_SHARE = 0.8  # of the 1-5 questions get a score
PICK_TOPIC_SHARE = 0.6  # of clarifications get a topic picked
MAX_CLICKS = 3  # per message: a thumbs-down, its reason, ...
CLOSERS = ("thanks", "thank you, that's all", "bye", "ok thanks, goodbye")
NOT_A_TOPIC = ("/request_human", "/affirm", "/deny")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class DemoConversation:
    """One made-up customer's conversation: what they write, and how they rate."""

    id: str
    messages: tuple[str, ...]  # dataset messages, then perhaps a closer
    off_topic: bool  # a shop customer at the bank
    pleased: bool
    seed: int  # for the clicks


@dataclass
class TrafficResult:
    conversations: int = 0
    messages: int = 0  # typed messages sent (dataset messages and closers)
    clicks: int = 0  # buttons clicked (ratings, topics)
    replies: int = 0  # bot messages received
    ids: list[str] = field(default_factory=list)


def check_loopback(rasa_url: str) -> None:
    """Demo traffic goes to a bot on this machine only."""
    host = urlsplit(rasa_url).hostname or ""
    if host not in LOOPBACK:
        raise ConfigurationError(
            f"GAPDESK_RASA_URL is {rasa_url}: demo traffic is sent to a bot on this machine "
            "only (127.0.0.1, localhost or ::1)"
        )


def check_counts(messages: int, conversations: int) -> None:
    if not 1 <= messages <= MAX_MESSAGES:
        raise ConfigurationError(f"--messages must be from 1 to {MAX_MESSAGES}")
    if not 1 <= conversations <= MAX_CONVERSATIONS:
        raise ConfigurationError(f"--conversations must be from 1 to {MAX_CONVERSATIONS}")


def usable(text: str) -> bool:
    """A message worth sending: not a Rasa command ("/..."), no template placeholder
    left in it (Bitext's ``{{Order Number}}``), not too long."""
    return (
        bool(text.strip())
        and not text.startswith("/")
        and "{{" not in text
        and len(text) <= MAX_TEXT
    )


def load_messages(root: Path = Path(".")) -> tuple[list[LabelledText], list[LabelledText]]:
    """The usable messages of BANKING77's test split and of Bitext's set, under ``root``."""
    sets = []
    for path in (BANKING77, BITEXT):
        if not (root / path).is_file():
            raise ConfigurationError(f"{root / path} is missing: run it in the project's folder")
        sets.append([row for row in read_labelled(root / path) if usable(row.text)])
    return sets[0], sets[1]


def plan_conversations(
    bank: Sequence[LabelledText],
    shop: Sequence[LabelledText],
    messages: int,
    conversations: int,
    seed: int = 0,
    run: str = "",
) -> list[DemoConversation]:
    """``messages`` dataset messages spread over ``conversations`` customers (fewer if
    there are fewer messages), each conversation at least one; closers come on top."""
    check_counts(messages, conversations)
    if not bank or not shop:
        raise ConfigurationError("no messages to send: both datasets are needed")
    rng = random.Random(seed)
    count = min(messages, conversations)
    sizes = _sizes(rng, messages, count)
    by_topic: dict[str, list[str]] = {}
    for row in bank:
        by_topic.setdefault(row.label, []).append(row.text)
    topics = sorted(by_topic)
    planned = []
    for number, size in enumerate(sizes, start=1):
        off_topic = rng.random() < OFF_TOPIC_SHARE
        if off_topic:
            texts = [rng.choice(shop).text for _ in range(size)]
        else:
            topic = rng.choice(topics)
            texts = [rng.choice(by_topic[topic])]
            for _ in range(size - 1):
                other = rng.random() < SECOND_TOPIC_SHARE
                texts.append(rng.choice(by_topic[rng.choice(topics) if other else topic]))
        if rng.random() < CLOSING_SHARE:
            texts.append(rng.choice(CLOSERS))
        name = f"demo-{run}-{number:04d}" if run else f"demo-{number:04d}"
        pleased = rng.random() < PLEASED_SHARE and not off_topic
        planned.append(
            DemoConversation(name, tuple(texts), off_topic, pleased, rng.randrange(2**31))
        )
    return planned


def _sizes(rng: random.Random, messages: int, count: int) -> list[int]:
    """``messages`` split into ``count`` sizes of one or more, unevenly: a few customers
    write a lot (weights from a Pareto distribution)."""
    weights = [rng.paretovariate(1.5) for _ in range(count)]
    sizes = [1] * count
    for index in rng.choices(range(count), weights=weights, k=messages - count):
        sizes[index] += 1
    return sizes


def choose_click(
    replies: Sequence[dict[str, Any]], conversation: DemoConversation, rng: random.Random
) -> str | None:
    """The payload of the button this customer clicks among the bot's ``replies``, if any."""
    buttons = [b for r in replies for b in r.get("buttons") or [] if b.get("payload")]
    ratings: list[tuple[Rating, str]] = []
    for button in buttons:
        rating = parse_payload(str(button["payload"]))
        if rating is not None:
            ratings.append((rating, str(button["payload"])))
    if ratings:
        answer = [(r, p) for r, p in ratings if r.kind == ANSWER]
        reasons = [(r, p) for r, p in answer if r.reason]
        if reasons:  # after a thumbs-down: what was wrong
            wanted = "wrong_topic" if conversation.off_topic else None
            picked = [p for r, p in reasons if r.reason == wanted]
            return picked[0] if picked else rng.choice([p for _, p in reasons])
        if answer:
            if rng.random() >= RATE_ANSWER_SHARE:
                return None
            thumb = UP if conversation.pleased else DOWN
            return next((p for r, p in answer if r.rating == thumb), None)
        if rng.random() >= RATE_CONVERSATION_SHARE:
            return None
        scores = ("4", "5") if conversation.pleased else ("1", "2", "3")
        score = rng.choice(scores)
        return next((p for r, p in ratings if r.rating == score), None)
    topics = [str(b["payload"]) for b in buttons if str(b["payload"]) not in NOT_A_TOPIC]
    topics = [p for p in topics if p.startswith("/") and "{" not in p]
    if topics and rng.random() < PICK_TOPIC_SHARE:
        return topics[0]
    return None


def send_traffic(
    client: RasaClient,
    planned: Sequence[DemoConversation],
    progress: Callable[[str], None] = print,
) -> TrafficResult:
    """Send each planned conversation through the bot's REST channel, clicking buttons
    as :func:`choose_click` says; ``progress`` gets a line per conversation."""
    result = TrafficResult()
    with httpx.Client() as connection:
        for number, conversation in enumerate(planned, start=1):
            rng = random.Random(conversation.seed)
            sent = clicks = 0
            for text in conversation.messages:
                replies = client.say(conversation.id, text, connection=connection)
                sent += 1
                result.replies += len(replies)
                for _ in range(MAX_CLICKS):
                    payload = choose_click(replies, conversation, rng)
                    if payload is None:
                        break
                    replies = client.say(conversation.id, payload, connection=connection)
                    clicks += 1
                    result.replies += len(replies)
            result.conversations += 1
            result.messages += sent
            result.clicks += clicks
            result.ids.append(conversation.id)
            kind = "shop customer" if conversation.off_topic else "bank customer"
            progress(
                f"[{number}/{len(planned)}] {conversation.id} ({kind}): "
                f"{sent} messages, {clicks} clicks"
            )
    return result


def new_run_id() -> str:
    """A short random part for the conversation ids, so runs never share a conversation."""
    return secrets.token_hex(3)
