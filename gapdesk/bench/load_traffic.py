"""Simulated customers for the load benchmark: who says what, when, and how long it took.

Two shapes of traffic over Rasa's REST channel:

* **paced**: ``conversations`` customers, each waiting for the bot's answer and then
  thinking for an exponentially distributed time before writing again, the mean think
  time set so that together they offer ``rate`` messages per second. A customer leaves
  after a few messages and a new one takes the seat, as on a real help line.
* **saturation**: as many customers writing back to back, each the moment the previous
  answer arrives: the most turns per second the bot can give.

Every message is recorded whatever happens to it (answered, refused, timed out), so
the loss audit can look for each one in Rasa's tracker and gapdesk's database.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

# A customer writes 1-6 messages before leaving (a help-line conversation's length).
MESSAGES_PER_CONVERSATION = (1, 6)
REPLY_TIMEOUT_S = 60.0


@dataclass
class Sent:
    """One customer message and what came back."""

    conversation_id: str
    text: str
    started: float  # time.monotonic() when it was sent
    latency_ms: float
    status: int  # HTTP status; 0 when no answer came (timeout, refused connection)
    replies: list[str]  # the texts of the bot's replies (what the customer saw)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class Traffic:
    """Where to send and what customers say."""

    webhook_url: str  # Rasa's REST webhook
    token: str  # the webhook token
    texts: Sequence[str]
    seed: int = 0
    prefix: str = "load"
    transport: httpx.AsyncBaseTransport | None = None  # tests: an in-process stand-in
    sent: list[Sent] = field(default_factory=list)

    async def _send(self, client: httpx.AsyncClient, conversation_id: str, text: str) -> None:
        started = time.monotonic()
        status, replies, error = 0, [], ""
        try:
            response = await client.post(
                self.webhook_url,
                json={"sender": conversation_id, "message": text},
                headers={"Authorization": f"Bearer {self.token}"},
            )
            status = response.status_code
            if status == 200:
                replies = [str(reply.get("text", "")) for reply in response.json()]
            else:
                error = response.text[:200]
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        latency = (time.monotonic() - started) * 1000
        self.sent.append(Sent(conversation_id, text, started, latency, status, replies, error))

    async def _customer(
        self,
        client: httpx.AsyncClient,
        seat: int,
        deadline: float,
        mean_think_s: float,
        rng: random.Random,
    ) -> None:
        """One seat of the help line: customer after customer until ``deadline``."""
        visitor = 0
        if mean_think_s > 0:  # spread the first messages over one think time
            await asyncio.sleep(rng.uniform(0, mean_think_s))
        while time.monotonic() < deadline:
            conversation_id = f"{self.prefix}-{seat}-{visitor}"
            for _ in range(rng.randint(*MESSAGES_PER_CONVERSATION)):
                if time.monotonic() >= deadline:
                    return
                await self._send(client, conversation_id, rng.choice(self.texts))
                if mean_think_s > 0:
                    await asyncio.sleep(rng.expovariate(1 / mean_think_s))
            visitor += 1

    async def run(self, conversations: int, seconds: float, rate: float | None) -> list[Sent]:
        """``conversations`` seats for ``seconds``; paced to ``rate`` messages/s, or
        back to back when ``rate`` is None. Returns the messages sent in this run."""
        before = len(self.sent)
        mean_think = conversations / rate if rate else 0.0
        deadline = time.monotonic() + seconds
        limits = httpx.Limits(
            max_connections=conversations, max_keepalive_connections=conversations
        )
        client = httpx.AsyncClient(limits=limits, timeout=REPLY_TIMEOUT_S, transport=self.transport)
        async with client:
            seats = [
                self._customer(client, seat, deadline, mean_think, random.Random(self.seed + seat))
                for seat in range(conversations)
            ]
            await asyncio.gather(*seats)
        return self.sent[before:]


def run_traffic(
    traffic: Traffic, conversations: int, seconds: float, rate: float | None
) -> list[Sent]:
    """:meth:`Traffic.run` from synchronous code."""
    return asyncio.run(traffic.run(conversations, seconds, rate))
