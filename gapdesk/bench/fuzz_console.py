"""The console's forms under hostile input, as the fuzz benchmark sends it.

The sign-in form is posted by a stranger (with a valid login CSRF token, so that the
fields are read); the reply, label and hand-back forms by a signed-in agent, on a
conversation the agent claimed (a Telegram customer who asked for a person), so that
hostile text reaches the database, Rasa and the customer, and comes back in the page.
A form's markup must come back escaped: the conversation page is read after each form
whose text holds markup.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from urllib.parse import quote, urlencode

import httpx

from gapdesk.accounts import create_user
from gapdesk.bench.fuzz import CONSOLE, Probe
from gapdesk.errors import EngineError
from gapdesk.settings import Settings
from gapdesk.storage.store import Store, make_engine

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# A conversation takes this many agent forms before the agent moves to a new one: its
# page, read after each form, grows with every reply.
FORMS_PER_CONVERSATION = 15
FORM_PATHS = {
    "console_reply": "/conversations/{}/reply",
    "console_hand_back": "/conversations/{}/hand-back",
    "console_label": "/turns/{}/label",
}


class Console:
    """Posts console probes; ``customer_writes(chat_id, text)`` makes a Telegram
    customer write (to start the conversations the agent claims)."""

    endpoints = CONSOLE

    def __init__(self, settings: Settings, customer_writes: Callable[[int, str], None]) -> None:
        self.base = settings.console_url
        self.store = Store(make_engine(settings.database_url))
        self.customer_writes = customer_writes
        self.agent: httpx.Client | None = None
        self.csrf = ""
        self.conversation = ""  # claimed by the agent
        self.turn_id = 0  # a turn of it, to label
        self.forms_left = 0

    def close(self) -> None:
        if self.agent is not None:
            self.agent.close()

    def send(self, probe: Probe) -> tuple[httpx.Response, bool]:
        """Post the probe's form; the answer, and whether markup came back unescaped."""
        if probe.endpoint == "console_login":
            return self._login(probe)
        agent = self._claimed()
        self.forms_left -= 1
        target = probe.target
        if target == "claimed":
            target = str(self.turn_id if probe.endpoint == "console_label" else self.conversation)
        content, kind = self._form(probe, self.csrf)
        path = FORM_PATHS[probe.endpoint].format(quote(target, safe=""))
        answer = agent.post(path, content=content, headers={"Content-Type": kind})
        if "notice=handed_back" in answer.headers.get("location", ""):
            self.forms_left = 0  # the bot has it back: claim another
        unescaped = False
        if probe.text and "<" in probe.text:
            page = agent.get(f"/conversations/{quote(self.conversation, safe='')}")
            unescaped = probe.text.strip() in page.text
        return answer, unescaped

    def _form(self, probe: Probe, csrf: str) -> tuple[bytes, str]:
        fields = [(name, csrf if value == "valid" else value) for name, value in probe.payload]
        return urlencode(fields).encode(), probe.content_type or "application/x-www-form-urlencoded"

    def _login(self, probe: Probe) -> tuple[httpx.Response, bool]:
        with httpx.Client(base_url=self.base, timeout=60) as stranger:
            token = CSRF.search(stranger.get("/login").text)
            content, kind = self._form(probe, token[1] if token else "")
            answer = stranger.post("/login", content=content, headers={"Content-Type": kind})
        marked = [value for _, value in probe.payload if "<" in value]
        return answer, any(value.strip() in answer.text for value in marked)

    def _claimed(self) -> httpx.Client:
        """The signed-in agent, holding a conversation with forms left."""
        if self.agent is None:
            self.agent = self._sign_in()
        if self.forms_left <= 0:
            self._claim_a_new_conversation(self.agent)
        return self.agent

    def _sign_in(self) -> httpx.Client:
        name, password = f"fuzz-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
        create_user(self.store, name, password, "agent", display_name="Fuzz")
        agent = httpx.Client(base_url=self.base, timeout=60)
        token = CSRF.search(agent.get("/login").text)
        fields = {"csrf_token": token[1] if token else "", "username": name, "password": password}
        agent.post("/login", data=fields)
        csrf = CSRF.search(agent.get("/queue").text)
        if csrf is None:
            raise EngineError("the fuzz agent could not sign in to the console")
        self.csrf = csrf[1]
        return agent

    def _claim_a_new_conversation(self, agent: httpx.Client) -> None:
        chat_id = 10**11 + secrets.randbelow(10**11)
        self.customer_writes(chat_id, "I want to talk to a person")
        conversation = str(chat_id)
        deadline = time.monotonic() + 30
        while (self.store.conversation(conversation) or {}).get("status") != "escalated":
            if time.monotonic() > deadline:
                raise EngineError(f"conversation {conversation} was never escalated")
            time.sleep(0.2)
        claimed = agent.post(f"/conversations/{conversation}/claim", data={"csrf_token": self.csrf})
        if "notice=claimed" not in claimed.headers.get("location", ""):
            raise EngineError(f"the fuzz agent could not claim {conversation}")
        turns = (self.store.conversation(conversation) or {}).get("turns") or [{"id": 0}]
        self.conversation, self.turn_id = conversation, int(turns[-1]["id"])
        self.forms_left = FORMS_PER_CONVERSATION
