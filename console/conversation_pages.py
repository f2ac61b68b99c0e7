"""One conversation: the transcript with verdicts, and the takeover actions."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console import casework, transcript
from console.auth import ConsoleUser, requires
from console.handoff import Handoff, can_receive_pushes
from console.pages import render
from console.urls import conversation_url
from gapdesk.errors import EngineError
from gapdesk.labels import OUT_OF_SCOPE
from gapmodel.knowledge import KnowledgeBase

logger = logging.getLogger(__name__)

MAX_REPLY = 2_000
MAX_IDEAL_ANSWER = 4_000
MAX_ID = 2**63 - 1  # the largest id an SQL BIGINT (and SQLite's INTEGER) holds

NOTICES = {
    "claimed": "You own this conversation now: the bot stays silent until you hand it back.",
    "taken": "Someone else claimed this conversation first.",
    "not_owner": "Only the agent who claimed this conversation (or a supervisor) can do that, "
    "and only while it is claimed.",
    "no_push": "This customer's channel cannot receive messages from an agent: nothing was sent.",
    "replied": "Sent.",
    "empty": "Write something first.",
    "too_long": f"A reply can have at most {MAX_REPLY} characters.",
    # An EngineError from Rasa's API: Rasa is down, or answered 500 because the customer's
    # channel failed to send (bot/channels.py raises for pushes); Rasa kept nothing.
    "rasa_down": "Not done: Rasa did not answer, or could not deliver to the customer's "
    "channel. Nothing reached the customer and nothing changed here; try again.",
    "handed_back": "Handed back: the bot answers again.",
    "resolved": "Resolved and closed.",
    "labelled": "Label saved.",
    "bad_label": "That label is not valid.",
}


def _conversation_id(request: Request) -> str:
    return str(request.path_params["conversation_id"])


def _back(conversation_id: str, notice: str, **extra: str) -> Response:
    query = urlencode({"notice": notice, **extra})
    return RedirectResponse(f"{conversation_url(conversation_id)}?{query}", status_code=303)


def _knowledge_base(request: Request) -> KnowledgeBase:
    return request.app.state.knowledge_base


def _handoff(request: Request) -> Handoff:
    return Handoff(request.app.state.rasa)


async def _context(
    request: Request, user: ConsoleUser, conversation_id: str
) -> dict[str, Any] | None:
    store = request.app.state.store
    state = await run_in_threadpool(store.conversation, conversation_id)
    if state is None:
        return None
    details = transcript.by_message(state["turns"])
    try:
        tracker = await run_in_threadpool(request.app.state.rasa.tracker, conversation_id)
        items, rasa_ok = transcript.from_tracker(tracker, details), True
    except EngineError as exc:
        logger.warning("transcript from gapdesk's records only: %s", exc)
        items, rasa_ok = transcript.from_turns(details), False
    intents = sorted(_knowledge_base(request).answers)
    return {
        "conversation": state,
        "items": items,
        "rasa_ok": rasa_ok,
        "pushes": can_receive_pushes(state["channel"]),
        "owner": state["agent"],
        "may_act": casework.may_act(state["status"], state["agent"], user),
        "intents": [*intents, OUT_OF_SCOPE],
    }


async def _allowed(request: Request, user: ConsoleUser, conversation_id: str) -> bool:
    return await run_in_threadpool(
        casework.can_view, request.app.state.store, user, conversation_id
    )


@requires("agent")
async def view(request: Request, user: ConsoleUser) -> Response:
    conversation_id = _conversation_id(request)
    if not await _allowed(request, user, conversation_id):
        return render(
            request, "error.html", {"message": "No such conversation, or not yours to see."}, 404
        )
    context = await _context(request, user, conversation_id)
    if context is None:
        return render(request, "error.html", {"message": "No such conversation."}, 404)
    notice = NOTICES.get(request.query_params.get("notice", ""), "")
    owner = request.query_params.get("owner", "")[:64]
    return render(
        request, "conversation.html", {**context, "notice": notice, "notice_owner": owner}
    )


@requires("agent")
async def parts(request: Request, user: ConsoleUser) -> Response:
    """The live parts of the page (transcript and case panel), for the page's script."""
    conversation_id = _conversation_id(request)
    if not await _allowed(request, user, conversation_id):
        return render(request, "error.html", {"message": "Not yours to see."}, 404)
    context = await _context(request, user, conversation_id)
    if context is None:
        return render(request, "error.html", {"message": "No such conversation."}, 404)
    return render(request, "_conversation_parts.html", context)


@requires("agent")
async def claim(request: Request, user: ConsoleUser) -> Response:
    conversation_id = _conversation_id(request)
    store = request.app.state.store
    if not await _allowed(request, user, conversation_id):
        return render(request, "error.html", {"message": "Not yours to take."}, 404)
    owner = str((await request.form()).get("take_from") or "")
    if owner:  # a supervisor taking a claimed conversation from its owner
        taken = await run_in_threadpool(casework.take_from, store, conversation_id, user, owner)
        return _back(conversation_id, "claimed" if taken else "taken", owner=owner)
    pause = partial(_handoff(request).pause, conversation_id)
    try:
        result = await run_in_threadpool(casework.claim, store, conversation_id, user, pause)
    except EngineError:
        logger.exception("could not pause the bot in %s; not claimed", conversation_id)
        return _back(conversation_id, "rasa_down")
    if not result.won:
        return _back(conversation_id, "taken", owner=result.owner or "")
    return _back(conversation_id, "claimed")


@requires("agent")
async def reply(request: Request, user: ConsoleUser) -> Response:
    conversation_id = _conversation_id(request)
    store = request.app.state.store
    channel = await run_in_threadpool(casework.channel_of, store, conversation_id)
    if channel is None:
        return render(request, "error.html", {"message": "No such conversation."}, 404)
    if not can_receive_pushes(channel):
        return _back(conversation_id, "no_push")
    text = str((await request.form()).get("text") or "").strip()
    if not text:
        return _back(conversation_id, "empty")
    if len(text) > MAX_REPLY:
        return _back(conversation_id, "too_long")
    deliver = partial(_handoff(request).reply, conversation_id, user, text)
    try:
        sent = await run_in_threadpool(casework.reply, store, conversation_id, user, text, deliver)
    except EngineError:
        logger.exception("agent reply in %s not delivered", conversation_id)
        return _back(conversation_id, "rasa_down")
    return _back(conversation_id, "replied" if sent else "not_owner")


async def _release(request: Request, user: ConsoleUser, resolved: bool) -> Response:
    conversation_id = _conversation_id(request)
    handoff = _handoff(request)
    store = request.app.state.store
    form = await request.form()
    # On resolving, the agent may say whether the hand-over was needed: a label of the
    # turn the bot handed over, which `gapdesk retrain` learns from.
    needed = {"needed": True, "needless": False}.get(str(form.get("handover") or ""))
    if resolved:
        channel = await run_in_threadpool(casework.channel_of, store, conversation_id)
        resume = partial(handoff.resolve, conversation_id, channel)  # its channel's words
    else:
        message = str(form.get("message") or "").strip()[:MAX_REPLY]
        resume = partial(handoff.hand_back, conversation_id, user, message or None)
    try:
        done = await run_in_threadpool(
            casework.release, store, conversation_id, user, resolved, resume
        )
    except EngineError:
        logger.exception("could not resume the bot in %s", conversation_id)
        return _back(conversation_id, "rasa_down")
    if not done:
        return _back(conversation_id, "not_owner")
    if resolved and needed is not None:
        await run_in_threadpool(casework.label_handover, store, conversation_id, user, needed)
    return _back(conversation_id, "resolved" if resolved else "handed_back")


@requires("agent")
async def hand_back(request: Request, user: ConsoleUser) -> Response:
    return await _release(request, user, resolved=False)


@requires("agent")
async def resolve(request: Request, user: ConsoleUser) -> Response:
    return await _release(request, user, resolved=True)


@requires("agent")
async def label(request: Request, user: ConsoleUser) -> Response:
    turn_id = int(request.path_params["turn_id"])
    form = await request.form()
    store = request.app.state.store
    is_gap = {"yes": True, "no": False}.get(str(form.get("is_gap") or ""))
    correct_intent = str(form.get("correct_intent") or "")
    known = set(_knowledge_base(request).answers) | {OUT_OF_SCOPE, ""}
    conversation_id = (
        await run_in_threadpool(casework.conversation_of_turn, store, turn_id)
        if turn_id <= MAX_ID
        else None  # no row has it, and the database would fail on it (a 500)
    )
    if conversation_id is None or not await _allowed(request, user, conversation_id):
        return render(request, "error.html", {"message": "No such turn."}, 404)
    if is_gap is None or correct_intent not in known:
        return _back(conversation_id, "bad_label")
    ideal = str(form.get("ideal_answer") or "")[:MAX_IDEAL_ANSWER]
    await run_in_threadpool(
        casework.add_label, store, turn_id, user, is_gap, correct_intent or None, ideal
    )
    return _back(conversation_id, "labelled")
