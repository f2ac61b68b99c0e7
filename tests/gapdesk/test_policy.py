"""Unit tests of gapdesk.policy: the settings' costs, per-intent overrides, one turn's decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from gapdesk.policy import decide_turn
from gapdesk.settings import Settings
from gapmodel.decision import ANSWER, CLARIFY, ESCALATE, Decision, DecisionReason
from gapmodel.types import GapScore


def _score(probability: float, hit_rate: float | None = 0.7, intent: str | None = None) -> GapScore:
    return GapScore(
        probability,
        reasons=[],
        model_version="t",
        latency_ms=1.0,
        intent=intent,
        clarification_hit_rate=hit_rate,
    )


def _settings(tmp_path: Path, costs_yaml: str | None) -> Settings:
    path = tmp_path / "costs.yml"
    if costs_yaml is not None:
        path.write_text(costs_yaml, encoding="utf-8")
    return Settings(
        cost_missed_gap=10.0, cost_handoff=20.0, cost_clarification=3.0, intent_costs_file=str(path)
    )


def test_per_intent_costs_override_the_settings_for_that_intent_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "lost_or_stolen_card:\n  missed_gap: 100\n")
    for intent, expected in (("lost_or_stolen_card", CLARIFY), ("card_arrival", ANSWER)):
        decision = decide_turn(_score(0.3, intent=intent), "my card", [], 0, True, settings)
        assert decision.action == expected, intent
        # The reasons say when the topic's own costs, not the usual ones, decided.
        assert (DecisionReason.TOPIC_COSTS in decision.reasons) == (intent == "lost_or_stolen_card")


def test_topic_costs_are_no_reason_when_repeated_doubt_escalates_anyway(tmp_path: Path) -> None:
    # At 0.6 the usual costs clarify and the topic's (cheap hand-overs) escalate; but a
    # doubt repeated escalates either way, so the topic's costs decided nothing.
    settings = _settings(tmp_path, "lost_or_stolen_card:\n  handoff: 1\n")
    decision = decide_turn(_score(0.6, intent="lost_or_stolen_card"), "card", [], 2, True, settings)
    assert decision.action == ESCALATE
    assert DecisionReason.TOPIC_COSTS not in decision.reasons


def test_topic_costs_are_no_reason_when_the_usual_costs_agree(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "lost_or_stolen_card:\n  missed_gap: 11\n")
    decision = decide_turn(_score(0.9, intent="lost_or_stolen_card"), "card", [], 0, True, settings)
    assert decision == Decision(ESCALATE, [DecisionReason.HIGH_GAP])


def test_a_missing_per_intent_costs_file_means_no_overrides(tmp_path: Path) -> None:
    settings = _settings(tmp_path, None)
    decision = decide_turn(_score(0.3, intent="card_arrival"), "my card", [], 0, True, settings)
    assert decision.action == ANSWER


@pytest.mark.parametrize(
    "costs_yaml",
    ["- a list\n", "card_arrival:\n  misssed_gap: 5\n", "card_arrival: {handoff: -1}\n"],
)
def test_a_malformed_per_intent_costs_file_is_a_configuration_error(
    tmp_path: Path, costs_yaml: str
) -> None:
    from gapdesk.policy import intent_overrides
    from gapmodel.errors import ConfigurationError

    settings = _settings(tmp_path, costs_yaml)
    with pytest.raises(ConfigurationError, match="costs"):  # what `gapdesk up` checks
        intent_overrides(Path(settings.intent_costs_file))
    # ... and a file broken while the bot runs: the default costs, not a crash
    decision = decide_turn(_score(0.3, intent="card_arrival"), "my card", [], 0, True, settings)
    assert decision.action == ANSWER


def test_the_default_costs_keep_the_earlier_thresholds_for_a_typical_hit_rate() -> None:
    # A hit rate like the bank bot's (0.6-0.7): clarify from ~0.45, escalate from ~0.73.
    settings = Settings()
    actions = [
        decide_turn(_score(p, hit_rate=0.68), "where is my card", [], 0, True, settings).action
        for p in (0.40, 0.46, 0.70, 0.76)
    ]
    assert actions == [ANSWER, CLARIFY, CLARIFY, ESCALATE]


def test_a_broken_costs_file_is_read_and_reported_once_per_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gapdesk import policy as costs

    settings = _settings(tmp_path, "card_arrival: {handoff: -1}\n")
    parses = []
    real_parse = costs._parse_overrides
    monkeypatch.setattr(costs, "_parse_overrides", lambda p: parses.append(p) or real_parse(p))
    costs._read_overrides.cache_clear()
    costs._warn_broken.cache_clear()
    with caplog.at_level("ERROR", logger="gapdesk.policy"):
        for _ in range(5):
            decide_turn(_score(0.3, intent="card_arrival"), "my card", [], 0, True, settings)
    assert len(parses) == 1
    assert len([r for r in caplog.records if "default costs" in r.getMessage()]) == 1


def test_a_customer_whose_trust_has_fallen_is_handed_over_sooner() -> None:
    """Defaults 10 / 20 / 3, hit rate 0.63. At p = 0.65 a trusted customer is asked which
    topic was meant (answer 6.5, clarify 3 + 0.37 x 6.5 = 5.405, escalate 7); at trust 0
    the missed gap costs 10 x (1 + 1 x 1) = 20: answer 13, clarify 7.81, escalate 7."""
    settings = Settings()  # GAPDESK_TRUST_WEIGHT 1
    score = _score(0.65, hit_rate=0.63)
    assert decide_turn(score, "my card", [], 0, True, settings).action == CLARIFY
    assert decide_turn(score, "my card", [], 0, True, settings, trust=0.8).action == CLARIFY
    fallen = decide_turn(score, "my card", [], 0, True, settings, trust=0.0)
    assert fallen == Decision(ESCALATE, [DecisionReason.HIGH_GAP, DecisionReason.LOW_TRUST])
    off = Settings(trust_weight=0.0)
    assert decide_turn(score, "my card", [], 0, True, off, trust=0.0).action == CLARIFY


def test_the_same_gap_that_is_answered_for_a_trusted_customer_is_not_for_a_wary_one() -> None:
    """p = 0.45: answer 4.5 < clarify 4.665 < escalate 11 with M = 10; with trust 0.4
    (half the prior lost) and weight 6, M = 10 x (1 + 6 x 0.5) = 40: answer 18, clarify
    3 + 0.37 x 18 = 9.66, escalate 11: clarify. At p = 0.47 and trust 0.1 (M = 10 x
    (1 + 6 x 0.875) = 62.5): answer 29.4, clarify 13.9, escalate 10.6: escalate."""
    settings = Settings(trust_weight=6.0)
    assert decide_turn(_score(0.45, 0.63), "card", [], 0, True, settings, 0.8).action == ANSWER
    assert decide_turn(_score(0.45, 0.63), "card", [], 0, True, settings, 0.4).action == CLARIFY
    assert decide_turn(_score(0.47, 0.63), "card", [], 0, True, settings, 0.8).action == ANSWER
    assert decide_turn(_score(0.47, 0.63), "card", [], 0, True, settings, 0.1).action == ESCALATE
