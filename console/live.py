"""Live updates by server-sent events: "something changed, fetch the part again".

Each open page gets a stream that looks for changes once a second (the database, and
for a conversation also Rasa's tracker, where customer messages sent to a paused bot
appear) and sends a ``changed`` event; the page's script then fetches the server-rendered
part. Every 30 seconds the stream checks its session again (signed out, expired or
disabled: the stream ends) and so keeps a signed-in agent marked as online.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from console import casework
from console.auth import SESSION_COOKIE, ConsoleUser, requires, session_user
from gapdesk.errors import EngineError, StorageError

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
SESSION_CHECK_SECONDS = 30.0  # = console.auth.PRESENCE_WRITE_INTERVAL


def _still_signed_in(request: Request, role: str) -> bool:
    """The stream's session is valid and its user still has ``role`` (marks presence)."""
    user = session_user(request.app.state.store, request.cookies.get(SESSION_COOKIE))
    return user is not None and user.can(role)


async def _changes(
    request: Request, user: ConsoleUser, signature: Callable[[], str]
) -> AsyncIterator[str]:
    last: str | None = None
    last_sent = last_check = time.monotonic()
    yield "retry: 3000\n\n"
    while not await request.is_disconnected():
        now = time.monotonic()
        if now - last_check >= SESSION_CHECK_SECONDS:
            if not await run_in_threadpool(_still_signed_in, request, "agent"):
                yield "event: signed-out\ndata: {}\n\n"
                return
            last_check = now
        try:
            current: str | None = await run_in_threadpool(signature)
        except (StorageError, EngineError):
            current = last  # a passing outage: the page keeps what it shows
        if last is not None and current != last:
            yield "event: changed\ndata: {}\n\n"
            last_sent = now
        elif now - last_sent >= KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = now
        last = current
        await asyncio.sleep(POLL_SECONDS)


def _stream(events: AsyncIterator[str]) -> Response:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


@requires("agent")
async def queue_events(request: Request, user: ConsoleUser) -> Response:
    store = request.app.state.store
    return _stream(_changes(request, user, lambda: casework.queue_signature(store)))


@requires("agent")
async def conversation_events(request: Request, user: ConsoleUser) -> Response:
    store = request.app.state.store
    rasa = request.app.state.rasa
    conversation_id = str(request.path_params["conversation_id"])
    if not await run_in_threadpool(casework.can_view, store, user, conversation_id):
        return Response(status_code=404)

    def signature() -> str:
        try:
            events = len(rasa.tracker(conversation_id).get("events") or [])
        except EngineError:
            events = -1  # Rasa away: database changes still show
        return f"{casework.conversation_signature(store, conversation_id)}|{events}"

    return _stream(_changes(request, user, signature))
