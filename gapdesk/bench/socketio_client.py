"""A socket.io client as small as the fuzz benchmark needs: Engine.IO 4 over HTTP polling.

The web widget speaks socket.io to Rasa. gapdesk's environment has no socket.io client
(only Rasa's has python-socketio), and the fuzz probes need one per probe, with any
data in its events, malformed included: this one speaks the protocol's text packets
over httpx. Engine.IO 4 polling: a GET opens the connection (packet ``0``), POSTs send
packets, GETs wait for the server's; packets in one body are separated by ``\\x1e``.
Socket.IO packets ride in Engine.IO messages (``4``): ``0`` connects to the namespace,
``2["event", data]`` is an event.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import httpx

SEPARATOR = "\x1e"


class SocketIOError(Exception):
    """The server closed the connection or answered outside the protocol."""


class PollingSocket:
    """One socket.io connection to ``url`` (``/socket.io`` on it), default namespace."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.endpoint = url.rstrip("/") + "/socket.io/"
        self.http = httpx.Client(timeout=timeout)
        self.params = {"EIO": "4", "transport": "polling"}
        self.pending: list[tuple[str, Any]] = []
        opened = self._receive_packets()
        if not opened or opened[0][0] != "0":
            raise SocketIOError(f"no Engine.IO open packet: {opened[:1]}")
        self.params["sid"] = json.loads(opened[0][1:])["sid"]
        self._send_packet("40")
        if self.wait_for("connect", timeout=timeout) is None:
            raise SocketIOError("the namespace did not confirm the connection")

    def close(self) -> None:
        # The server may have closed the connection already.
        with contextlib.suppress(httpx.HTTPError, SocketIOError):
            self._send_packet("1")
        self.http.close()

    def emit(self, event: str, data: Any) -> None:
        """Send ``event`` with ``data`` (any JSON value). As a browser does, characters
        go as UTF-8, except lone surrogates, which only a JSON escape can carry."""
        try:
            packet = "42" + json.dumps([event, data], ensure_ascii=False)
            packet.encode("utf-8")
        except UnicodeEncodeError:
            packet = "42" + json.dumps([event, data])
        self._send_packet(packet)

    def wait_for(self, *events: str, timeout: float) -> tuple[str, Any] | None:
        """The first of ``events`` the server sends within ``timeout`` seconds (others
        are dropped), as (event, data); None if none came."""
        deadline = time.monotonic() + timeout
        while True:
            for index, (name, data) in enumerate(self.pending):
                if name in events:
                    del self.pending[: index + 1]
                    return name, data
            self.pending.clear()
            if time.monotonic() >= deadline:
                return None
            self._poll()

    def _poll(self) -> None:
        for packet in self._receive_packets():
            kind, body = packet[:1], packet[1:]
            if kind == "2":  # the server's ping: answer, or it closes the connection
                self._send_packet("3")
            elif kind == "1":
                raise SocketIOError("the server closed the connection")
            elif kind == "4" and body.startswith("0"):
                self.pending.append(("connect", None))
            elif kind == "4" and body.startswith("2"):
                name, *args = json.loads(body[1:])
                self.pending.append((name, args[0] if args else None))
            elif kind == "4" and body.startswith("4"):
                raise SocketIOError(f"the namespace refused the connection: {body[1:]}")

    def _receive_packets(self) -> list[str]:
        response = self.http.get(self.endpoint, params=self.params)
        if response.status_code != 200:
            raise SocketIOError(f"polling answered {response.status_code}: {response.text[:200]}")
        return [packet for packet in response.text.split(SEPARATOR) if packet]

    def _send_packet(self, packet: str) -> None:
        response = self.http.post(self.endpoint, params=self.params, content=packet.encode())
        if response.status_code != 200:
            raise SocketIOError(f"sending answered {response.status_code}: {response.text[:200]}")
