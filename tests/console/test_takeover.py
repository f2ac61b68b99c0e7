"""Claim, reply, hand back, resolve and label, through the console's real routes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from console import casework, review
from console.auth import ConsoleUser
from gapdesk.labels import export_labels
from gapdesk.storage.models import AuditEvent, Conversation, Label, Turn
from gapdesk.storage.recorder import new_record
from tests.console.conftest import escalate, sign_in


def test_an_agent_takes_over_replies_and_hands_back(app_factory, console_store, rasa) -> None:
    client = app_factory()
    csrf = sign_in(client, "agent")
    escalate(console_store, "c1")

    queue = client.get("/queue")
    assert "/conversations/c1" in queue.text and "The customer asked about a refund." in queue.text

    assert client.post("/conversations/c1/claim", data={"csrf_token": csrf}).status_code == 303
    sent = client.post(
        "/conversations/c1/reply", data={"csrf_token": csrf, "text": "Hi, I'm here."}
    )
    assert sent.headers["location"].endswith("notice=replied")
    assert rasa.events["c1"] == [
        {
            "event": "bot",
            "text": "Agent Person: Hi, I'm here.",
            "metadata": {"agent": "agent", "agent_name": "Agent Person"},
        }
    ]
    client.post("/conversations/c1/hand-back", data={"csrf_token": csrf, "message": "Bye!"})
    assert rasa.events["c1"][-2:] == [
        {"event": "resume"},
        {"event": "action", "name": "action_listen"},
    ]
    assert {"event": "slot", "name": "gap_failures", "value": 0} in rasa.events["c1"]

    with console_store.session() as session:
        conversation = session.get(Conversation, "c1")
        assert conversation is not None
        assert (conversation.status, conversation.agent) == ("bot", None)
        agent_turn = session.scalar(select(Turn).where(Turn.kind == "agent"))
        assert agent_turn is not None and agent_turn.author == "agent"
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["sign_in", "claim", "reply", "hand_back"]


def test_resolving_asks_for_a_rating_and_closes_the_case(app_factory, console_store, rasa) -> None:
    client = app_factory()
    csrf = sign_in(client, "agent")
    escalate(console_store, "c2")
    client.post("/conversations/c2/claim", data={"csrf_token": csrf})
    client.post("/conversations/c2/resolve", data={"csrf_token": csrf})
    events = rasa.events["c2"]
    assert events.index({"event": "resume"}) < len(events) - 1  # resumed before asking
    assert [b["title"] for b in events[-1]["data"]["buttons"]] == ["1", "2", "3", "4", "5"]
    assert client.get("/queue").text.count("/conversations/c2") == 0


def test_a_second_agent_is_told_the_conversation_is_taken(app_factory, console_store) -> None:
    first, second = app_factory(), app_factory()
    csrf_first, csrf_second = sign_in(first, "agent"), sign_in(second, "agent2")
    escalate(console_store, "c3")
    first.post("/conversations/c3/claim", data={"csrf_token": csrf_first})
    lost = second.post("/conversations/c3/claim", data={"csrf_token": csrf_second})
    assert "notice=taken" in lost.headers["location"] and "owner=agent" in lost.headers["location"]
    page = second.get(lost.headers["location"])
    assert "Someone else claimed this conversation first." in page.text
    refused = second.post("/conversations/c3/reply", data={"csrf_token": csrf_second, "text": "x"})
    assert "notice=not_owner" in refused.headers["location"]


def test_simultaneous_claims_have_exactly_one_winner(console_store) -> None:
    escalate(console_store, "c4")
    agents = [ConsoleUser(f"agent{i}", f"A{i}", "agent", "t") for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda a: casework.claim(console_store, "c4", a, lambda: None), agents)
        )
    winners = [r for r in results if r.won]
    assert len(winners) == 1
    assert {r.owner for r in results} == {winners[0].owner}


def test_rasa_down_means_nothing_is_recorded_as_sent(app_factory, console_store, rasa) -> None:
    client = app_factory()
    csrf = sign_in(client, "agent")
    escalate(console_store, "c5")
    client.post("/conversations/c5/claim", data={"csrf_token": csrf})
    rasa.down = True
    response = client.post("/conversations/c5/reply", data={"csrf_token": csrf, "text": "hello"})
    assert "notice=rasa_down" in response.headers["location"]
    page = client.get("/conversations/c5")
    assert page.status_code == 200 and "stored turns only" in page.text
    with console_store.session() as session:
        assert session.scalar(select(Turn).where(Turn.kind == "agent")) is None


def test_labels_are_stored_and_exported(app_factory, console_store) -> None:
    client = app_factory()
    csrf = sign_in(client, "supervisor")
    turn_id = escalate(console_store, "c6")
    response = client.post(
        f"/turns/{turn_id}/label",
        data={"csrf_token": csrf, "is_gap": "yes", "correct_intent": "card_arrival",
              "ideal_answer": "Cards arrive within 5 working days."},
    )  # fmt: skip
    assert "notice=labelled" in response.headers["location"]
    bad = client.post(
        f"/turns/{turn_id}/label",
        data={"csrf_token": csrf, "is_gap": "yes", "correct_intent": "<no such intent>"},
    )
    assert "notice=bad_label" in bad.headers["location"]
    with console_store.session() as session:
        assert session.scalar(select(Label.correct_intent)) == "card_arrival"
    [row] = export_labels(console_store)
    assert row["is_gap"] is True and row["author"] == "supervisor"
    assert row["text"] == "where is my refund?" and row["model_version"] == "gm-test"


def test_only_a_claimed_conversation_can_be_answered_or_released(
    app_factory, console_store, rasa
) -> None:
    escalate(console_store, "c7")
    client = app_factory()
    csrf = sign_in(client, "supervisor")
    for action in ("reply", "hand-back", "resolve"):
        response = client.post(
            f"/conversations/c7/{action}", data={"csrf_token": csrf, "text": "x"}
        )
        assert "notice=not_owner" in response.headers["location"], action
    assert rasa.events == {}
    with console_store.session() as session:
        assert session.get(Conversation, "c7").status == "escalated"  # type: ignore[union-attr]


def test_agents_claim_the_queue_supervisors_also_take_over_the_bot(
    app_factory, console_store, rasa
) -> None:
    escalate(console_store, "c8", decision="answer")  # the bot is still answering
    agent, supervisor = app_factory(), app_factory()
    agent_csrf, supervisor_csrf = sign_in(agent, "agent"), sign_in(supervisor, "supervisor")
    refused = agent.post("/conversations/c8/claim", data={"csrf_token": agent_csrf})
    assert refused.status_code == 404 and rasa.events == {}
    taken = supervisor.post("/conversations/c8/claim", data={"csrf_token": supervisor_csrf})
    assert "notice=claimed" in taken.headers["location"]
    assert rasa.events["c8"] == [{"event": "pause"}]


def test_rasa_down_leaves_claims_and_hand_backs_undone(app_factory, console_store, rasa) -> None:
    escalate(console_store, "c9", decision="answer")
    escalate(console_store, "c10")
    client = app_factory()
    csrf = sign_in(client, "supervisor")
    client.post("/conversations/c10/claim", data={"csrf_token": csrf})
    rasa.down = True
    failed = client.post("/conversations/c9/claim", data={"csrf_token": csrf})
    assert "notice=rasa_down" in failed.headers["location"]
    client.post("/conversations/c10/hand-back", data={"csrf_token": csrf})
    with console_store.session() as session:
        c9, c10 = session.get(Conversation, "c9"), session.get(Conversation, "c10")
        assert c9 is not None and (c9.status, c9.agent) == ("bot", None)
        assert c10 is not None and (c10.status, c10.agent) == ("agent", "supervisor")
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["sign_in", "claim"]


def test_replies_to_a_channel_that_cannot_receive_them_are_refused(
    app_factory, console_store, rasa
) -> None:
    escalate(console_store, "c11")
    with console_store.session() as session:
        session.get(Conversation, "c11").channel = "rest"  # type: ignore[union-attr]
    client = app_factory()
    csrf = sign_in(client, "agent")
    client.post("/conversations/c11/claim", data={"csrf_token": csrf})
    response = client.post("/conversations/c11/reply", data={"csrf_token": csrf, "text": "hi"})
    assert "notice=no_push" in response.headers["location"]
    assert "cannot receive messages pushed" in client.get("/conversations/c11").text
    assert rasa.events == {}


def test_a_late_escalation_does_not_take_a_claimed_conversation(console_store) -> None:
    escalate(console_store, "c12")
    agent = ConsoleUser("agent", "Agent Person", "agent", "t")
    assert casework.claim(console_store, "c12", agent, lambda: None).won
    escalate(console_store, "c12")  # e.g. replayed from the spool after an outage
    with console_store.session() as session:
        conversation = session.get(Conversation, "c12")
        assert conversation is not None and (conversation.status, conversation.agent) == (
            "agent",
            "agent",
        )


def test_search_finds_conversations_in_any_state_by_any_message(
    app_factory, console_store, rasa
) -> None:
    escalate(console_store, "c13", text="my refund of 100% is late")  # escalated
    escalate(console_store, "c14", text="where is my card", decision="answer")
    client = app_factory()
    csrf = sign_in(client, "supervisor")
    client.post("/conversations/c13/claim", data={"csrf_token": csrf})
    client.post("/conversations/c13/reply", data={"csrf_token": csrf, "text": "Refund sent today"})

    def found(query: str) -> list[str]:
        return [c["id"] for c in review.search_conversations(console_store, query)]

    assert found("100%") == ["c13"]  # a customer's words, wildcards taken literally
    assert found("sent today") == ["c13"]  # an agent's reply
    assert found("c14") == ["c14"]  # an id
    assert found("_") == []
    page = client.get("/review", params={"q": "refund"})
    assert "/conversations/c13" in page.text and "Conversations mentioning" in page.text


def test_a_supervisor_takes_a_conversation_from_its_owner(app_factory, console_store, rasa) -> None:
    escalate(console_store, "c15")
    agent, supervisor, other = app_factory(), app_factory(), app_factory()
    agent_csrf = sign_in(agent, "agent")
    supervisor_csrf, other_csrf = sign_in(supervisor, "supervisor"), sign_in(other, "agent2")
    agent.post("/conversations/c15/claim", data={"csrf_token": agent_csrf})
    assert "Take over from agent" in supervisor.get("/conversations/c15").text
    refused = other.post(
        "/conversations/c15/claim", data={"csrf_token": other_csrf, "take_from": "agent"}
    )
    assert "notice=taken" in refused.headers["location"]  # agents cannot take from agents
    taken = supervisor.post(
        "/conversations/c15/claim", data={"csrf_token": supervisor_csrf, "take_from": "agent"}
    )
    assert "notice=claimed" in taken.headers["location"]
    late = agent.post("/conversations/c15/reply", data={"csrf_token": agent_csrf, "text": "hi"})
    assert "notice=not_owner" in late.headers["location"]
    assert rasa.events == {}  # the bot stayed paused; nothing was said
    with console_store.session() as session:
        assert session.get(Conversation, "c15").agent == "supervisor"  # type: ignore[union-attr]
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "reassign"))
        assert event is not None and event.detail == {"taken_from": "agent"}


def test_an_unscored_turn_shows_without_a_gap(app_factory, console_store, rasa) -> None:
    console_store.apply(
        new_record("turn", "c17", channel="socketio", message_id="m-c17", customer_text="a human",
                   intent="request_human", confidence=1.0, decision="escalate",
                   decision_reasons=["asked_for_human"], answer_text="Of course.")
    )  # fmt: skip
    rasa.events["c17"] = [{"event": "user", "text": "a human", "message_id": "m-c17"}]
    client = app_factory()
    sign_in(client, "supervisor")
    page = client.get("/conversations/c17")
    assert page.status_code == 200 and 'gap <strong class="gap">–</strong>' in page.text


def test_each_scored_turn_shows_its_verdict(app_factory, console_store, rasa) -> None:
    turn_id = escalate(console_store, "c16")
    rasa.events["c16"] = [
        {"event": "user", "text": "where is my refund?", "message_id": "m-c16", "timestamp": 1}
    ]
    client = app_factory()
    csrf = sign_in(client, "supervisor")
    client.post(f"/turns/{turn_id}/label", data={"csrf_token": csrf, "is_gap": "yes"})
    page = client.get("/conversations/c16").text
    for shown in ("request_refund", "41%", "83%", "unlike any example", "model gm-test",
                  "Label by supervisor: gap", "The customer asked about a refund."):  # fmt: skip
        assert shown in page, shown


def test_resolving_can_say_whether_the_handover_was_needed(
    app_factory, console_store, rasa
) -> None:
    client = app_factory()
    csrf = sign_in(client, "agent")
    needed_turn = escalate(console_store, "c-needed")
    needless_turn = escalate(console_store, "c-needless", "where is my card?")
    silent_turn = escalate(console_store, "c-silent", "what is my balance?")
    for conversation, outcome in (("c-needed", "needed"), ("c-needless", "needless"),
                                  ("c-silent", None)):  # fmt: skip
        client.post(f"/conversations/{conversation}/claim", data={"csrf_token": csrf})
        form = {"csrf_token": csrf} | ({"handover": outcome} if outcome else {})
        client.post(f"/conversations/{conversation}/resolve", data=form)
    with console_store.session() as session:
        labels = {row.turn_id: (row.is_gap, row.author) for row in session.scalars(select(Label))}
    assert labels == {needed_turn: (True, "agent"), needless_turn: (False, "agent")}
    assert silent_turn not in labels
    # The label teaches what any label does: the needless one is an example of its intent.
    rows = {row["turn_id"]: row for row in export_labels(console_store)}
    assert rows[needless_turn]["is_gap"] is False


def test_a_handover_the_customer_asked_for_is_not_the_turn_labelled(
    app_factory, console_store, rasa
) -> None:
    """The bot's doubt handed it over first; the customer then asked for a person too."""
    doubted = escalate(console_store, "c-asked")
    console_store.apply(
        new_record("turn", "c-asked", channel="socketio", customer_text="a person please",
                   decision="escalate", decision_reasons=["asked_for_human"])
    )  # fmt: skip
    console_store.apply(
        new_record("turn", "c-only-asked", channel="socketio", customer_text="human!",
                   decision="escalate", decision_reasons=["asked_for_human"])
    )  # fmt: skip
    escalate(console_store, "c-only-asked", decision="answer")  # no escalation of doubt
    client = app_factory()
    csrf = sign_in(client, "agent")
    for conversation in ("c-asked", "c-only-asked"):
        client.post(f"/conversations/{conversation}/claim", data={"csrf_token": csrf})
        client.post(f"/conversations/{conversation}/resolve",
                    data={"csrf_token": csrf, "handover": "needed"})  # fmt: skip
    with console_store.session() as session:
        labelled = [row.turn_id for row in session.scalars(select(Label))]
    assert labelled == [doubted]
