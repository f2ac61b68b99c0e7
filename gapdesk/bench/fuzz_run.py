"""``gapdesk benchmark fuzz``: hostile probes against every public endpoint, and what
came of them.

:class:`Fuzzer` sends the probes of :mod:`gapdesk.bench.fuzz` to a running stack on
loopback, signed as each provider signs (the webhook token, Telegram's secret token,
Twilio's and Slack's signatures) so that they reach the checks behind the signatures,
and judges each answer:

* **server error**: any 5xx;
* **silent drop**: a well-formed customer message that got a 2xx but neither a reply
  (REST, socket.io) nor its turn in Rasa's tracker (the other channels);
* **refused a message**: a 4xx to a well-formed message;
* **malformed accepted**: a 2xx to a malformed request; **refusal without a reason**:
  a 4xx whose JSON has no ``error`` (socket.io: no ``message_refused`` event);
* **unescaped**: markup sent to the console came back as markup;
* **crash**: a service process died.

``run`` starts its own stack for the benchmark (all channels on, a stand-in Telegram
Bot API, a console agent) and writes ``report.json`` and ``report.md``;
``tests/e2e/test_fuzz.py`` points a :class:`Fuzzer` at the bot of its fixture.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from gapdesk.bench.fuzz import ENDPOINTS, FORM, MALFORMED, MESSAGE, RAW, Probe, probes
from gapdesk.bench.fuzz_console import Console
from gapdesk.bench.report import write_report
from gapdesk.bench.socketio_client import PollingSocket, SocketIOError
from gapdesk.bench.stacks import bot_settings
from gapdesk.bench.stand_ins import StandInTelegram
from gapdesk.demo.bank import DemoBank
from gapdesk.engine.client import RasaClient
from gapdesk.engine.secrets import telegram_secret_token
from gapdesk.errors import EngineError
from gapdesk.settings import Settings
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.store import make_engine
from gapdesk.supervision import Service, running
from gapdesk.supervisor import build_services, free_ports

# bot/widget_channel.py's event for a refused socket.io message (bot/ is not imported).
REFUSED_EVENT = "message_refused"
FAILURES = (
    "server error",
    "silent drop",
    "refused a message",
    "malformed accepted",
    "refusal without a reason",
    "unescaped",
    "no answer",
)
EXAMPLES_PER_ENDPOINT = 5


@dataclass
class Outcome:
    """What came of one probe."""

    probe: Probe
    status: int | None  # the HTTP status; None for a socket.io event or no answer
    explained: bool  # a 4xx with {"error": "..."} (socket.io: a message_refused event)
    replied: bool  # REST: replies; socket.io: bot_uttered; console: a page or redirect
    seconds: float
    detail: str = ""
    unescaped: bool = False
    tracked: bool | None = None  # a message's turn in Rasa's tracker, once checked

    @property
    def failure(self) -> str | None:
        """The first of FAILURES this outcome is, or None."""
        status, expect = self.status, self.probe.expect
        if status is not None and status >= 500:
            return "server error"
        if self.unescaped:
            return "unescaped"
        answered = status is not None or self.replied or self.explained
        if not answered:
            return "no answer" if expect != MESSAGE else "silent drop"
        refused = self.explained or (status is not None and 400 <= status < 500)
        if expect == MESSAGE:
            if refused:
                return "refused a message"
            delivered = self.replied if self.probe.endpoint in ("rest", "socketio") else True
            return None if delivered and self.tracked is not False else "silent drop"
        if expect == MALFORMED and not refused:
            return "malformed accepted"
        if expect == MALFORMED and not self.explained:
            return "refusal without a reason"
        return None


def _http_outcome(probe: Probe, response: httpx.Response, seconds: float) -> Outcome:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    explained = 400 <= status < 500 and isinstance(body, dict) and bool(body.get("error"))
    replied = isinstance(body, list) and bool(body)
    return Outcome(probe, status, explained, replied, seconds, response.text[:300])


def encode(probe: Probe) -> tuple[bytes, str]:
    """The body to send and its content type."""
    if probe.encoding == RAW:
        return probe.payload, probe.content_type or "application/json"
    if probe.encoding == FORM:
        form = urlencode(probe.payload).encode()
        return form, probe.content_type or "application/x-www-form-urlencoded"
    return json.dumps(probe.payload).encode(), probe.content_type or "application/json"


def twilio_signature(url: str, form: list[tuple[str, str]], auth_token: str) -> str:
    """Twilio's documented scheme: HMAC-SHA1 of the URL followed by each field's name and
    value, by name (and value), base64-encoded."""
    signed = url + "".join(name + value for name, value in sorted(set(form)))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def slack_headers(body: bytes, signing_secret: str) -> dict[str, str]:
    """Slack's documented scheme: HMAC-SHA256 of "v0:<timestamp>:<body>"."""
    timestamp = str(int(time.time()))
    base = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


class Fuzzer:
    """Sends probes to the stack ``settings`` describe (started from them, with every
    messaging channel configured) and judges the answers."""

    def __init__(self, settings: Settings, services: list[Service]) -> None:
        self.settings = settings
        self.services = services
        self.rasa = RasaClient.from_settings(settings, timeout=60)
        self.http = httpx.Client(timeout=120)
        self.telegram_secret = telegram_secret_token(
            settings.telegram_secret_token, settings.var_path
        )
        self.console = Console(settings, self.telegram_update)
        self.senders: dict[str, Callable[[Probe], Outcome]] = {
            "rest": self._webhook("rest"),
            "callback": self._webhook("callback"),
            "socketio": self._socketio,
            "telegram": self._telegram,
            "twilio": self._twilio,
            "slack": self._slack,
            **dict.fromkeys(self.console.endpoints, self._console),
        }

    def close(self) -> None:
        self.http.close()
        self.console.close()

    def run(
        self, probes: Iterable[Probe], progress: Callable[[str], None] | None = None
    ) -> list[Outcome]:
        """Send every probe in turn, then look for each message's turn in Rasa's trackers."""
        outcomes = []
        for index, probe in enumerate(probes, start=1):
            outcomes.append(self.send(probe))
            if progress and index % 500 == 0:
                progress(f"{index} probes sent")
        self.check_trackers(outcomes)
        return outcomes

    def send(self, probe: Probe) -> Outcome:
        started = time.monotonic()
        try:
            return self.senders[probe.endpoint](probe)
        except (httpx.HTTPError, SocketIOError) as error:
            return Outcome(probe, None, False, False, time.monotonic() - started, repr(error))

    def crashed(self) -> list[str]:
        """The services whose process has died."""
        return [s.name for s in self.services if s.process and s.process.poll() is not None]

    # -- channels -------------------------------------------------------------------------

    def _post(
        self, probe: Probe, path: str, headers: dict[str, str], content: bytes, kind: str
    ) -> Outcome:
        started = time.monotonic()
        response = self.http.post(
            self.settings.rasa_url + path,
            content=content,
            headers={**headers, "Content-Type": kind},
        )
        return _http_outcome(probe, response, time.monotonic() - started)

    def _webhook(self, channel: str) -> Callable[[Probe], Outcome]:
        def send(probe: Probe) -> Outcome:
            content, kind = encode(probe)
            auth = {"Authorization": f"Bearer {self.rasa.webhook_token}"}
            return self._post(probe, f"/webhooks/{channel}/webhook", auth, content, kind)

        return send

    def _telegram(self, probe: Probe) -> Outcome:
        content, kind = encode(probe)
        secret = {"X-Telegram-Bot-Api-Secret-Token": self.telegram_secret}
        return self._post(probe, "/webhooks/telegram/webhook", secret, content, kind)

    def telegram_update(self, chat_id: int, text: str) -> None:
        """A Telegram customer writes ``text`` (the console's conversations start so)."""
        update = {"update_id": 1, "message": {"message_id": 1, "date": int(time.time()),
                  "chat": {"id": chat_id, "type": "private"}, "text": text}}  # fmt: skip
        probe = Probe("telegram", MESSAGE, "setup", update)
        outcome = self._telegram(probe)
        if outcome.status != 200:
            raise EngineError(f"Telegram's webhook answered {outcome.status}: {outcome.detail}")

    def _twilio(self, probe: Probe) -> Outcome:
        content, kind = encode(probe)
        signed = probe.payload if probe.encoding == FORM else []  # Twilio signs forms only
        signature = twilio_signature(
            self.settings.twilio_webhook_url, signed, self.settings.twilio_auth_token
        )
        headers = {"X-Twilio-Signature": signature}
        return self._post(probe, "/webhooks/twilio/webhook", headers, content, kind)

    def _slack(self, probe: Probe) -> Outcome:
        content, kind = encode(probe)
        headers = slack_headers(content, self.settings.slack_signing_secret)
        return self._post(probe, "/webhooks/slack/webhook", headers, content, kind)

    def _socketio(self, probe: Probe) -> Outcome:
        started = time.monotonic()
        socket = PollingSocket(self.settings.rasa_url)
        try:
            socket.emit("session_request", {"session_id": None})
            confirmed = socket.wait_for("session_confirm", timeout=30)
            if confirmed is None:
                raise SocketIOError("no session_confirm")
            data = probe.payload
            if isinstance(data, dict):
                data = dict(data)
                session = {"issued": confirmed[1], "forged": secrets.token_hex(16)}
                session["wrong type"] = 12345
                if probe.target in session:
                    data["session_id"] = session[probe.target]
            socket.emit("user_uttered", data)
            answer = socket.wait_for("bot_uttered", REFUSED_EVENT, timeout=30)
        finally:
            socket.close()
        seconds = time.monotonic() - started
        name, body = answer or ("", None)
        outcome = Outcome(probe, None, name == REFUSED_EVENT, name == "bot_uttered", seconds)
        outcome.detail = json.dumps(body)[:300]
        if probe.expect == MESSAGE:
            probe = replace(probe, conversation=confirmed[1])
            outcome.probe = probe
        return outcome

    def _console(self, probe: Probe) -> Outcome:
        started = time.monotonic()
        answer, unescaped = self.console.send(probe)
        outcome = _http_outcome(probe, answer, time.monotonic() - started)
        outcome.unescaped = unescaped
        return outcome

    # -- Rasa's trackers ------------------------------------------------------------------

    def check_trackers(self, outcomes: list[Outcome], timeout: float = 30.0) -> None:
        """Mark each accepted message whose conversation in Rasa's tracker has a customer
        message answered by the bot; Slack answers in the background, so wait a while."""
        pending = [
            o
            for o in outcomes
            if o.probe.expect == MESSAGE and o.probe.conversation and o.failure is None
        ]
        deadline = time.monotonic() + timeout
        while pending:
            for outcome in pending:
                outcome.tracked = self._answered_in_tracker(outcome.probe.conversation)
            pending = [o for o in pending if not o.tracked]
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)

    def _answered_in_tracker(self, conversation: str) -> bool:
        events = self.rasa.tracker(conversation)["events"]
        kinds = [event["event"] for event in events if event["event"] in ("user", "bot")]
        return "user" in kinds and "bot" in kinds[kinds.index("user") :]


# -- the report -----------------------------------------------------------------------------


def summarize(outcomes: list[Outcome], crashed: list[str], seconds: float) -> dict[str, Any]:
    """Per endpoint: what was sent, the answers' statuses, each kind of failure, time."""
    by_endpoint: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_endpoint[outcome.probe.endpoint].append(outcome)
    endpoints = {}
    for name in [e for e in ENDPOINTS if e in by_endpoint]:
        group = by_endpoint[name]
        failures = Counter(o.failure for o in group if o.failure)
        examples = [
            {"failure": o.failure, "category": o.probe.category, "status": o.status,
             "answer": o.detail[:200]}
            for o in group if o.failure
        ][:EXAMPLES_PER_ENDPOINT]  # fmt: skip
        endpoints[name] = {
            "sent": len(group),
            "expected": dict(Counter(o.probe.expect for o in group)),
            "statuses": dict(Counter(_status(o) for o in group).most_common()),
            **{failure: failures.get(failure, 0) for failure in FAILURES},
            "seconds": round(sum(o.seconds for o in group), 1),
            "examples": examples,
        }
    return {
        "sent": len(outcomes),
        "seconds": round(seconds, 1),
        "crashed": crashed,
        "failures": sum(1 for o in outcomes if o.failure),
        "endpoints": endpoints,
    }


def _status(outcome: Outcome) -> str:
    if outcome.status is not None:
        return str(outcome.status)
    if outcome.explained:
        return REFUSED_EVENT
    return "bot_uttered" if outcome.replied else "nothing"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Fuzz benchmark: seed {report['seed']}, {report['sent']} probes, {report['seconds']} s",
        "",
        f"Crashed services: {', '.join(report['crashed']) or 'none'}. "
        f"Failures: {report['failures']}. Message-size limit: {report['limit']} characters.",
        "",
        "| endpoint | sent | statuses | 5xx | silent drops | refused messages | "
        "malformed accepted | refusals without a reason | unescaped | no answer | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["endpoints"].items():
        statuses = ", ".join(f"{status}: {n}" for status, n in row["statuses"].items())
        counts = " | ".join(str(row[failure]) for failure in FAILURES)
        lines.append(f"| {name} | {row['sent']} | {statuses} | {counts} | {row['seconds']} |")
    examples = [
        (name, example) for name, row in report["endpoints"].items() for example in row["examples"]
    ]
    if examples:
        lines += ["", "## Failures (first of each endpoint)", ""]
        lines += [
            f"- {name}, {e['category']}: {e['failure']} ({e['status']}) `{e['answer'][:120]}`"
            for name, e in examples
        ]
    return "\n".join(lines) + "\n"


# -- the benchmark's own stack ----------------------------------------------------------------


def messaging_channels(telegram_api: str) -> dict[str, Any]:
    """Settings that configure every messaging channel with made-up secrets: Telegram
    talks to ``telegram_api`` (a stand-in); Twilio's and Slack's APIs cannot be reached,
    so their replies fail (and are logged, the turn kept)."""
    return {
        "telegram_token": StandInTelegram.TOKEN,
        "telegram_bot_name": StandInTelegram.BOT_NAME,
        "telegram_webhook_url": "https://bot.example.com/webhooks/telegram/webhook",
        "telegram_api_url": telegram_api,
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": secrets.token_hex(16),
        "twilio_number": "whatsapp:+14155238886",
        "twilio_webhook_url": "https://bot.example.com/webhooks/twilio/webhook",
        "slack_token": "xoxb-0000-fuzz",
        "slack_signing_secret": secrets.token_hex(16),
    }


def fuzz_settings(base: Settings, work: Path, telegram_api: str) -> Settings:
    """``base`` on loopback ports, its state in ``work``, every messaging channel on."""
    rasa_port, actions_port, console_port = free_ports(3)
    return replace(
        bot_settings(base, work, rasa_port, actions_port),  # its own database and secrets
        lock_store_url="",
        console_url=f"http://127.0.0.1:{console_port}",
        callback_url="",  # the bot's replies must not reach a real service
        slack_channel="",
        **messaging_channels(telegram_api),
    )


def run(
    settings: Settings,
    out: Path,
    count: int,
    seed: int,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Start a stack of its own, send ``count`` probes from ``seed``, write the report."""
    with tempfile.TemporaryDirectory(prefix="gapdesk-fuzz-") as tmp, StandInTelegram() as api:
        work = Path(tmp)
        bot = fuzz_settings(settings, work, api.url)
        upgrade(bot.database_url)
        DemoBank(make_engine(bot.database_url)).seed()
        services = build_services(bot, out / "logs")
        progress(f"starting the stack (logs: {out / 'logs'})")
        with running(services, timeout=300):
            fuzzer = Fuzzer(bot, services)
            try:
                started = time.monotonic()
                outcomes = fuzzer.run(probes(seed, count, bot.max_message_chars), progress)
                report = summarize(outcomes, fuzzer.crashed(), time.monotonic() - started)
            finally:
                fuzzer.close()
    report.update(seed=seed, count=count, limit=bot.max_message_chars)
    write_report(out, report, markdown(report))
    return report
