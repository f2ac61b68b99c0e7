"""Sign-in, sessions, CSRF protection, login throttling and roles.

A session is a random token in an HttpOnly, SameSite=Strict cookie; the database keeps
only its SHA-256, so a leaked database row cannot be replayed as a cookie. Every
state-changing request must carry the session's CSRF token (form field ``csrf_token``
or header ``X-CSRF-Token``). Throttling lives in the database too, so several console
instances share it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from sqlalchemy import delete, func, select, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from console.urls import conversation_url, local_path
from gapdesk.accounts import authenticate
from gapdesk.storage.models import ConsoleSession, LoginFailure, User, as_utc
from gapdesk.storage.store import Store

SESSION_COOKIE = "gapdesk_session"
LOGIN_CSRF_COOKIE = "gapdesk_login_csrf"
ROLE_RANK = {"agent": 1, "supervisor": 2, "admin": 3}
MAX_FAILURES = 5  # per user name and per address ...
FAILURE_WINDOW = timedelta(minutes=15)  # ... within this window
PRESENCE_WRITE_INTERVAL = timedelta(seconds=30)


@dataclass(frozen=True)
class ConsoleUser:
    username: str
    display_name: str
    role: str
    csrf_token: str

    def can(self, role: str) -> bool:
        """Roles nest: a supervisor can do what an agent can, an admin everything."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many_failures(store: Store, username: str, address: str) -> bool:
    since = datetime.now(UTC) - FAILURE_WINDOW
    with store.session() as session:
        by_name, by_address = (
            session.scalar(
                select(func.count(LoginFailure.id)).where(
                    column == value, LoginFailure.created_at >= since
                )
            )
            or 0
            for column, value in (
                (LoginFailure.username, username),
                (LoginFailure.address, address),
            )
        )
    return by_name >= MAX_FAILURES or by_address >= MAX_FAILURES * 4


def sign_in(
    store: Store, username: str, password: str, address: str, lifetime_hours: int
) -> tuple[str, ConsoleUser] | None:
    """Check the password; on success a new session token and its user.

    The attempt is counted before the (slow) password check, so a burst of parallel
    guesses is counted in full; a success clears the name's count.
    """
    with store.session() as session:
        attempt = LoginFailure(username=username[:64], address=address[:64])
        session.add(attempt)
    account = authenticate(store, username, password)
    if account is None:
        return None
    with store.session() as session:
        session.execute(delete(LoginFailure).where(LoginFailure.username == account.username))
        # Expired sessions and old failures are removed here rather than by a separate job.
        session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < datetime.now(UTC)))
        session.execute(
            delete(LoginFailure).where(LoginFailure.created_at < datetime.now(UTC) - FAILURE_WINDOW)
        )
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session.add(
            ConsoleSession(
                token_hash=_hash(token),
                username=account.username,
                csrf_token=csrf,
                expires_at=datetime.now(UTC) + timedelta(hours=lifetime_hours),
            )
        )
    return token, ConsoleUser(account.username, account.display_name, account.role, csrf)


def sign_out(store: Store, token: str) -> None:
    with store.session() as session:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))


def session_user(store: Store, token: str | None) -> ConsoleUser | None:
    """The signed-in user of a session cookie (and a presence mark), or None."""
    if not token:
        return None
    now = datetime.now(UTC)
    with store.session() as session:
        row = session.execute(
            select(ConsoleSession, User)
            .join(User, User.username == ConsoleSession.username)
            .where(ConsoleSession.token_hash == _hash(token))
        ).first()
        if row is None:
            return None
        console_session, user = row
        if not user.active or as_utc(console_session.expires_at) < now:
            return None
        last_seen = as_utc(user.last_seen_at) if user.last_seen_at else None
        if last_seen is None or now - last_seen > PRESENCE_WRITE_INTERVAL:
            session.execute(update(User).where(User.id == user.id).values(last_seen_at=now))
        return ConsoleUser(user.username, user.display_name, user.role, console_session.csrf_token)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


Handler = Callable[[Request, ConsoleUser], Awaitable[Response]]


def requires(role: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Guard a route: signed in, at least ``role``, and a CSRF token on every change.

    A browser (a page, or a form posted from one) without a session is sent to the
    sign-in page, and from there back to the page it was on; a JSON or API client gets
    a 401. A wrong role gets a 403, a missing or wrong CSRF token a 403 too (for a
    browser, an error page with a link back to the page of the form).
    """

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @wraps(handler)
        async def guarded(request: Request) -> Response:
            store: Store = request.app.state.store
            token = request.cookies.get(SESSION_COOKIE)
            user = await run_in_threadpool(session_user, store, token)
            if user is None:
                if _from_browser(request):  # back to where they were once signed in
                    query = urlencode({"next": _page_of(request)})
                    return RedirectResponse(f"/login?{query}", status_code=303)
                return _refuse(request, 401, "Please sign in.")
            if not user.can(role):
                return _refuse(request, 403, f"This needs the {role} role.")
            if request.method not in ("GET", "HEAD"):
                given = request.headers.get("x-csrf-token")
                if given is None and _is_form(request):
                    given = (await request.form()).get("csrf_token")  # type: ignore[assignment]
                if not csrf_matches(user.csrf_token, given):
                    message = "The form has expired; reload the page."
                    return _refuse(request, 403, message, back=_page_of(request))
            request.state.user = user
            return await handler(request, user)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded

    return decorate


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _from_browser(request: Request) -> bool:
    """A page or a posted HTML form: answered with pages, never with JSON."""
    return not _wants_json(request) and (request.method == "GET" or _is_form(request))


def _page_of(request: Request) -> str:
    """The page the agent was on: this one for a GET; for a form post, the page that
    held the form (its Referer, if on this site), else the conversation it acts on."""
    if request.method == "GET":
        raw = request.scope.get("raw_path")  # as sent: an id's quoted "/" stays quoted
        path = raw.decode("latin-1") if raw is not None else quote(request.url.path)
        return path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    page = referer.path + (f"?{referer.query}" if referer.query else "")
    conversation = request.path_params.get("conversation_id")
    fallback = conversation_url(conversation) if conversation else "/queue"
    return local_path(page, fallback) if referer.netloc == request.url.netloc else fallback


def _refuse(request: Request, status: int, message: str, back: str = "") -> Response:
    """A page for a browser, ``{"error": message}`` for a JSON or API client."""
    if not _from_browser(request):
        return JSONResponse({"error": message}, status_code=status)
    templates: Any = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"message": message, "user": None, "back": back}, status_code=status
    )
