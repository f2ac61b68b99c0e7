"""What agents write is stored, like what customers write, with personal data masked."""

from __future__ import annotations

from sqlalchemy import select

from gapdesk.labels import export_labels
from gapdesk.storage.models import Turn
from tests.console.conftest import escalate, sign_in

PERSONAL = "I've written to jane.doe@example.com about card 4111 1111 1111 1111"


def test_an_agent_reply_reaches_the_customer_whole_and_is_stored_masked(
    app_factory, console_store, rasa
) -> None:
    client = app_factory()
    csrf = sign_in(client, "agent")
    escalate(console_store, "pd1")
    client.post("/conversations/pd1/claim", data={"csrf_token": csrf})
    client.post("/conversations/pd1/reply", data={"csrf_token": csrf, "text": PERSONAL})
    assert PERSONAL in rasa.events["pd1"][0]["text"]
    with console_store.session() as session:
        stored = session.scalar(select(Turn.answer_text).where(Turn.kind == "agent"))
    assert stored is not None
    assert "jane.doe" not in stored and "4111" not in stored and "I've written to" in stored


def test_a_better_answer_is_stored_and_exported_masked(app_factory, console_store) -> None:
    client = app_factory()
    csrf = sign_in(client, "supervisor")
    turn_id = escalate(console_store, "pd2")
    client.post(
        f"/turns/{turn_id}/label",
        data={"csrf_token": csrf, "is_gap": "yes", "ideal_answer": PERSONAL},
    )
    [row] = export_labels(console_store)
    assert "jane.doe" not in row["ideal_answer"] and "4111" not in row["ideal_answer"]
