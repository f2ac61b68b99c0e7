"""The console's URLs: a conversation's path, the routes that read it back, and which
paths a redirect may lead to.

Conversation ids are chosen by the customer's channel (Rasa's ``sender``), so they may
hold "/", "..", "%", "?", spaces or any other character.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.routing import Match, Route
from starlette.types import Scope


def conversation_url(conversation_id: str, action: str = "") -> str:
    """The path of a conversation's page, or of one of its actions ("claim", "reply", ...).

    The id is quoted with no safe characters: with "/" left as is, an id such as
    "x/../../logout" would make a link that a browser resolves to another console route.
    (An id of exactly "." or ".." cannot be a path segment at all: browsers drop it.)
    """
    path = f"/conversations/{quote(conversation_id, safe='')}"
    return f"{path}/{action}" if action else path


class ConversationRoute(Route):
    """A route whose ``{conversation_id}`` is one segment of the path as the browser sent it.

    Servers decode %2F before routing, so the id "a/b" would span two segments: it would
    match no route, or the wrong one ("x/parts" read as the parts of "x"). Matching on
    the raw path keeps the id in its own segment; the id is then unquoted here, once.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw_path = scope.get("raw_path")
        if raw_path is None:  # optional in ASGI; uvicorn and Starlette's TestClient send it
            return super().matches(scope)
        match, child_scope = super().matches({**scope, "path": raw_path.decode("latin-1")})
        if match is not Match.NONE:
            params = child_scope["path_params"]
            params["conversation_id"] = unquote(params["conversation_id"])
        return match, child_scope


def local_path(target: str | None, default: str = "/queue") -> str:
    """``target`` if it is a path on this site, else ``default``: no open redirect
    through ?next= (a "//host" or "/\\host" path would leave the site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
