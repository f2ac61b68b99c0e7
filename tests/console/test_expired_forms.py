"""A form posted after the session expired, or with a stale CSRF token, gives the agent a
page (sign in and come back, or go back), never raw JSON; API clients still get JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from console.urls import conversation_url
from gapdesk.storage.models import ConsoleSession
from tests.console.conftest import PASSWORD, escalate, sign_in

CONSOLE = "http://127.0.0.1:8000"  # the test client's base URL
PAGE = conversation_url("a/b")  # an id with "/" must survive the round trip


def _claimed(app_factory, console_store):
    """A client whose agent claimed conversation "a/b", and its CSRF token."""
    escalate(console_store, "a/b")
    client = app_factory()
    csrf = sign_in(client, "agent")
    assert client.post(f"{PAGE}/claim", data={"csrf_token": csrf}).status_code == 303
    return client, csrf


def _expire_sessions(console_store) -> None:
    with console_store.session() as session:
        past = datetime.now(UTC) - timedelta(minutes=1)
        session.execute(update(ConsoleSession).values(expires_at=past))


def _next_of(location: str) -> str:
    assert location.startswith("/login?"), location
    return parse_qs(urlsplit(location).query)["next"][0]


def test_an_expired_session_sends_the_agent_to_sign_in_and_back(
    app_factory, console_store, rasa
) -> None:
    client, csrf = _claimed(app_factory, console_store)
    _expire_sessions(console_store)
    form_page = f"{PAGE}?notice=claimed"
    response = client.post(
        f"{PAGE}/reply",
        data={"csrf_token": csrf, "text": "Your refund left today."},
        headers={"referer": CONSOLE + form_page},
    )
    assert response.status_code == 303 and _next_of(response.headers["location"]) == form_page
    assert rasa.events == {}  # nothing reached the customer

    login = client.get(response.headers["location"])
    assert f'name="next" value="{form_page}"' in login.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    signed_in = client.post(
        "/login",
        data={"csrf_token": token, "username": "agent", "password": PASSWORD, "next": form_page},
    )
    assert signed_in.headers["location"] == form_page
    assert client.get(form_page).status_code == 200


@pytest.mark.parametrize(
    "referer",
    [None, "https://elsewhere.example/conversations/x", f"{CONSOLE}//elsewhere.example/"],
)
def test_without_a_usable_referer_the_way_back_is_the_conversation(
    app_factory, console_store, referer
) -> None:
    client, csrf = _claimed(app_factory, console_store)
    _expire_sessions(console_store)
    headers = {"referer": referer} if referer else {}
    response = client.post(f"{PAGE}/hand-back", data={"csrf_token": csrf}, headers=headers)
    assert _next_of(response.headers["location"]) == PAGE
    label = client.post("/turns/1/label", data={"csrf_token": csrf}, headers=headers)
    assert _next_of(label.headers["location"]) == "/queue"  # no conversation in its path


def test_a_stale_csrf_token_shows_a_page_with_the_way_back(
    app_factory, console_store, rasa
) -> None:
    client, _ = _claimed(app_factory, console_store)
    response = client.post(
        f"{PAGE}/reply",
        data={"csrf_token": "from an older session", "text": "hello"},
        headers={"referer": CONSOLE + PAGE},
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "The form has expired" in response.text and f'href="{PAGE}"' in response.text
    assert rasa.events == {}


def test_json_clients_still_get_json(app_factory, console_store) -> None:
    client, csrf = _claimed(app_factory, console_store)
    as_json = {"accept": "application/json"}
    stale = client.post(f"{PAGE}/reply", data={"csrf_token": "x", "text": "hi"}, headers=as_json)
    assert stale.status_code == 403
    assert stale.json() == {"error": "The form has expired; reload the page."}
    _expire_sessions(console_store)
    for response in (
        client.post(f"{PAGE}/reply", data={"csrf_token": csrf, "text": "hi"}, headers=as_json),
        client.post(f"{PAGE}/reply", json={"text": "hi"}, headers={"x-csrf-token": csrf}),
        client.get(PAGE, headers=as_json),
    ):
        assert response.status_code == 401 and response.json() == {"error": "Please sign in."}


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_signing_in_never_leads_off_the_site(app_factory, target) -> None:
    client = app_factory()
    page = client.get("/login", params={"next": target})
    assert 'name="next" value="/queue"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": "agent", "password": PASSWORD, "next": target},
    )
    assert response.headers["location"] == "/queue"
