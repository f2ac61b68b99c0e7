"""Sign-in, the queue, the review inbox, users and the audit log, and the widget page."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console import casework, review
from console.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleUser,
    client_address,
    csrf_matches,
    requires,
    sign_in,
    sign_out,
    too_many_failures,
)
from console.urls import local_path
from gapdesk.accounts import ROLES, list_users, set_user
from gapdesk.accounts import create_user as create_account
from gapdesk.errors import AccountError
from gapdesk.registry import Registry
from gapdesk.settings import Settings

SEARCH_LIMIT = 200  # characters of a review search


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    user = getattr(request.state, "user", None)
    return request.app.state.templates.TemplateResponse(
        request,
        template,
        {"user": user, "csrf_token": user.csrf_token if user else "", **context},
        status_code=status_code,
    )


def _secure(request: Request) -> bool:
    """Secure cookies when the console is served over https (behind a TLS proxy the
    request itself looks like http, so the configured URL decides)."""
    settings: Settings = request.app.state.settings
    return settings.console_url.startswith("https://")


# -- the customers' widget ----------------------------------------------------------


async def widget_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    business = request.app.state.knowledge_base.business
    return render(request, "widget.html", {"socket_url": settings.rasa_url, "business": business})


# -- signing in and out -------------------------------------------------------------


async def login_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "error": error,
            "next": local_path(request.query_params.get("next")),
        },
        status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


async def login_submit(request: Request) -> Response:
    store = request.app.state.store
    settings: Settings = request.app.state.settings
    form = await request.form()
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf_token"))):
        return await login_page(request, "The form expired. Please try again.", 403)
    username = str(form.get("username") or "").strip().lower()[:64]
    password = str(form.get("password") or "")[:1024]
    address = client_address(request)
    if await run_in_threadpool(too_many_failures, store, username, address):
        return await login_page(
            request, "Too many failed sign-ins. Wait 15 minutes and try again.", 429
        )
    signed_in = await run_in_threadpool(
        sign_in, store, username, password, address, settings.console_session_hours
    )
    if signed_in is None:
        return await login_page(request, "Wrong user name or password.", 401)
    token, user = signed_in
    await run_in_threadpool(casework.audit, store, user.username, "sign_in")
    response = RedirectResponse(local_path(str(form.get("next") or "")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.console_session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@requires("agent")
async def logout(request: Request, user: ConsoleUser) -> Response:
    store = request.app.state.store
    await run_in_threadpool(sign_out, store, request.cookies.get(SESSION_COOKIE, ""))
    await run_in_threadpool(casework.audit, store, user.username, "sign_out")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- the queue ------------------------------------------------------------------------


@requires("agent")
async def queue_page(request: Request, user: ConsoleUser) -> Response:
    items = await run_in_threadpool(casework.queue, request.app.state.store)
    return render(request, "queue.html", {"items": items})


@requires("agent")
async def queue_table(request: Request, user: ConsoleUser) -> Response:
    items = await run_in_threadpool(casework.queue, request.app.state.store)
    return render(request, "_queue_table.html", {"items": items})


# -- the review inbox -----------------------------------------------------------------


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


def _score(value: str | None) -> float:
    try:
        return min(1.0, max(0.0, float(value or 0)))
    except ValueError:
        return 0.0


@requires("supervisor")
async def review_page(request: Request, user: ConsoleUser) -> Response:
    params = request.query_params
    date_to = _date(params.get("to"))
    filters = review.ReviewFilter(
        intent=params.get("intent", "")[:128],
        channel=params.get("channel", "")[:64],
        date_from=_date(params.get("from")),
        date_to=date_to + timedelta(days=1) if date_to else None,  # "to" includes the day
        min_score=_score(params.get("min_score")),
        search=params.get("q", "")[:SEARCH_LIMIT],
    )
    store = request.app.state.store
    rows = await run_in_threadpool(review.review, store, filters)
    choices = await run_in_threadpool(review.filter_choices, store)
    found = []
    if filters.search:
        found = await run_in_threadpool(review.search_conversations, store, filters.search)
    return render(
        request,
        "review.html",
        {"rows": rows, "choices": choices, "params": dict(params), "conversations": found},
    )


@requires("supervisor")
async def models_page(request: Request, user: ConsoleUser) -> Response:
    """The model versions: which one serves, and the figures each was judged by."""
    registry = Registry(request.app.state.store, request.app.state.settings.models_path)
    versions = await run_in_threadpool(registry.versions)
    return render(request, "models.html", {"versions": [v.as_dict() for v in versions]})


@requires("supervisor")
async def audit_page(request: Request, user: ConsoleUser) -> Response:
    events = await run_in_threadpool(review.audit_log, request.app.state.store)
    return render(request, "audit.html", {"events": events})


# -- users ----------------------------------------------------------------------------


async def _users_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    accounts = await run_in_threadpool(list_users, request.app.state.store)
    return render(
        request,
        "users.html",
        {"accounts": accounts, "roles": ROLES, "error": error},
        status_code,
    )


@requires("admin")
async def users_page(request: Request, user: ConsoleUser) -> Response:
    return await _users_page(request)


@requires("admin")
async def create_user(request: Request, user: ConsoleUser) -> Response:
    form = await request.form()
    store = request.app.state.store
    username = str(form.get("username") or "").strip().lower()
    try:
        await run_in_threadpool(
            create_account,
            store,
            username,
            str(form.get("password") or ""),
            str(form.get("role") or ""),
            str(form.get("display_name") or "").strip()[:128],
        )
    except AccountError as exc:
        return await _users_page(request, str(exc), 400)
    await run_in_threadpool(
        casework.audit, store, user.username, "user_create", None, username=username
    )
    return RedirectResponse("/admin/users", status_code=303)


@requires("admin")
async def update_user(request: Request, user: ConsoleUser) -> Response:
    form = await request.form()
    store = request.app.state.store
    username = request.path_params["username"]
    role = str(form.get("role") or "")
    active = form.get("active") == "on"
    if username == user.username and (not active or role != user.role):
        return await _users_page(
            request, "You cannot lock yourself out or lower your own role.", 400
        )
    try:
        await run_in_threadpool(set_user, store, username, role, active)
    except AccountError as exc:
        return await _users_page(request, str(exc), 400)
    await run_in_threadpool(
        casework.audit, store, user.username, "user_update", None,
        username=username, role=role, active=active,
    )  # fmt: skip
    return RedirectResponse("/admin/users", status_code=303)
