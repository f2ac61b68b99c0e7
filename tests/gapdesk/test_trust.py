"""Unit tests of gapdesk.trust, with values worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gapdesk.trust import (
    Evidence,
    Outcome,
    TrustRule,
    escalation_outcome,
    rating_outcome,
    turn_outcome,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)
DAY = timedelta(days=1)
RULE = TrustRule()  # prior Beta(4, 1), half-life 14 days


def test_a_new_customer_has_the_priors_trust() -> None:
    assert RULE.prior_trust == 0.8
    assert RULE.trust(None, T0) == 0.8


def test_a_thumbs_down_lowers_trust_and_its_weight_halves_every_half_life() -> None:
    evidence = RULE.add(None, rating_outcome("answer", "down"), T0)
    assert evidence == Evidence(0.0, 2.0, T0)
    assert RULE.trust(evidence, T0) == pytest.approx(4 / 7)  # 4 / (4 + 1 + 2)
    assert RULE.trust(evidence, T0 + 14 * DAY) == pytest.approx(2 / 3)  # bad 1: 4 / 6
    assert RULE.trust(evidence, T0 + 28 * DAY) == pytest.approx(8 / 11)  # bad 0.5: 4 / 5.5
    assert RULE.trust(evidence, T0 + 3650 * DAY) == pytest.approx(0.8)  # back to the prior


def test_evidence_is_decayed_before_new_evidence_is_added() -> None:
    down = RULE.add(None, Outcome(bad=2.0), T0)
    later = RULE.add(down, Outcome(good=1.0), T0 + 14 * DAY)
    assert later == Evidence(1.0, 1.0, T0 + 14 * DAY)
    assert RULE.trust(later, later.at) == pytest.approx(5 / 7)  # (4 + 1) / (5 + 2)


def test_an_outcome_recorded_late_is_added_without_decay() -> None:
    evidence = Evidence(1.0, 1.0, T0 + DAY)
    assert RULE.add(evidence, Outcome(bad=2.0), T0) == Evidence(1.0, 3.0, T0 + DAY)


def test_the_half_life_is_a_parameter() -> None:
    rule = TrustRule(half_life_days=7.0)
    assert rule.decayed(Evidence(4.0, 2.0, T0), T0 + 14 * DAY) == Evidence(1.0, 0.5, T0 + 14 * DAY)


def test_outcomes_of_a_bot_turn() -> None:
    assert turn_outcome("answer", [], 0.25) == Outcome(good=0.75, bad=0.25)
    assert turn_outcome("answer", ["scoring_off"], None) == Outcome(good=1.0)
    assert turn_outcome("answer", ["rephrased"], 0.5) == Outcome(good=0.5, bad=1.5)
    assert turn_outcome("clarify", ["doubtful"], 0.6) == Outcome(bad=0.5)
    assert turn_outcome("clarify", ["doubtful", "frustration", "rephrased"], 0.6) == Outcome(
        bad=2.5
    )
    # a hand-over counts with its escalation record, not twice
    assert turn_outcome("escalate", ["high_gap"], 0.9) == Outcome()
    assert not turn_outcome("escalate", ["high_gap"], 0.9)


def test_outcomes_of_hand_overs_and_ratings() -> None:
    assert escalation_outcome(["asked_for_human"]) == Outcome(bad=1.0)
    assert escalation_outcome(["high_gap", "low_confidence"]) == Outcome(bad=2.0)
    # No verdict on the service: the scorer failed, or fallen trust itself decided
    # (it would feed on itself, with the conversation paused).
    assert escalation_outcome(["scorer_failed"]) == Outcome()
    assert escalation_outcome(["high_gap", "low_trust"]) == Outcome()
    assert escalation_outcome([]) == Outcome(bad=2.0)
    assert rating_outcome("answer", "down") == Outcome(bad=2.0)
    assert rating_outcome("answer", "up") == Outcome(good=1.0)
    assert rating_outcome("conversation", "5") == Outcome(good=1.0)
    assert rating_outcome("conversation", "2") == Outcome(bad=1.0)
    assert rating_outcome("conversation", "3") == Outcome()


def test_the_missed_gap_cost_grows_only_as_trust_falls_below_the_prior() -> None:
    assert RULE.missed_gap_factor(0.8, 1.0) == 1.0  # a new customer: the costs alone
    assert RULE.missed_gap_factor(0.95, 1.0) == 1.0  # good history: never bolder
    assert RULE.missed_gap_factor(0.4, 1.0) == pytest.approx(1.5)  # lost half its trust
    assert RULE.missed_gap_factor(0.0, 1.0) == pytest.approx(2.0)
    assert RULE.missed_gap_factor(0.0, 3.0) == pytest.approx(4.0)
    assert RULE.missed_gap_factor(0.4, 0.0) == 1.0  # weight 0: trust off
    # two hand-overs out of doubt: trust 4 / 9; fallen 1 - (4/9) / 0.8 = 4/9
    evidence = RULE.add(None, Outcome(bad=4.0), T0)
    trust = RULE.trust(evidence, T0)
    assert trust == pytest.approx(4 / 9)
    assert RULE.missed_gap_factor(trust, 1.0) == pytest.approx(13 / 9)
