"""What the bot does with a scored answer: answer, clarify or escalate.

The gap model scores one message; the conversation around it is judged here, from
signals a person would notice: the customer asked for a person, is rephrasing what
they already asked, sounds frustrated, or the bot already failed them before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from gapmodel.costs import ANSWER, CLARIFY, DEFAULT_CLARIFICATION_HIT_RATE, ESCALATE, Costs
from gapmodel.types import GapScore, words

_PERSON = (
    r"(?:(?:a|an|the|some|real|live|actual|your)\s+)*"
    r"(?:human(?:\s+being)?|person|agent|operator|representative|advisor|adviser)\b(?!'s)"
)
_SOMEONE = rf"(?:{_PERSON}|(?:a\s+)?(?:manager|supervisor|someone|somebody)\b(?!'s|\s+else))"
# A request for a person, not a mention of one ("pay another person", "my agent said",
# "give someone access", "I need a manager's approval").
_ASKS_FOR_HUMAN = re.compile(
    "|".join(
        (
            rf"\b(?:talk|speak|chat)\s+(?:to|with)\s+{_SOMEONE}",
            rf"\b(?:connect|transfer|put|pass)\s+me\s+(?:through\s+|over\s+)?(?:to|with)\s+{_SOMEONE}",
            rf"\b(?:get|want|need)\s+(?:me\s+)?{_PERSON}",
            rf"^\W*{_SOMEONE}(?:\s+(?:please|now|pls))?\W*$",
        )
    ),
    re.IGNORECASE,
)
_FRUSTRATION = re.compile(
    r"\b(useless|stupid|ridiculous|pointless|waste of time|not helpful|doesn'?t help|"
    r"didn'?t help|not what i asked|wrong answer|you don'?t understand|hopeless|terrible|"
    r"awful|annoying|fed up|sick of)\b|[!?]{3,}",
    re.IGNORECASE,
)


class DecisionReason(StrEnum):
    """Reason codes of a decision, stored with the turn and shown to agents."""

    ASKED_FOR_HUMAN = "asked_for_human"
    HIGH_GAP = "high_gap"
    DOUBTFUL = "doubtful"
    NO_ANSWER = "no_answer"
    REPEATED_FAILURE = "repeated_failure"
    TOPIC_COSTS = "topic_costs"  # the intent's own costs decided, not the settings
    LOW_TRUST = "low_trust"  # the customer's fallen trust decided (a costlier missed gap)
    REPHRASED = "rephrased"
    FRUSTRATION = "frustration"
    SCORER_FAILED = "scorer_failed"
    SCORING_OFF = "scoring_off"  # control group (GAPDESK_GAP_SCORING=off)


@dataclass(frozen=True)
class ConversationSignals:
    """What the conversation so far says, read from the tracker by the action."""

    asked_for_human: bool = False
    rephrased: bool = False
    frustrated: bool = False
    failures: int = 0  # earlier clarifications and doubtful answers


@dataclass(frozen=True)
class Decision:
    action: str
    reasons: list[str] = field(default_factory=list)

    @property
    def is_plain_answer(self) -> bool:
        """An answer with no reason against it: it ends a run of failures.

        Every other turn adds one to the run that ``ConversationSignals.failures``
        carries into the next decision: a clarification, a hand-over, and also an
        answer given despite a reason (a rephrase, frustration, the topic's own costs),
        since the customer may still be stuck.
        """
        return self.action == ANSWER and not self.reasons


def read_signals(text: str, previous_texts: Sequence[str], failures: int) -> ConversationSignals:
    """Signals of the current message against the customer's earlier messages."""
    return ConversationSignals(
        asked_for_human=bool(_ASKS_FOR_HUMAN.search(text)),
        rephrased=any(_overlap(text, earlier) >= 0.5 for earlier in previous_texts[-2:]),
        frustrated=bool(_FRUSTRATION.search(text)),
        failures=failures,
    )


def _overlap(a: str, b: str) -> float:
    """Share of content words two messages have in common (Jaccard).

    Short replies ("thanks", "yes") repeated are not a rephrased question: at least two
    shared words of four letters or more are needed.
    """
    first = {w for w in words(a) if len(w) > 3}
    second = {w for w in words(b) if len(w) > 3}
    shared = first & second
    if len(shared) < 2:
        return 0.0
    return len(shared) / len(first | second)


def decide(
    score: GapScore | None,
    signals: ConversationSignals,
    has_answer: bool,
    costs: Costs,
    max_failures: int,
    usual_costs: Costs | None = None,
    missed_gap_factor: float = 1.0,
) -> Decision:
    """Choose answer / clarify / escalate, with the reasons that decided it.

    The dialogue rules come first (a request for a person, a failed scorer, no answer
    to give); then the action of least expected cost (:mod:`gapmodel.costs`), except
    that a doubt repeated ``max_failures`` times escalates instead of asking again.
    ``missed_gap_factor`` multiplies the cost of a missed gap (of ``costs`` and
    ``usual_costs`` alike): the application raises it for a customer it has failed.
    When ``costs`` are an intent's own and ``usual_costs`` (the settings') would have
    chosen otherwise, the reasons say so (``topic_costs``); when the factor changed the
    action, they say that too (``low_trust``).
    """
    if signals.asked_for_human:
        return Decision(ESCALATE, [DecisionReason.ASKED_FOR_HUMAN])
    if score is None:  # the scorer failed or timed out: never guess
        return Decision(ESCALATE, [DecisionReason.SCORER_FAILED])

    reasons: list[str] = []
    if signals.rephrased:
        reasons.append(DecisionReason.REPHRASED)
    if signals.frustrated:
        reasons.append(DecisionReason.FRUSTRATION)
    # A rephrase or frustration means the previous answer probably missed.
    failures = signals.failures + int(signals.rephrased) + int(signals.frustrated)
    repeated = failures >= max_failures

    if not has_answer:
        reasons.append(DecisionReason.NO_ANSWER)
        if repeated:
            return Decision(ESCALATE, [*reasons, DecisionReason.REPEATED_FAILURE])
        return Decision(CLARIFY, reasons)
    hit_rate = score.clarification_hit_rate
    if hit_rate is None:
        hit_rate = DEFAULT_CLARIFICATION_HIT_RATE
    p = score.probability
    decision = _by_cost(_scaled(costs, missed_gap_factor).cheapest(p, hit_rate), reasons, repeated)
    extra: list[str] = []
    if usual_costs is not None:
        usual = _scaled(usual_costs, missed_gap_factor)
        if _by_cost(usual.cheapest(p, hit_rate), reasons, repeated).action != decision.action:
            extra.append(DecisionReason.TOPIC_COSTS)
    unscaled = _by_cost(costs.cheapest(p, hit_rate), reasons, repeated)
    if unscaled.action != decision.action:
        extra.append(DecisionReason.LOW_TRUST)
    return Decision(decision.action, [*decision.reasons, *extra]) if extra else decision


def _scaled(costs: Costs, missed_gap_factor: float) -> Costs:
    if missed_gap_factor == 1.0:
        return costs
    return replace(costs, missed_gap=costs.missed_gap * missed_gap_factor)


def _by_cost(action: str, reasons: list[str], repeated: bool) -> Decision:
    """The cheapest action, turned into an escalation when doubts keep repeating."""
    if action == ESCALATE:
        return Decision(ESCALATE, [DecisionReason.HIGH_GAP, *reasons])
    if action == CLARIFY:
        if repeated:
            return Decision(
                ESCALATE, [DecisionReason.DOUBTFUL, *reasons, DecisionReason.REPEATED_FAILURE]
            )
        return Decision(CLARIFY, [DecisionReason.DOUBTFUL, *reasons])
    if repeated and reasons:
        return Decision(ESCALATE, [*reasons, DecisionReason.REPEATED_FAILURE])
    return Decision(ANSWER, reasons)
