"""The bot's decision policy as configured: the settings' costs, per-intent overrides,
the customer's trust, and the decision for one turn as the action server, the CLI and
the figures take it.

``gapmodel.decision``, ``gapmodel.costs`` and ``gapdesk.trust`` are the pure rules;
this module feeds them the application's settings and the per-intent costs file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import fields, replace
from functools import lru_cache
from pathlib import Path

import yaml

from gapdesk.settings import Settings
from gapdesk.trust import TrustRule
from gapmodel.costs import Costs
from gapmodel.decision import Decision, decide, read_signals
from gapmodel.errors import ConfigurationError
from gapmodel.types import GapScore

logger = logging.getLogger(__name__)


def decide_turn(
    score: GapScore | None,
    text: str,
    previous_texts: Sequence[str],
    failures: int,
    has_answer: bool,
    settings: Settings,
    trust: float | None = None,
) -> Decision:
    """The decision for one message, as the bot makes it (action, CLI and figures alike).

    A button press (a ``/intent`` payload) carries no rephrase or frustration to read.
    The costs are those of the intent the answer is for (``GAPDESK_INTENT_COSTS_FILE``),
    the missed gap's raised for a customer whose ``trust`` has fallen
    (``GAPDESK_TRUST_WEIGHT``; None: a new customer's trust, nothing raised).
    """
    if text.startswith("/"):
        signals = read_signals("", [], failures)
    else:
        signals = read_signals(text, previous_texts, failures)
    return decide(
        score,
        signals,
        has_answer,
        costs_for(score.intent if score else None, settings),
        settings.max_failures,
        default_costs(settings),
        missed_gap_factor(trust, settings),
    )


def trust_rule(settings: Settings) -> TrustRule:
    """The trust rule with the settings' half-life (gapdesk.trust)."""
    return TrustRule(half_life_days=settings.trust_half_life_days)


def missed_gap_factor(trust: float | None, settings: Settings) -> float:
    """How much more a missed gap costs for a customer of this ``trust``."""
    if trust is None:
        return 1.0
    return trust_rule(settings).missed_gap_factor(trust, settings.trust_weight)


def default_costs(settings: Settings) -> Costs:
    """The costs of the settings, which apply to every intent without overrides."""
    return Costs(
        missed_gap=settings.cost_missed_gap,
        handoff=settings.cost_handoff,
        clarification=settings.cost_clarification,
    )


def costs_for(intent: str | None, settings: Settings) -> Costs:
    """The costs that apply to answering ``intent``: the settings, with its overrides.

    ``gapdesk up`` refuses to start with a malformed file; one broken while the bot runs
    is logged and the default costs apply, so the customer still gets a decision.
    """
    costs = default_costs(settings)
    if not settings.intent_costs_file or intent is None:
        return costs
    try:
        overrides = intent_overrides(Path(settings.intent_costs_file))
    except ConfigurationError as exc:
        _warn_broken(str(exc))  # once per distinct problem, not once per turn
        return costs
    return replace(costs, **overrides.get(intent, {}))


@lru_cache(maxsize=8)
def _warn_broken(problem: str) -> None:
    logger.error("%s; using the default costs until the file is fixed", problem)


def intent_overrides(path: Path) -> dict[str, dict[str, float]]:
    """Per-intent cost overrides from ``path``; none when the file does not exist.

    Read once per version of the file (its modification time is part of the cache key),
    so an edit takes effect without a restart and a turn never re-parses the YAML, not
    even a broken one (its error is kept and raised again).
    """
    try:
        modified = path.stat().st_mtime_ns
    except FileNotFoundError:
        _warn_missing(str(path))
        return {}
    result = _read_overrides(str(path), modified)
    if isinstance(result, ConfigurationError):
        raise result
    return result


@lru_cache(maxsize=1)
def _warn_missing(path: str) -> None:
    logger.warning("per-intent costs file %s does not exist: using the default costs", path)


@lru_cache(maxsize=4)
def _read_overrides(path: str, modified: int) -> dict[str, dict[str, float]] | ConfigurationError:
    try:
        return _parse_overrides(path)
    except ConfigurationError as exc:
        return exc


def _parse_overrides(path: str) -> dict[str, dict[str, float]]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read the per-intent costs {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path} must map intents to their costs")
    return {
        str(intent): _parse_costs(path, str(intent), entry) for intent, entry in document.items()
    }


def _parse_costs(path: str, intent: str, entry: object) -> dict[str, float]:
    known = {f.name for f in fields(Costs)}
    if not isinstance(entry, dict) or not set(entry) <= known:
        raise ConfigurationError(
            f"{path}: the costs of {intent} must be a mapping with keys among {sorted(known)}"
        )
    try:
        parsed = {str(key): float(value) for key, value in entry.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{path}: the costs of {intent} must be numbers") from exc
    if any(value < 0 for value in parsed.values()):
        raise ConfigurationError(f"{path}: the costs of {intent} must not be negative")
    return parsed
