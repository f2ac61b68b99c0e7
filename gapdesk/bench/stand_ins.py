"""A stand-in for a provider's API on loopback, for benchmarks that run without the
internet: the Telegram Bot API, as far as the bot calls it.

Rasa's Telegram channel asks who the bot is (``getMe``) before it reads an update and
sends every reply (``sendMessage``); gapdesk registers the webhook at start
(``setWebhook``). This answers them as Telegram does. ``GAPDESK_TELEGRAM_API_URL``
points the bot at it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl


class StandInTelegram:
    """The Bot API on a free loopback port, while in a ``with`` block."""

    TOKEN = "123456789:AAE-stand-in-token"
    BOT_NAME = "brightwater_bot"

    def __init__(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode(errors="replace")))
                method = self.path.rsplit("/", 1)[-1]
                payload = json.dumps({"ok": True, "result": stand_in.answer(method, params)})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload.encode())))
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args: Any) -> None:
                pass  # quiet: a benchmark's output is its report

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, method: str, params: dict[str, str]) -> Any:
        if method == "getMe":
            return {"id": 123456789, "is_bot": True, "first_name": "Bot", "username": self.BOT_NAME}
        if method == "sendMessage":
            chat = params.get("chat_id", "")
            chat_id = int(chat) if chat.lstrip("-").isdigit() else 0
            return {"message_id": 1, "date": int(time.time()), "text": params.get("text", ""),
                    "chat": {"id": chat_id, "type": "private"}}  # fmt: skip
        return True  # setWebhook and the rest

    def __enter__(self) -> StandInTelegram:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
