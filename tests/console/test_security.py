"""Every state-changing endpoint refuses strangers, wrong roles and missing CSRF tokens;
what customers wrote is shown as text; pages never carry a token for Rasa."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Route

from console.app import create_app
from gapdesk.settings import Settings
from tests.console.conftest import escalate, sign_in

ROLE_BELOW = {"supervisor": "agent", "admin": "supervisor"}


def _state_changing_routes() -> list[tuple[str, str]]:
    """(path, required role) of every POST route except the sign-in form itself."""
    app = create_app(Settings(rasa_jwt_secret="x" * 40), store=object(), rasa=object())  # type: ignore[arg-type]
    routes = []
    for route in app.routes:
        if isinstance(route, Route) and "POST" in (route.methods or ()) and route.path != "/login":
            role = getattr(route.endpoint, "required_role", None)
            assert role, f"POST {route.path} is not guarded by console.auth.requires"
            path = route.path.replace("{conversation_id}", "c1").replace("{turn_id:int}", "1")
            routes.append((path.replace("{username}", "agent"), role))
    return routes


ROUTES = _state_changing_routes()


def test_the_routes_under_test_are_all_there() -> None:
    paths = {path for path, _ in ROUTES}
    assert {"/logout", "/conversations/c1/claim", "/conversations/c1/reply",
            "/conversations/c1/hand-back", "/conversations/c1/resolve", "/turns/1/label",
            "/admin/users", "/admin/users/agent"} <= paths  # fmt: skip


@pytest.mark.parametrize(("path", "role"), ROUTES)
def test_without_a_session_nothing_changes(app_factory, console_store, rasa, path, role) -> None:
    escalate(console_store, "c1")
    client = app_factory()
    form = client.post(path, data={"text": "hi", "csrf_token": "guess"})  # a browser: sign in
    assert form.status_code == 303 and form.headers["location"].startswith("/login?next=")
    api = client.post(path, json={"text": "hi"}, headers={"x-csrf-token": "guess"})
    assert api.status_code == 401 and api.json() == {"error": "Please sign in."}
    assert rasa.events == {}


@pytest.mark.parametrize(("path", "role"), ROUTES)
def test_without_the_csrf_token_nothing_changes(
    app_factory, console_store, rasa, path, role
) -> None:
    escalate(console_store, "c1")
    client = app_factory()
    sign_in(client, "admin")
    for data in ({"text": "hi"}, {"text": "hi", "csrf_token": "wrong"}):
        assert client.post(path, data=data).status_code == 403
    assert rasa.events == {}


@pytest.mark.parametrize(("path", "role"), [(p, r) for p, r in ROUTES if r in ROLE_BELOW])
def test_a_lower_role_is_refused(app_factory, console_store, path, role) -> None:
    client = app_factory()
    csrf = sign_in(client, ROLE_BELOW[role])
    assert client.post(path, data={"csrf_token": csrf}).status_code == 403


PAGES = {
    "/queue": "agent",
    "/queue/table": "agent",
    "/queue/live": "agent",
    "/conversations/c1": "agent",
    "/conversations/c1/parts": "agent",
    "/conversations/c1/live": "agent",
    "/review": "supervisor",
    "/audit": "supervisor",
    "/models": "supervisor",
    "/reports": "supervisor",
    "/reports/report.json": "supervisor",
    "/admin/users": "admin",
}


@pytest.mark.parametrize(("path", "role"), PAGES.items())
def test_pages_need_a_session_and_the_role(app_factory, console_store, path, role) -> None:
    escalate(console_store, "c1")
    stranger = app_factory()
    response = stranger.get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    if role in ROLE_BELOW:
        client = app_factory()
        sign_in(client, ROLE_BELOW[role])
        assert client.get(path).status_code == 403


def test_a_customer_script_is_shown_as_text(app_factory, console_store, rasa) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    escalate(console_store, "c1", text=hostile)
    escalate(console_store, "c2", text=hostile, decision="answer")
    rasa.events["c1"] = [{"event": "user", "text": hostile, "message_id": "m-c1", "timestamp": 1}]
    client = app_factory()
    sign_in(client, "supervisor")
    for page in (client.get("/conversations/c1"), client.get("/review")):
        assert "&lt;script&gt;alert(" in page.text
        assert "<script>alert" not in page.text and "<img src=x" not in page.text


def test_pages_carry_no_token_and_a_strict_policy(app_factory, console_store) -> None:
    escalate(console_store, "c1")
    client = app_factory()
    sign_in(client, "supervisor")
    for path in ("/", "/queue", "/conversations/c1", "/review"):
        page = client.get(path)
        assert not re.search(r"eyJ[\w-]+\.[\w-]+\.", page.text), path  # no JWT
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_session_cookie_is_http_only_and_same_site(app_factory) -> None:
    client = app_factory()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": "agent", "password": "correct horse battery"},
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_sign_in_is_throttled_after_repeated_failures(app_factory) -> None:
    client = app_factory()
    statuses = []
    for _ in range(6):
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        statuses.append(
            client.post(
                "/login", data={"csrf_token": token, "username": "agent", "password": "wrong!"}
            ).status_code
        )
    assert statuses == [401] * 5 + [429]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    right = client.post(
        "/login",
        data={"csrf_token": token, "username": "agent", "password": "correct horse battery"},
    )
    assert right.status_code == 429  # even the right password waits out the window


def test_login_form_needs_its_csrf_cookie(app_factory) -> None:
    response = app_factory().post(
        "/login", data={"csrf_token": "x", "username": "agent", "password": "correct horse battery"}
    )
    assert response.status_code == 403


def test_next_parameter_cannot_redirect_elsewhere(app_factory) -> None:
    client = app_factory()
    page = client.get("/login?next=//evil.example/")
    assert 'name="next" value="/queue"' in page.text


def test_a_database_outage_is_a_503_page_not_a_crash(tmp_path) -> None:
    from starlette.testclient import TestClient

    from gapdesk.storage.store import Store, make_engine

    unmigrated = Store(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    settings = Settings(var_dir=str(tmp_path), rasa_jwt_secret="x" * 40)
    client = TestClient(create_app(settings, unmigrated, object()))  # type: ignore[arg-type]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login", data={"csrf_token": token, "username": "agent", "password": "whatever it is"}
    )
    assert response.status_code == 503
    assert "The database is not answering" in response.text
