"""The gap-scored answer and the hand-over to a person.

``action_gap_answer`` runs for every answerable intent (and whatever no rule covers):
it scores the knowledge-base answer for its information gap, lets the decision policy
choose answer / clarify / escalate, replies, and records the turn.
``action_escalate`` runs when the customer asks for a person.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import FAILURES_SLOT, CurrentTurn, read_turn
from actions.services import Services, get_services
from gapmodel.briefs import build_brief
from gapmodel.decision import ANSWER, CLARIFY, ESCALATE, Decision, Reason, decide, read_signals
from gapmodel.features import GapInput
from gapmodel.knowledge import Answer
from gapmodel.redaction import redact
from gapmodel.scorer import GapScore
from gapmodel.storage.recorder import new_record

HUMAN_PAYLOAD = "/request_human"
CLARIFY_OPTIONS = 3

CLARIFY_TEXT = "I want to be sure I answer the right question. Did you mean one of these?"
NO_IDEA_TEXT = (
    "I'm not sure I can help with that. I can answer questions about your cards, "
    "top-ups, transfers, payments and account, or bring in a person."
)
ESCALATE_TEXT = (
    "I don't want to give you a wrong answer, so I'm handing this conversation to a "
    "person from our team. They'll reply here shortly."
)
HUMAN_TEXT = "Of course. I'm bringing in a person from our team; they'll reply here shortly."


class ActionGapAnswer(Action):
    def name(self) -> str:
        return "action_gap_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        services = get_services()
        turn = read_turn(tracker)
        answer = services.knowledge_base.get(turn.intent)
        score, decision = self.judge(services, turn, answer)
        events: list[EventType] = []
        if decision.action == ANSWER:
            reply = answer.text if answer else NO_IDEA_TEXT  # decide() clarifies without one
            dispatcher.utter_message(text=reply)
            if answer and answer.start_flow:
                events.append(FollowupAction(answer.start_flow))
        elif decision.action == CLARIFY:
            reply = clarify(dispatcher, services, turn)
        else:
            reply = HUMAN_TEXT if Reason.ASKED_FOR_HUMAN in decision.reasons else ESCALATE_TEXT
            dispatcher.utter_message(text=reply)
            events.append(ConversationPaused())
        record_turn(services, turn, decision, score, answer.intent if answer else None, reply)
        if decision.action == ESCALATE:
            record_escalation(services, turn, decision, score)
        failures = turn.failures + int(decision.counts_as_failure)
        return [SlotSet(FAILURES_SLOT, failures), *events]

    @staticmethod
    def judge(
        services: Services, turn: CurrentTurn, answer: Answer | None
    ) -> tuple[GapScore | None, Decision]:
        """Score the candidate answer and decide what to do with it."""
        settings = services.settings
        if settings.gap_scoring == "off":  # control group: answer whatever can be answered
            return None, Decision(ANSWER if answer else CLARIFY, [Reason.SCORING_OFF])
        score = services.score(
            GapInput(
                turn.text, turn.ranking, answer.text if answer else None,
                turn.previous_customer_texts,
            )
        )  # fmt: skip
        if turn.is_button_payload:  # a button press: no rephrase or frustration to read
            signals = read_signals("", [], turn.failures)
        else:
            signals = read_signals(turn.text, turn.previous_customer_texts, turn.failures)
        decision = decide(
            score,
            signals,
            has_answer=answer is not None,
            escalate_threshold=settings.escalate_threshold,
            clarify_threshold=settings.clarify_threshold,
            max_failures=settings.max_failures,
        )
        return score, decision


class ActionEscalate(Action):
    """The customer asked for a person: hand over straight away."""

    def name(self) -> str:
        return "action_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        services = get_services()
        turn = read_turn(tracker)
        decision = Decision(ESCALATE, [Reason.ASKED_FOR_HUMAN])
        dispatcher.utter_message(text=HUMAN_TEXT)
        record_turn(services, turn, decision, None, None, HUMAN_TEXT)
        record_escalation(services, turn, decision, None)
        return [ConversationPaused()]


def clarify(dispatcher: CollectingDispatcher, services: Services, turn: CurrentTurn) -> str:
    """Offer the likeliest topics the bot can answer, and a person."""
    answers = [services.knowledge_base.get(intent) for intent, _ in turn.ranking]
    options = [a for a in answers if a and a.offer_in_clarification][:CLARIFY_OPTIONS]
    buttons = [{"title": a.title, "payload": f"/{a.intent}"} for a in options]
    buttons.append({"title": "Talk to a person", "payload": HUMAN_PAYLOAD})
    text = CLARIFY_TEXT if len(buttons) > 1 else NO_IDEA_TEXT
    dispatcher.utter_message(text=text, buttons=buttons)
    return text


def record_turn(
    services: Services,
    turn: CurrentTurn,
    decision: Decision,
    score: GapScore | None,
    answer_intent: str | None,
    reply: str,
) -> None:
    services.recorder.record(
        new_record(
            "turn",
            turn.conversation_id,
            channel=turn.channel,
            customer_text=redact(turn.text),
            intent=turn.intent,
            confidence=turn.confidence,
            intent_ranking=[[name, round(conf, 4)] for name, conf in turn.ranking[:10]],
            answer_intent=answer_intent if decision.action == ANSWER else None,
            answer_text=reply,
            decision=decision.action,
            decision_reasons=[str(r) for r in decision.reasons],
            gap_score=score.as_dict() if score else {"probability": None, "model_version": "none"},
        )
    )


def record_escalation(
    services: Services, turn: CurrentTurn, decision: Decision, score: GapScore | None
) -> None:
    reason_texts = [r.text for r in score.reasons] if score else []
    brief = build_brief(
        [*turn.previous_customer_texts, turn.text],
        turn.previous_bot_texts,
        turn.intent,
        turn.confidence,
        score.probability if score else None,
        reason_texts,
        [str(r) for r in decision.reasons],
    )
    codes = [str(r) for r in decision.reasons] + [r.code for r in (score.reasons if score else [])]
    services.recorder.record(
        new_record(
            "escalation",
            turn.conversation_id,
            channel=turn.channel,
            reason_codes=list(dict.fromkeys(codes)),
            brief=brief,
            gap_probability=score.probability if score else None,
        )
    )
