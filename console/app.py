"""The console's web application: ``create_app`` wires pages, assets and services.

``make run`` (``gapdesk up``) starts it beside Rasa and the actions; ``python -m console``
runs it alone.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console import conversation_pages, live, pages, report_pages
from console.urls import ConversationRoute, conversation_url
from gapdesk.engine.client import RasaClient
from gapdesk.errors import EngineError, StorageError
from gapdesk.policy import trust_rule
from gapdesk.settings import Settings
from gapdesk.storage.store import Store, make_engine
from gapdesk.trust import HELP as TRUST_HELP
from gapmodel.knowledge import KnowledgeBase

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
WEBCHAT_BUNDLE = HERE / "node_modules" / "rasa-webchat" / "lib" / "index.js"
# The widget's stylesheet imports a web font from Google; the page must not call out.
_FONT_IMPORT = re.compile(r"@import url\(https://fonts\.googleapis\.com/[^)]*\);?")


def content_security_policy(rasa_url: str) -> str:
    """Only this origin, plus Rasa's socket.io endpoint for the widget."""
    rasa = urlsplit(rasa_url)
    socket = f"{'wss' if rasa.scheme == 'https' else 'ws'}://{rasa.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; font-src 'self'; connect-src 'self' {rasa_url} {socket}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )


class SecurityHeaders:
    """CSP and friends on every response (a pure ASGI middleware: SSE streams pass)."""

    def __init__(self, app: ASGIApp, policy: str, https: bool) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]
        if https:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def webchat_bundle(request: Request) -> Response:
    """rasa-webchat's UMD bundle from the npm install, without its web-font import."""
    if not WEBCHAT_BUNDLE.is_file():
        return PlainTextResponse(
            "rasa-webchat is not installed: run `make install`", status_code=503
        )
    cached: str | None = getattr(request.app.state, "webchat_bundle", None)
    if cached is None:
        cached = _FONT_IMPORT.sub("", WEBCHAT_BUNDLE.read_text(encoding="utf-8"))
        request.app.state.webchat_bundle = cached
    return Response(
        cached,
        media_type="application/javascript",
        headers={"cache-control": "public, max-age=3600"},
    )


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _trust(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _duration(seconds: int) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min" if minutes else "< 1 min"


def _when(value: str | None) -> str:
    """ISO time as 'YYYY-MM-DD HH:MM:SS UTC' (times are stored in UTC)."""
    return value[:19].replace("T", " ") + " UTC" if value else ""


# What the console depends on, when it fails: the HTTP status and who is not answering.
_DEPENDENCIES: dict[type[Exception], tuple[int, str]] = {
    StorageError: (503, "The database"),
    EngineError: (502, "Rasa"),
}


async def _dependency_failed(request: Request, exc: Exception) -> Response:
    status, who = next(v for kind, v in _DEPENDENCIES.items() if isinstance(exc, kind))
    logger.error("%s failed on %s: %s", who, request.url.path, exc)
    templates: Jinja2Templates = request.app.state.templates
    message = f"{who} is not answering. Try again in a moment."
    return templates.TemplateResponse(
        request, "error.html", {"message": message, "user": None}, status_code=status
    )


def health(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(
    settings: Settings, store: Store | None = None, rasa: RasaClient | None = None
) -> Starlette:
    store = store or Store(make_engine(settings.database_url), trust_rule(settings))
    rasa = rasa or RasaClient.from_settings(settings, timeout=10)
    routes = [
        Route("/", pages.widget_page),
        Route("/health", health),
        Route("/static/vendor/webchat.js", webchat_bundle),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        Route("/login", pages.login_page, methods=["GET"]),
        Route("/login", pages.login_submit, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/queue", pages.queue_page),
        Route("/queue/table", pages.queue_table),
        Route("/queue/live", live.queue_events),
        Route("/review", pages.review_page),
        Route("/audit", pages.audit_page),
        Route("/models", pages.models_page),
        Route("/reports", report_pages.reports_page),
        Route("/reports/report.json", report_pages.report_json),
        Route("/admin/users", pages.users_page, methods=["GET"]),
        Route("/admin/users", pages.create_user, methods=["POST"]),
        Route("/admin/users/{username}", pages.update_user, methods=["POST"]),
        # Conversation ids may contain "/" (customers' channels choose them): ConversationRoute
        # matches them as sent.
        ConversationRoute("/conversations/{conversation_id}", conversation_pages.view),
        ConversationRoute("/conversations/{conversation_id}/parts", conversation_pages.parts),
        ConversationRoute("/conversations/{conversation_id}/live", live.conversation_events),
        ConversationRoute(
            "/conversations/{conversation_id}/claim", conversation_pages.claim, methods=["POST"]
        ),
        ConversationRoute(
            "/conversations/{conversation_id}/reply", conversation_pages.reply, methods=["POST"]
        ),
        ConversationRoute(
            "/conversations/{conversation_id}/hand-back",
            conversation_pages.hand_back,
            methods=["POST"],
        ),
        ConversationRoute(
            "/conversations/{conversation_id}/resolve", conversation_pages.resolve, methods=["POST"]
        ),
        Route("/turns/{turn_id:int}/label", conversation_pages.label, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                SecurityHeaders,
                policy=content_security_policy(settings.rasa_url),
                https=settings.console_url.startswith("https://"),
            )
        ],
        exception_handlers=dict.fromkeys(_DEPENDENCIES, _dependency_failed),
    )
    templates = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html
    templates.env.filters.update(
        percent=_percent,
        trust=_trust,
        duration=_duration,
        when=_when,
        conversation_url=conversation_url,
    )
    # What "trust 0.62" means, as the pages' tooltip (gapdesk.trust).
    templates.env.globals["trust_help"] = TRUST_HELP
    app.state.settings = settings
    app.state.store = store
    app.state.rasa = rasa
    app.state.templates = templates
    app.state.knowledge_base = KnowledgeBase.load()  # the intents agents may label with
    return app
