"""Conversation ids are chosen by customers' channels: any of them can be opened and
worked on, and none makes a link that leads somewhere else in the console."""

from __future__ import annotations

from urllib.parse import unquote, urljoin, urlsplit

import pytest

from console.urls import conversation_url
from tests.console.conftest import escalate, sign_in

ODD_IDS = ["a/b", "x/../../logout", "100% sure?", "ünïcode id", "x/parts", "a%2Fb"]


@pytest.mark.parametrize("conversation_id", ODD_IDS)
def test_a_link_stays_on_its_conversation(conversation_id: str) -> None:
    for action in ("", "claim", "reply"):
        link = conversation_url(conversation_id, action)
        # What a browser makes of the link on the queue page (dot segments resolved):
        resolved = urlsplit(urljoin("http://console.example/queue", link))
        assert resolved.path == link and not resolved.query and not resolved.fragment
        segments = link.split("/")  # the id is one segment, whatever it holds
        assert len(segments) == (4 if action else 3) and unquote(segments[2]) == conversation_id


@pytest.mark.parametrize("conversation_id", ODD_IDS)
def test_any_conversation_id_can_be_opened_claimed_answered_and_closed(
    app_factory, console_store, rasa, conversation_id
) -> None:
    turn_id = escalate(console_store, conversation_id)
    escalate(console_store, "x")  # a conversation a misrouted "x/parts" would show
    client = app_factory()
    csrf = sign_in(client, "supervisor")
    page_url = conversation_url(conversation_id)

    assert f'href="{page_url}"' in client.get("/queue").text
    page = client.get(page_url)
    assert page.status_code == 200 and 'id="live-parts"' in page.text
    assert f"<code>{conversation_id}</code>" in page.text
    assert f'action="{conversation_url(conversation_id, "claim")}"' in page.text
    parts = client.get(conversation_url(conversation_id, "parts"))
    assert parts.status_code == 200 and f"<code>{conversation_id}</code>" in parts.text

    def post(action: str, **form: str) -> str:
        response = client.post(
            conversation_url(conversation_id, action), data={"csrf_token": csrf, **form}
        )
        assert response.status_code == 303, response.text
        location: str = response.headers["location"]
        assert location.startswith(f"{page_url}?notice="), location
        return location.partition("?notice=")[2]

    assert post("claim") == "claimed"
    assert f'action="{conversation_url(conversation_id, "reply")}"' in client.get(page_url).text
    assert post("reply", text="Hello") == "replied"
    assert rasa.events[conversation_id][-1]["text"] == "Supervisor Person: Hello"
    labelled = client.post(f"/turns/{turn_id}/label", data={"csrf_token": csrf, "is_gap": "no"})
    assert labelled.headers["location"] == f"{page_url}?notice=labelled"
    assert post("hand-back", message="Bye") == "handed_back"
    assert post("claim") == "claimed"  # a supervisor may take over from the bot
    assert post("resolve") == "resolved"
    assert f'href="{page_url}"' in client.get("/audit").text
    assert rasa.events.keys() == {conversation_id}  # nothing went to another conversation


def test_a_page_for_an_odd_id_comes_back_after_signing_in(app_factory, console_store) -> None:
    escalate(console_store, "a/b")
    client = app_factory()
    response = client.get(conversation_url("a/b"), params={"notice": "claimed"})
    assert response.status_code == 303
    login = client.get(response.headers["location"])
    assert 'name="next" value="/conversations/a%2Fb?notice=claimed"' in login.text
