from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionEscalate, ActionGapAnswer
from tests.actions.conftest import as_sent, make_tracker, rasa_domain

CARD = [("card_arrival", 0.92), ("card_delivery_estimate", 0.05), ("lost_or_stolen_card", 0.02)]


def _run(action, tracker, domain=None):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        action.run(dispatcher, tracker, rasa_domain() if domain is None else domain)
    )
    return as_sent(dispatcher.messages), events


def test_low_gap_answers_from_the_knowledge_base(services, scorer, recorder) -> None:
    messages, events = _run(ActionGapAnswer(), make_tracker("my card hasn't arrived", CARD))
    assert messages[0]["text"] == services.knowledge_base.get("card_arrival").text
    assert not any(e["event"] == "pause" for e in events)
    [turn] = recorder.of_type("turn")
    assert turn["decision"] == "answer"
    assert turn["intent"] == "card_arrival"
    assert turn["gap_score"]["probability"] == 0.1
    assert turn["gap_score"]["model_version"] == "gap-test"
    assert scorer.seen[0].text == "my card hasn't arrived"


def test_high_gap_escalates_and_pauses(services, scorer, recorder) -> None:
    scorer.probability = 0.95
    messages, events = _run(ActionGapAnswer(), make_tracker("can I get a mortgage", CARD))
    assert messages[0]["response"] == "utter_hand_over"
    assert "person" in messages[0]["text"]
    assert recorder.of_type("turn")[0]["answer_text"] == messages[0]["text"]
    assert any(e["event"] == "pause" for e in events)
    [escalation] = recorder.of_type("escalation")
    assert "high_gap" in escalation["reason_codes"]
    assert "can I get a mortgage" in escalation["brief"]


def test_middle_gap_clarifies_with_topics_and_a_person(services, scorer, recorder) -> None:
    scorer.probability = 0.6
    messages, events = _run(ActionGapAnswer(), make_tracker("card thing", CARD))
    assert messages[0]["response"] == "utter_clarify"
    buttons = messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == [
        "/card_arrival",
        "/card_delivery_estimate",
        "/lost_or_stolen_card",
        "/request_human",
    ]
    assert buttons[-1]["title"] == "Talk to a person"
    assert {"event": "slot", "name": "gap_failures", "value": 1, "timestamp": None} in events
    [turn] = recorder.of_type("turn")
    assert (turn["decision"], turn["answer_text"]) == ("clarify", messages[0]["text"])


def test_repeated_doubt_escalates(services, scorer, recorder) -> None:
    scorer.probability = 0.6
    tracker = make_tracker("card thing again", CARD, slots={"gap_failures": 2})
    _, events = _run(ActionGapAnswer(), tracker)
    assert any(e["event"] == "pause" for e in events)
    assert "repeated_failure" in recorder.of_type("escalation")[0]["reason_codes"]


def test_scorer_failure_escalates_instead_of_guessing(services, scorer, recorder) -> None:
    scorer.error = RuntimeError("model file corrupt")
    messages, events = _run(ActionGapAnswer(), make_tracker("my card hasn't arrived", CARD))
    assert any(e["event"] == "pause" for e in events)
    assert recorder.of_type("turn")[0]["gap_score"]["probability"] is None
    assert "scorer_failed" in recorder.of_type("escalation")[0]["reason_codes"]


def test_personal_data_is_masked_before_it_is_recorded(services, recorder) -> None:
    text = "my card 4111 1111 1111 1111 hasn't arrived, mail me at jo@example.com"
    _run(ActionGapAnswer(), make_tracker(text, CARD))
    stored = recorder.of_type("turn")[0]["customer_text"]
    assert "4111" not in stored and "jo@example.com" not in stored
    assert "[CARD]" in stored and "[EMAIL]" in stored


def test_intent_without_an_answer_clarifies(services, recorder) -> None:
    messages, _ = _run(
        ActionGapAnswer(), make_tracker("1234", [("inform", 0.8), ("card_arrival", 0.1)])
    )
    assert messages[0]["buttons"][0]["payload"] == "/card_arrival"
    assert "no_answer" in recorder.of_type("turn")[0]["decision_reasons"]


def test_asking_for_a_person_escalates_at_once(services, recorder) -> None:
    messages, events = _run(
        ActionEscalate(), make_tracker("let me talk to a human", [("request_human", 0.99)])
    )
    assert any(e["event"] == "pause" for e in events)
    assert recorder.of_type("escalation")[0]["reason_codes"] == ["asked_for_human"]


def test_the_answer_action_returns_an_event_so_failures_are_detectable(services) -> None:
    # bot/policies.py treats "custom action followed by no event" as a failed action.
    _, events = _run(ActionGapAnswer(), make_tracker("my card hasn't arrived", CARD))
    assert events


def test_control_group_answers_without_scoring(services, scorer, recorder) -> None:
    from dataclasses import replace

    services.settings = replace(services.settings, gap_scoring="off")
    messages, events = _run(ActionGapAnswer(), make_tracker("my card hasn't arrived", CARD))
    assert messages[0]["text"] == services.knowledge_base.get("card_arrival").text
    assert scorer.seen == []
    assert recorder.of_type("turn")[0]["decision_reasons"] == ["scoring_off"]


def test_a_scorer_slower_than_its_budget_escalates(services, scorer, recorder) -> None:
    import time
    from dataclasses import replace

    services.settings = replace(services.settings, scorer_timeout_ms=50)
    original = scorer.score
    scorer.score = lambda item: (time.sleep(0.3), original(item))[1]  # type: ignore[method-assign]
    _, events = _run(ActionGapAnswer(), make_tracker("my card hasn't arrived", CARD))
    assert any(e["event"] == "pause" for e in events)
    assert "scorer_failed" in recorder.of_type("escalation")[0]["reason_codes"]


def test_the_scorer_only_sees_redacted_text(services, scorer) -> None:
    # Whatever the model says about the message (its reasons) is stored: it must never
    # have seen the personal data.
    _run(ActionGapAnswer(), make_tracker("priya.r@protonmail.com my card 4111111111111111", CARD))
    assert "protonmail" not in scorer.seen[0].text and "4111" not in scorer.seen[0].text


def test_a_library_error_becomes_a_plain_apology(services, monkeypatch) -> None:
    from actions import answer
    from gapmodel.errors import ModelNotTrainedError

    def missing_model() -> None:
        raise ModelNotTrainedError("no gap model at models/gap.joblib; run `gapdesk train`")

    monkeypatch.setattr(answer, "get_services", missing_model)
    messages, events = _run(ActionGapAnswer(), make_tracker("my card hasn't arrived", CARD))
    assert messages[0]["response"] == "utter_service_unavailable"
    assert "technical problem" in messages[0]["text"]
    assert events, "an event, so that Rasa does not apologise a second time"


def test_a_domain_without_the_words_is_a_plain_apology(services, scorer) -> None:
    scorer.probability = 0.95
    messages, events = _run(ActionGapAnswer(), make_tracker("a mortgage?", CARD), domain={})
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert events


def test_a_plain_answer_resets_the_failure_count(services, scorer) -> None:
    _, events = _run(
        ActionGapAnswer(), make_tracker("my card hasn't arrived", CARD, slots={"gap_failures": 1})
    )
    assert {"event": "slot", "name": "gap_failures", "value": 0, "timestamp": None} in events


def test_a_request_for_a_person_is_stored_as_not_scored(services, recorder) -> None:
    _run(ActionEscalate(), make_tracker("let me talk to a human", [("request_human", 0.99)]))
    assert recorder.of_type("turn")[0]["gap_score"] is None


def test_with_nothing_to_offer_the_bot_says_what_it_can_help_with(services, recorder) -> None:
    from gapmodel.knowledge import Business, KnowledgeBase

    unknown = make_tracker("1234", [("inform", 0.8)])  # no ranked intent has an answer
    [said], _ = _run(ActionGapAnswer(), unknown)
    assert services.knowledge_base.business.topics in said["text"] and "person" in said["text"]
    assert [b["payload"] for b in said["buttons"]] == ["/request_human"]
    services.knowledge_base = KnowledgeBase(services.knowledge_base.answers, Business())
    [nameless], _ = _run(ActionGapAnswer(), unknown)
    assert nameless["text"] == "I'm not sure I can help with that. I can bring in a person."
    assert nameless["buttons"] == said["buttons"]
    assert [t["answer_text"] for t in recorder.of_type("turn")] == [said["text"], nameless["text"]]
