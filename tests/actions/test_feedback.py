"""Rating buttons on answers, what their clicks record, and the hand-over when nobody is online."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionEscalate, ActionGapAnswer
from actions.feedback import ActionRecordFeedback
from gapdesk.ratings import REASON_CODES, Rating, parse_payload
from tests.actions.conftest import as_sent, make_tracker, rasa_domain

CARD = [("card_arrival", 0.92), ("card_delivery_estimate", 0.05)]


def _run(action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, rasa_domain()))
    return as_sent(dispatcher.messages), events


def _said(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replies as the bot events Rasa adds to the tracker."""
    return [
        {"event": "bot", "text": m.get("text"), "data": {"buttons": m.get("buttons") or []}}
        for m in messages
    ]


def _click(payload: str, history: list[dict[str, Any]]) -> Tracker:
    """The tracker after a click, with the entities Rasa reads from the payload."""
    named = json.loads(payload.removeprefix("/feedback"))
    entities = [
        {"entity": name, "value": value}
        for name, values in named.items()
        for value in (values if isinstance(values, list) else [values])
    ]
    return make_tracker(payload, [("feedback", 1.0)], history, entities=entities)


def _answered(question: str = "my card hasn't arrived") -> tuple[dict[str, Any], list[dict]]:
    """Run the answer action; the stored turn and the conversation so far."""
    messages, _ = _run(ActionGapAnswer(), make_tracker(question, CARD))
    return messages[0], [{"event": "user", "text": question}, *_said(messages)]


# -- buttons ---------------------------------------------------------------------------


def test_an_answer_offers_thumbs_for_its_own_turn(services, recorder) -> None:
    reply, _ = _answered()
    [turn] = recorder.of_type("turn")
    assert reply["response"] == "utter_rate_answer"
    assert reply["text"] == turn["answer_text"]
    assert [(b["title"], parse_payload(b["payload"])) for b in reply["buttons"]] == [
        ("👍 Helpful", Rating("answer", turn["uid"], "up")),
        ("👎 Not helpful", Rating("answer", turn["uid"], "down")),
    ]
    assert turn["message_id"] == "msg-1"


def test_an_answer_that_starts_a_flow_offers_no_rating(services) -> None:
    messages, _ = _run(ActionGapAnswer(), make_tracker("freeze my card", [("freeze_card", 0.95)]))
    assert not messages[0].get("buttons")


def test_small_talk_offers_no_rating(services) -> None:
    messages, _ = _run(ActionGapAnswer(), make_tracker("hello there", [("greet", 0.97)]))
    assert messages[0]["text"] == services.knowledge_base.get("greet").text
    assert not messages[0].get("buttons")


def test_clarifications_and_hand_overs_offer_no_rating(services, scorer) -> None:
    scorer.probability = 0.6
    clarified, _ = _run(ActionGapAnswer(), make_tracker("card thing", CARD))
    scorer.probability = 0.95
    escalated, _ = _run(ActionGapAnswer(), make_tracker("a mortgage?", CARD))
    payloads = [b["payload"] for m in clarified + escalated for b in m.get("buttons") or []]
    assert not any(p.startswith("/feedback") for p in payloads)


def test_goodbye_after_an_answer_asks_for_one_to_five_once(services) -> None:
    _, history = _answered()
    bye, _ = _run(ActionGapAnswer(), make_tracker("bye", [("goodbye", 0.97)], history))
    assert bye[0]["text"] == services.knowledge_base.get("goodbye").text
    assert not bye[0].get("buttons")
    assert bye[1]["response"] == "utter_rate_conversation"
    assert bye[1]["text"] == "How would you rate this conversation? (1 = poor, 5 = excellent)"
    assert [b["title"] for b in bye[1]["buttons"]] == ["1", "2", "3", "4", "5"]
    history += [{"event": "user", "text": "bye"}, *_said(bye)]
    again, _ = _run(ActionGapAnswer(), make_tracker("thanks", [("thanks", 0.97)], history))
    assert len(again) == 1 and not again[0].get("buttons")


def test_goodbye_without_any_answer_asks_nothing(services) -> None:
    bye, _ = _run(ActionGapAnswer(), make_tracker("bye", [("goodbye", 0.97)]))
    assert len(bye) == 1 and not bye[0].get("buttons")


# -- clicks ----------------------------------------------------------------------------


def test_thumbs_up_is_recorded_against_the_turn(services, recorder) -> None:
    reply, history = _answered()
    messages, events = _run(ActionRecordFeedback(), _click(reply["buttons"][0]["payload"], history))
    [turn] = recorder.of_type("turn")
    [feedback] = recorder.of_type("feedback")
    assert feedback["uid"] == f"answer:{turn['uid']}"
    assert feedback["turn_uid"] == turn["uid"]
    assert (feedback["kind"], feedback["rating"], feedback["reason"]) == ("answer", "up", None)
    assert feedback["conversation_id"] == "conv-1"
    assert [m["response"] for m in messages] == ["utter_thanks_for_rating"]
    assert messages[0]["text"] == "Thanks for letting us know!" and not messages[0].get("buttons")
    assert events == []


def test_thumbs_down_asks_why_and_the_reason_updates_the_same_rating(services, recorder) -> None:
    reply, history = _answered()
    asked, _ = _run(ActionRecordFeedback(), _click(reply["buttons"][1]["payload"], history))
    assert asked[0]["response"] == "utter_ask_what_was_wrong"
    assert asked[0]["text"] == "Sorry that didn't help. What was wrong with it?"
    assert [b["title"] for b in asked[0]["buttons"]] == [
        "It answered a different question",
        "It didn't tell me enough",
        "It was hard to follow",
        "Something else",
    ]
    [turn] = recorder.of_type("turn")
    assert [parse_payload(b["payload"]) for b in asked[0]["buttons"]] == [
        Rating("answer", turn["uid"], "down", code) for code in REASON_CODES
    ]
    history += [{"event": "user", "text": "/feedback"}, *_said(asked)]
    wrong_topic = asked[0]["buttons"][0]["payload"]
    thanked, _ = _run(ActionRecordFeedback(), _click(wrong_topic, history))
    assert [m["response"] for m in thanked] == ["utter_thanks_for_reason"]
    assert not thanked[0].get("buttons")
    down, reason = recorder.of_type("feedback")
    assert down["uid"] == reason["uid"]
    assert (down["rating"], down["reason"]) == ("down", None)
    assert (reason["rating"], reason["reason"]) == ("down", "wrong_topic")


@pytest.mark.parametrize("score", ["1", "2", "3", "4", "5"])
def test_one_to_five_is_recorded_for_the_conversation(services, recorder, score: str) -> None:
    _, history = _answered()
    bye, _ = _run(ActionGapAnswer(), make_tracker("bye", [("goodbye", 0.97)], history))
    history += _said(bye)
    button = next(b for b in bye[1]["buttons"] if b["title"] == score)
    thanked, _ = _run(ActionRecordFeedback(), _click(button["payload"], history))
    assert [m["response"] for m in thanked] == ["utter_thanks_for_rating_conversation"]
    [feedback] = recorder.of_type("feedback")
    assert (feedback["kind"], feedback["rating"], feedback["turn_uid"]) == (
        "conversation",
        score,
        None,
    )
    assert feedback["uid"].startswith("conversation:")


def _forged(payload: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    _, history = _answered()
    return _run(ActionRecordFeedback(), _click(payload, history))


@pytest.mark.parametrize(
    "payload",
    [
        # Well formed, but for an answer this conversation was never shown.
        f'/feedback{{"feedback_uid":"{uuid.uuid4()}","feedback_rating":"down"}}',
        f'/feedback{{"feedback_kind":"conversation","feedback_uid":"{uuid.uuid4()}",'
        '"feedback_rating":"5"}',
        # Shapes no button makes.
        '/feedback{"feedback_uid":"../../etc","feedback_rating":"up"}',
        '/feedback{"feedback_uid":["a","b"],"feedback_rating":{"x":1}}',
        '/feedback{"feedback_rating":"up"}',
        "/feedback{}",
    ],
)
def test_forged_or_malformed_clicks_are_refused_politely(services, recorder, payload) -> None:
    messages, _ = _forged(payload)
    assert messages[0]["response"] == "utter_rating_not_recorded"
    assert recorder.of_type("feedback") == []


def test_a_reason_this_conversation_was_not_offered_is_refused(services, recorder) -> None:
    _, history = _answered()
    uid = recorder.of_type("turn")[0]["uid"]
    reason = (
        f'/feedback{{"feedback_uid":"{uid}","feedback_rating":"down","feedback_reason":"other"}}'
    )
    messages, _ = _run(ActionRecordFeedback(), _click(reason, history))
    assert messages[0]["response"] == "utter_rating_not_recorded"
    assert recorder.of_type("feedback") == []


# -- nobody online ---------------------------------------------------------------------


def test_with_nobody_online_the_customer_may_leave_a_message(services, presence, recorder) -> None:
    presence.online = False
    messages, events = _run(
        ActionEscalate(), make_tracker("a human please", [("request_human", 1)])
    )
    assert messages[0]["response"] == "utter_hand_over_asked_nobody_online"
    assert "leave your message here" in messages[0]["text"]
    assert any(e["event"] == "pause" for e in events)
    assert recorder.of_type("escalation"), "the conversation still waits in the queue"
    assert recorder.of_type("turn")[0]["answer_text"] == messages[0]["text"]


def test_a_doubtful_answer_with_nobody_online_says_so(services, scorer, presence) -> None:
    presence.online = False
    scorer.probability = 0.95
    messages, events = _run(ActionGapAnswer(), make_tracker("can I get a mortgage", CARD))
    assert messages[0]["response"] == "utter_hand_over_nobody_online"
    assert any(e["event"] == "pause" for e in events)


def test_with_an_agent_online_the_usual_hand_over(services, scorer) -> None:
    asked, _ = _run(ActionEscalate(), make_tracker("a human please", [("request_human", 1)]))
    scorer.probability = 0.95
    doubtful, _ = _run(ActionGapAnswer(), make_tracker("can I get a mortgage", CARD))
    assert (asked[0]["response"], doubtful[0]["response"]) == (
        "utter_hand_over_asked",
        "utter_hand_over",
    )


@pytest.mark.parametrize("failure", ["error", "slow"])
def test_a_failing_presence_check_gives_the_usual_hand_over(
    services,
    presence,
    recorder,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    presence.online = False
    if failure == "error":
        presence.error = RuntimeError("database is down")
    else:
        presence.delay = 0.6
    with caplog.at_level(logging.WARNING, logger="actions.services"):
        messages, events = _run(
            ActionEscalate(), make_tracker("a human please", [("request_human", 1)])
        )
    assert messages[0]["response"] == "utter_hand_over_asked"
    assert any(e["event"] == "pause" for e in events)
    assert recorder.of_type("escalation")
    assert any(r.levelno == logging.WARNING for r in caplog.records)
