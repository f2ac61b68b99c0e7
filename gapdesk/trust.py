"""A customer's trust: how well the bot has been serving them lately.

The rule (pure: no database, no settings; ``gapdesk.policy`` and the store feed it):

* **Evidence.** Each customer (the channel's sender id, which is Rasa's conversation id)
  has *good* and *bad* evidence, both 0 for a new customer. Outcomes add to it, each
  with a weight (:data:`OUTCOMES`): an answer with gap probability *p* adds *1 − p* to
  good and *p* to bad (an unscored answer adds 1 to good); a clarification adds 0.5 to
  bad; a rephrased question or a frustrated message adds 1 to bad; a hand-over the
  customer asked for adds 1 to bad, one out of doubt (the bot's own decision) 2; a thumbs
  down adds 2 to bad, a thumbs up 1 to good; a conversation rated 4-5 adds 1 to good,
  one rated 1-2 adds 1 to bad.
* **Decay.** Evidence fades with time: after *t* days it is worth ``0.5 ** (t / h)`` of
  what it was (*h*: ``GAPDESK_TRUST_HALF_LIFE_DAYS``, 14 by default). Evidence is stored
  as of its last update and decayed to the moment it is read or added to.
* **Trust** is the mean of the Beta posterior ``Beta(a0 + good, b0 + bad)`` with the
  prior ``Beta(a0, b0) = Beta(4, 1)``: ``(a0 + good) / (a0 + b0 + good + bad)``. A new
  customer, or one whose evidence has faded, has the prior's trust 0.8.
* **The decision** (:func:`missed_gap_factor`): the cost of a missed gap is multiplied by
  ``1 + w * fallen``, where ``fallen = max(0, 1 - trust / 0.8)`` is the share of the
  starting trust the customer has lost and *w* is ``GAPDESK_TRUST_WEIGHT`` (1 by
  default; 0 turns trust off). A new customer's decision is therefore exactly the one
  the costs alone make, and trust above the prior never makes the bot bolder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# Weights of the outcomes, in units of one plain answer's evidence.
CLARIFIED_BAD = 0.5
SIGNAL_BAD = 1.0  # a rephrased question or a frustrated message, per signal
HANDOVER_ASKED_BAD = 1.0
HANDOVER_DOUBT_BAD = 2.0
THUMBS_DOWN_BAD = 2.0
THUMBS_UP_GOOD = 1.0
RATING_GOOD = 1.0  # a conversation rated 4 or 5
RATING_BAD = 1.0  # a conversation rated 1 or 2
OUTCOMES = {
    "answer (gap probability p)": "good 1 - p, bad p",
    "clarification": f"bad {CLARIFIED_BAD}",
    "rephrase or frustration": f"bad {SIGNAL_BAD} each",
    "hand-over asked for": f"bad {HANDOVER_ASKED_BAD}",
    "hand-over out of doubt": f"bad {HANDOVER_DOUBT_BAD}",
    "thumbs down": f"bad {THUMBS_DOWN_BAD}",
    "thumbs up": f"good {THUMBS_UP_GOOD}",
    "conversation rated 4-5 / 1-2": f"good {RATING_GOOD} / bad {RATING_BAD}",
}
# What "trust 0.62" means, for the people who read it in the console.
HELP = (
    "The customer's trust, 0 to 1 (0.80 for a new customer): it falls with gaps, thumbs "
    "down and hand-overs, recovers with answers that went well, and fades back to 0.80 "
    "over weeks. Below 0.80 the bot hands this customer over sooner."
)
_SIGNALS = ("rephrased", "frustration")
_ASKED = "asked_for_human"
# Hand-overs that say nothing new of how this customer was served: the scorer failed
# (an outage would lower everyone's trust), or fallen trust itself decided (it would
# feed on itself, with the conversation paused and no answer to win it back).
_NO_VERDICT = frozenset({"scorer_failed", "low_trust"})


@dataclass(frozen=True)
class Outcome:
    """What one event adds to a customer's evidence."""

    good: float = 0.0
    bad: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.good or self.bad)


@dataclass(frozen=True)
class Evidence:
    """A customer's good and bad evidence as of ``at`` (before decay to a later time)."""

    good: float
    bad: float
    at: datetime


@dataclass(frozen=True)
class TrustRule:
    """The prior ``Beta(prior_good, prior_bad)`` and the evidence's half-life."""

    prior_good: float = 4.0
    prior_bad: float = 1.0
    half_life_days: float = 14.0

    @property
    def prior_trust(self) -> float:
        """A new customer's trust: the prior's mean."""
        return self.prior_good / (self.prior_good + self.prior_bad)

    def decayed(self, evidence: Evidence, now: datetime) -> Evidence:
        """``evidence`` as it is worth at ``now`` (never more than it was)."""
        days = max(0.0, (now - evidence.at).total_seconds() / 86400)
        factor = 0.5 ** (days / self.half_life_days) if self.half_life_days > 0 else 1.0
        return Evidence(evidence.good * factor, evidence.bad * factor, max(now, evidence.at))

    def add(self, evidence: Evidence | None, outcome: Outcome, now: datetime) -> Evidence:
        """The evidence after ``outcome`` happened at ``now``."""
        current = self.decayed(evidence, now) if evidence else Evidence(0.0, 0.0, now)
        return Evidence(current.good + outcome.good, current.bad + outcome.bad, current.at)

    def trust(self, evidence: Evidence | None, now: datetime) -> float:
        """The Beta posterior's mean at ``now``; the prior's for a customer without evidence."""
        if evidence is None:
            return self.prior_trust
        current = self.decayed(evidence, now)
        good = self.prior_good + current.good
        return good / (good + self.prior_bad + current.bad)

    def missed_gap_factor(self, trust: float, weight: float) -> float:
        """How much more a missed gap costs for a customer of this ``trust``."""
        fallen = max(0.0, 1.0 - trust / self.prior_trust)
        return 1.0 + weight * fallen


def turn_outcome(
    decision: str | None, reasons: Sequence[str], gap_probability: float | None
) -> Outcome:
    """What a bot turn says about the service: its hand-over counts with the escalation."""
    bad = SIGNAL_BAD * sum(1 for r in reasons if r in _SIGNALS)
    if decision == "answer":
        p = gap_probability if gap_probability is not None else 0.0
        return Outcome(good=1.0 - p, bad=bad + p)
    if decision == "clarify":
        return Outcome(bad=bad + CLARIFIED_BAD)
    return Outcome(bad=bad)


def escalation_outcome(reason_codes: Sequence[str]) -> Outcome:
    """A hand-over: one the customer asked for, or one out of the bot's doubt; none
    when the scorer failed or the customer's fallen trust decided it."""
    if _NO_VERDICT & set(reason_codes):
        return Outcome()
    if set(reason_codes) <= {_ASKED} and reason_codes:
        return Outcome(bad=HANDOVER_ASKED_BAD)
    return Outcome(bad=HANDOVER_DOUBT_BAD)


def rating_outcome(kind: str, rating: str) -> Outcome:
    """A customer's rating: thumbs up/down on an answer, or 1-5 for the conversation."""
    if kind == "conversation":
        if rating in ("4", "5"):
            return Outcome(good=RATING_GOOD)
        if rating in ("1", "2"):
            return Outcome(bad=RATING_BAD)
        return Outcome()
    if rating == "down":
        return Outcome(bad=THUMBS_DOWN_BAD)
    if rating == "up":
        return Outcome(good=THUMBS_UP_GOOD)
    return Outcome()
