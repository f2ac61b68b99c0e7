"""What each way of handling a doubtful answer costs, and which one is cheapest.

Instead of hand-picked thresholds, the bot weighs three costs (settings, optionally
overridden per intent in a YAML file) against the calibrated gap probability ``p``:

* answer: the answer misses with probability ``p``: ``p * missed_gap``;
* escalate: the hand-over was unneeded with probability ``1 - p``: ``(1 - p) * handoff``;
* clarify: the question costs ``clarification`` in any case, and it only rescues a gap
  when the right topic is among the offered options (probability ``h``, measured on the
  cross-validated training predictions and saved with the gap model):
  ``clarification + p * (1 - h) * missed_gap``.

The action with the least expected cost wins; on a tie the safer one (escalate, then
clarify) does, as the thresholds it replaces did ("at or above").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

import yaml

from gapmodel.errors import ConfigurationError
from gapmodel.settings import Settings

logger = logging.getLogger(__name__)

ANSWER, CLARIFY, ESCALATE = "answer", "clarify", "escalate"
# Safest first: the order that breaks ties between equally expensive actions.
_SAFETY_ORDER = (ESCALATE, CLARIFY, ANSWER)
# The chance that a clarification offers the right topic, for a gap score that does not
# carry the gap model's own estimate (a model trained before it was measured).
DEFAULT_CLARIFICATION_HIT_RATE = 0.7


@dataclass(frozen=True)
class Costs:
    """Costs in any one unit (money, minutes, ...): only their ratios matter."""

    missed_gap: float
    handoff: float
    clarification: float

    def expected(self, gap_probability: float, clarification_hit_rate: float) -> dict[str, float]:
        """Expected cost of each action for an answer with this gap probability."""
        p, hit = gap_probability, clarification_hit_rate
        return {
            ANSWER: p * self.missed_gap,
            CLARIFY: self.clarification + p * (1 - hit) * self.missed_gap,
            ESCALATE: (1 - p) * self.handoff,
        }

    def cheapest(self, gap_probability: float, clarification_hit_rate: float) -> str:
        """The action of least expected cost (the safer one on a tie)."""
        expected = self.expected(gap_probability, clarification_hit_rate)
        return min(_SAFETY_ORDER, key=lambda action: expected[action])


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
