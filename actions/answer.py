"""The gap-scored answer and the hand-over to a person.

``action_gap_answer`` runs for every answerable intent (and whatever no rule covers):
it scores the NLU's reading of the message for its information gap, lets the decision
policy choose answer / clarify / escalate, replies, and records the turn.
``action_escalate`` runs when the customer asks for a person.
What the bot says is the domain's responses (``bot/domain/responses.yml``); the words
of a clarification or a hand-over are also recorded with the turn, read from the domain
Rasa sends with the call.
"""

from __future__ import annotations

import asyncio
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
from gapdesk.responses import Responses, button, of_domain, text
from gapdesk.storage.recorder import new_record
from gapmodel.decision import ANSWER, CLARIFY, ESCALATE, Decision, DecisionReason
from gapmodel.knowledge import Answer
from gapmodel.redaction import redact
from gapmodel.types import GapInput, GapScore

HUMAN_PAYLOAD = "/request_human"  # the "Talk to a person" button (utter_no_idea)


class ActionGapAnswer(SafeAction):
    def name(self) -> str:
        return "action_gap_answer"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        services = get_services()
        turn = read_turn(tracker)
        answer = services.knowledge_base.get(turn.intent)
        score, decision, trust = await judge(services, turn, answer)
        events: list[EventType] = []
        if decision.action == ANSWER and answer is not None:
            record = turn_record(turn, decision, score, answer, answer.text, trust)
            send_answer(dispatcher, tracker, answer, record["uid"])
            if answer.start_flow:
                events.append(FollowupAction(answer.start_flow))
        elif decision.action == ESCALATE:
            asked = DecisionReason.ASKED_FOR_HUMAN in decision.reasons
            name = await hand_over_response(services, asked)
            reply = say(dispatcher, of_domain(domain), name, turn.channel)
            record = turn_record(turn, decision, score, answer, reply, trust)
            events.append(ConversationPaused())
        else:
            reply = clarify(dispatcher, of_domain(domain), services, turn)
            record = turn_record(turn, decision, score, answer, reply, trust)
        services.recorder.record(record)
        if decision.action == ESCALATE:
            record_escalation(services, turn, decision, score)
        # Failures in a row: a plain answer starts the count again.
        failures = 0 if decision.is_plain_answer else turn.failures + 1
        return [SlotSet(FAILURES_SLOT, failures), *events]


async def judge(
    services: Services, turn: CurrentTurn, answer: Answer | None
) -> tuple[GapScore | None, Decision, float | None]:
    """Score the NLU's reading of the message and decide what to do with it, for this
    customer (their trust, read while the message is scored; None: not read)."""
    if services.settings.gap_scoring == "off":  # control group: answer what can be answered
        return None, Decision(ANSWER if answer else CLARIFY, [DecisionReason.SCORING_OFF]), None
    # The model sees the redacted text (card numbers, emails, phones masked), and its
    # reasons never quote words that may name someone (gapmodel/coverage.py), as
    # reasons are stored and shown to agents.
    score, trust = await asyncio.gather(
        services.score(GapInput(redact(turn.text) or "", turn.ranking)),
        services.customer_trust(turn.conversation_id),
    )
    decision = decide_turn(
        score,
        turn.text,
        turn.previous_customer_texts,
        turn.failures,
        answer is not None,
        services.settings,
        trust,
    )
    return score, decision, trust


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
        name = await hand_over_response(services, asked=True)
        reply = say(dispatcher, of_domain(domain), name, turn.channel)
        services.recorder.record(turn_record(turn, decision, None, None, reply))
        record_escalation(services, turn, decision, None)
        return [ConversationPaused()]


async def hand_over_response(services: Services, asked: bool) -> str:
    """What the customer hears on hand-over: with nobody online, that they may leave a message.

    The conversation waits in the queue either way. When the database cannot say
    whether anybody is online, the usual words are used.
    """
    nobody_online = await services.agents_online() is False
    if asked:
        return "utter_hand_over_asked_nobody_online" if nobody_online else "utter_hand_over_asked"
    return "utter_hand_over_nobody_online" if nobody_online else "utter_hand_over"


def say(
    dispatcher: CollectingDispatcher,
    responses: Responses,
    name: str,
    channel: str,
    buttons: list[dict[str, Any]] | None = None,
    **values: Any,
) -> str:
    """Send response ``name`` (``values`` fill its placeholders, ``buttons`` follow its
    own); its words, recorded with the turn, are returned."""
    words = text(responses, name, channel, **values)  # first: it fails on a bad domain
    dispatcher.utter_message(response=name, buttons=buttons, **values)
    return words


def clarify(
    dispatcher: CollectingDispatcher, responses: Responses, services: Services, turn: CurrentTurn
) -> str:
    """Offer the likeliest topics the bot can answer, and a person.

    With no topic to offer, the bot says what it can help with instead (the business's
    topics, from the knowledge base) and offers the person alone.
    """
    options = services.knowledge_base.clarification_options(turn.ranking)
    if not options:
        topics = services.knowledge_base.business.topics
        if topics:
            return say(
                dispatcher, responses, "utter_no_idea_with_topics", turn.channel, topics=topics
            )
        return say(dispatcher, responses, "utter_no_idea", turn.channel)
    buttons = [{"title": a.title, "payload": f"/{a.intent}"} for a in options]
    # Rasa puts a response's own buttons before the action's: the person button, which
    # comes last, is copied from utter_no_idea instead.
    buttons.append(button(responses, "utter_no_idea", HUMAN_PAYLOAD, turn.channel))
    return say(dispatcher, responses, "utter_clarify", turn.channel, buttons=buttons)


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
    trust: float | None = None,
) -> dict[str, Any]:
    """The turn as stored; built before replying, as the rating buttons carry its uid.

    ``trust``: the customer's trust the decision used (None: not read).
    """
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
        trust=None if trust is None else round(trust, 4),
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
