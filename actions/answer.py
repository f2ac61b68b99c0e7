"""The gap-scored answer and the hand-over to a person.

``action_gap_answer`` runs for every answerable intent (and whatever no rule covers):
it scores the NLU's reading of the message for its information gap, lets the decision
policy choose answer / clarify / escalate, replies, and records the turn.
``action_escalate`` runs when the customer asks for a person.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import CurrentTurn, read_turn
from actions.feedback import send_answer
from actions.safety import SafeAction
from actions.services import Services, get_services
from gapdesk.briefs import build_brief
from gapdesk.conversation import FAILURES_SLOT
from gapdesk.policy import decide_turn
from gapdesk.storage.recorder import new_record
from gapmodel.decision import ANSWER, CLARIFY, ESCALATE, Decision, DecisionReason
from gapmodel.knowledge import Answer, KnowledgeBase
from gapmodel.redaction import redact
from gapmodel.types import GapInput, GapScore

HUMAN_PAYLOAD = "/request_human"

CLARIFY_TEXT = "I want to be sure I answer the right question. Did you mean one of these?"
ESCALATE_TEXT = (
    "I don't want to give you a wrong answer, so I'm handing this conversation to a "
    "person from our team. They'll reply here shortly."
)
HUMAN_TEXT = "Of course. I'm bringing in a person from our team; they'll reply here shortly."
_LEAVE_A_MESSAGE = (
    "Nobody from our team is online right now, but leave your message here, with any "
    "details, and a person will answer as soon as they're back."
)
ESCALATE_NOBODY_ONLINE_TEXT = (
    "I don't want to give you a wrong answer, so I'm passing this conversation to a "
    f"person from our team. {_LEAVE_A_MESSAGE}"
)
HUMAN_NOBODY_ONLINE_TEXT = f"Of course. {_LEAVE_A_MESSAGE}"


class ActionGapAnswer(SafeAction):
    def name(self) -> str:
        return "action_gap_answer"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        services = get_services()
        turn = read_turn(tracker)
        answer = services.knowledge_base.get(turn.intent)
        score, decision = await judge(services, turn, answer)
        events: list[EventType] = []
        if decision.action == ANSWER and answer is not None:
            record = turn_record(turn, decision, score, answer, answer.text)
            send_answer(dispatcher, tracker, answer, record["uid"])
            if answer.start_flow:
                events.append(FollowupAction(answer.start_flow))
        elif decision.action == ESCALATE:
            reply = await hand_over_text(
                services, DecisionReason.ASKED_FOR_HUMAN in decision.reasons
            )
            dispatcher.utter_message(text=reply)
            record = turn_record(turn, decision, score, answer, reply)
            events.append(ConversationPaused())
        else:
            record = turn_record(turn, decision, score, answer, clarify(dispatcher, services, turn))
        services.recorder.record(record)
        if decision.action == ESCALATE:
            record_escalation(services, turn, decision, score)
        # Failures in a row: a plain answer starts the count again.
        failures = 0 if decision.is_plain_answer else turn.failures + 1
        return [SlotSet(FAILURES_SLOT, failures), *events]


async def judge(
    services: Services, turn: CurrentTurn, answer: Answer | None
) -> tuple[GapScore | None, Decision]:
    """Score the NLU's reading of the message and decide what to do with it."""
    if services.settings.gap_scoring == "off":  # control group: answer what can be answered
        return None, Decision(ANSWER if answer else CLARIFY, [DecisionReason.SCORING_OFF])
    # The model sees the redacted text (card numbers, emails, phones masked), and its
    # reasons never quote words that may name someone (gapmodel/coverage.py), as
    # reasons are stored and shown to agents.
    score = await services.score(GapInput(redact(turn.text) or "", turn.ranking))
    decision = decide_turn(
        score,
        turn.text,
        turn.previous_customer_texts,
        turn.failures,
        answer is not None,
        services.settings,
    )
    return score, decision


class ActionEscalate(SafeAction):
    """The customer asked for a person: hand over straight away."""

    def name(self) -> str:
        return "action_escalate"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        services = get_services()
        turn = read_turn(tracker)
        decision = Decision(ESCALATE, [DecisionReason.ASKED_FOR_HUMAN])
        reply = await hand_over_text(services, asked=True)
        dispatcher.utter_message(text=reply)
        services.recorder.record(turn_record(turn, decision, None, None, reply))
        record_escalation(services, turn, decision, None)
        return [ConversationPaused()]


async def hand_over_text(services: Services, asked: bool) -> str:
    """What the customer hears on hand-over: with nobody online, that they may leave a message.

    The conversation waits in the queue either way. When the database cannot say
    whether anybody is online, the usual words are used.
    """
    if await services.agents_online() is False:
        return HUMAN_NOBODY_ONLINE_TEXT if asked else ESCALATE_NOBODY_ONLINE_TEXT
    return HUMAN_TEXT if asked else ESCALATE_TEXT


def no_idea_text(knowledge_base: KnowledgeBase) -> str:
    """What the bot says when it has no topic to offer: what it can help with instead."""
    topics = knowledge_base.business.topics
    offer = f"answer questions about {topics}, or " if topics else ""
    return f"I'm not sure I can help with that. I can {offer}bring in a person."


def clarify(dispatcher: CollectingDispatcher, services: Services, turn: CurrentTurn) -> str:
    """Offer the likeliest topics the bot can answer, and a person."""
    options = services.knowledge_base.clarification_options(turn.ranking)
    buttons = [{"title": a.title, "payload": f"/{a.intent}"} for a in options]
    buttons.append({"title": "Talk to a person", "payload": HUMAN_PAYLOAD})
    text = CLARIFY_TEXT if len(buttons) > 1 else no_idea_text(services.knowledge_base)
    dispatcher.utter_message(text=text, buttons=buttons)
    return text


def _stored_score(decision: Decision, score: GapScore | None) -> dict[str, Any] | None:
    """What is stored as the turn's gap score: a failed scorer is recorded as such."""
    if score is not None:
        return score.as_dict()
    if DecisionReason.SCORER_FAILED in decision.reasons:
        return {"probability": None, "reasons": [], "model_version": "scorer failed"}
    return None  # not scored: a request for a person, or the control group


def turn_record(
    turn: CurrentTurn,
    decision: Decision,
    score: GapScore | None,
    answer: Answer | None,
    reply: str,
) -> dict[str, Any]:
    """The turn as stored; built before replying, as the rating buttons carry its uid."""
    return new_record(
        "turn",
        turn.conversation_id,
        message_id=turn.message_id,
        channel=turn.channel,
        customer_text=redact(turn.stored_text),
        intent=turn.intent,
        confidence=turn.confidence,
        intent_ranking=[[name, round(conf, 4)] for name, conf in turn.ranking[:10]],
        answer_intent=answer.intent if answer and decision.action == ANSWER else None,
        answer_text=reply,
        decision=decision.action,
        decision_reasons=[str(r) for r in decision.reasons],
        gap_score=_stored_score(decision, score),
    )


def record_escalation(
    services: Services, turn: CurrentTurn, decision: Decision, score: GapScore | None
) -> None:
    reason_texts = [r.text for r in score.reasons] if score else []
    brief = build_brief(
        [*turn.previous_customer_texts, turn.stored_text],
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
