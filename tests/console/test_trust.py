"""The customer's trust in the queue and the conversation view."""

from __future__ import annotations

from markupsafe import escape

from gapdesk.storage.recorder import new_record
from gapdesk.trust import HELP
from tests.console.conftest import escalate, sign_in


def test_the_queue_and_the_conversation_show_the_customers_trust(
    app_factory, console_store
) -> None:
    client = app_factory()
    sign_in(client, "agent")
    escalate(console_store, "c1")  # a hand-over out of doubt: bad 2, trust 4 / 7
    title = f'title="{escape(HELP)}"'

    for page in (client.get("/queue"), client.get("/queue/table")):
        assert "trust 0.57" in page.text
        assert title in page.text
    conversation = client.get("/conversations/c1")
    assert "trust <strong>0.57</strong>" in conversation.text
    assert title in conversation.text


def test_trust_recovers_with_answers_that_went_well(app_factory, console_store) -> None:
    client = app_factory()
    sign_in(client, "agent")
    escalate(console_store, "c2")
    for _ in range(3):
        answered = new_record("turn", "c2", channel="socketio", decision="answer",
                              gap_score={"probability": 0.0, "reasons": [],
                                         "model_version": "t"})  # fmt: skip
        console_store.apply(answered)
        console_store.apply(new_record("feedback", "c2", turn_uid=answered["uid"], rating="up"))
    # good 3 x (1 + 1), bad 2: (4 + 6) / (5 + 8) = 0.77
    assert "trust 0.77" in client.get("/queue").text
