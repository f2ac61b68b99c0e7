"""The information view: the period's uncertainty, measured in bits, and what explains it.

The product exists because a bot cannot tell when it fails; this view measures that
uncertainty with Shannon's quantities, each figure with one sentence, worded from the
numbers, saying what it means for this bot.

The outcome is ``gap_turn`` of :mod:`gapdesk.reports.outcomes`: a person labelled the
turn "gap", or nobody labelled it "no gap" and the bot clarified, handed over, or
answered with a missed gap. On a labelled turn it is the person's (newest) verdict.

* **Intent entropy** H(intent): how spread the period's bot turns are over the NLU's
  top intents (a turn with no intent counts as the intent "(no intent)").
* **Outcome entropy** H(gap turn), and per intent H(gap turn | that intent): how
  unpredictable failing is overall and within each intent.
* **Intent and outcome**: the mutual information I(intent; gap turn) = H(gap turn) -
  H(gap turn | intent), the plug-in estimate from the counts, and the share of H(gap
  turn) it removes. A plug-in estimate is biased upwards when there are few turns per
  cell of the intent-outcome table, so the Miller-Madow corrected value is given
  beside it with the number of turns and cells behind it.
* **Stored signals and people's verdicts**: on the labelled turns, the mutual
  information between the verdict and each signal stored with a turn. The gap model's
  own feature values are *not* stored (``gap_scores`` keeps the probability and the
  reasons only), so per-feature figures are out of reach; measured instead are the gap
  probability, the three features the model computes from the NLU ranking
  (recomputed from the stored ranking with the model's own function), and whether each
  reason was given. Numbers are cut into equal-frequency bins first.

Entropies are in bits (logarithms to base 2), rounded to four places in the report.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gapmodel.features import ranking_features

OUTCOME = "gap_turn"
NO_INTENT = "(no intent)"  # as in gapdesk.reports.breakdowns
# Equal-frequency bins for a number: one per TURNS_PER_BIN labelled turns, 2 to MAX_BINS.
# Few bins keep the plug-in estimate's upward bias small on the few turns people label.
MAX_BINS = 4
TURNS_PER_BIN = 10
# How much of the outcome's uncertainty an explanation must remove to be worded so.
CONCENTRATED = 0.3
NOTICEABLE = 0.1
LIMITATION = (
    "The gap model's features are measured on the labelled turns that were scored with "
    "them stored (gap_scores.features, kept since migration 0007); besides them: the "
    "stored gap probability, the three features of the NLU ranking recomputed from the "
    "stored ranking (so older turns count too), and whether each reason was given."
)


# -- the quantities -------------------------------------------------------------------


def entropy_bits(counts: Iterable[int]) -> float:
    """Shannon entropy in bits of the distribution the ``counts`` give (0 for none)."""
    positive = [c for c in counts if c > 0]
    total = sum(positive)
    if not total:
        return 0.0
    return max(0.0, -sum(c / total * math.log2(c / total) for c in positive))


def miller_madow_bits(counts: Iterable[int]) -> float:
    """The entropy with Miller and Madow's correction for a finite sample:
    plug-in + (m - 1) / (2 N ln 2) bits, m the cells with counts, N their total."""
    positive = [c for c in counts if c > 0]
    if not positive:
        return 0.0
    return entropy_bits(positive) + (len(positive) - 1) / (2 * sum(positive) * math.log(2))


def mutual_information_bits(x: Sequence[Hashable], y: Sequence[Hashable]) -> float:
    """Plug-in mutual information I(X; Y) = H(X) + H(Y) - H(X, Y) in bits, from counts."""
    joint, first, second = _counts(x, y)
    return max(0.0, entropy_bits(first) + entropy_bits(second) - entropy_bits(joint))


def miller_madow_mutual_information(x: Sequence[Hashable], y: Sequence[Hashable]) -> float:
    """I(X; Y) from Miller-Madow corrected entropies: the plug-in value plus
    ((mX - 1) + (mY - 1) - (mXY - 1)) / (2 N ln 2). Negative values (the plug-in
    value is within its bias of zero) are reported as 0."""
    joint, first, second = _counts(x, y)
    value = miller_madow_bits(first) + miller_madow_bits(second) - miller_madow_bits(joint)
    return max(0.0, value)


def equal_frequency_bins(values: Sequence[float], bins: int) -> list[int]:
    """Bin numbers cutting ``values`` at their 1/b, 2/b, ... quantiles (numpy's linear
    interpolation). A value equal to a cut goes to the lower bin and repeated cuts
    merge, so equal values always share a bin (many ties make fewer bins)."""
    numbers = np.asarray(values, dtype=float)
    if numbers.size == 0:
        return []
    cuts = np.unique(np.quantile(numbers, np.arange(1, bins) / bins))
    return [int(b) for b in np.searchsorted(cuts, numbers, side="left")]


def bin_count(turns: int) -> int:
    """Bins for a number measured on ``turns`` turns: one per TURNS_PER_BIN, 2 to MAX_BINS."""
    return min(MAX_BINS, max(2, turns // TURNS_PER_BIN))


def _counts(x: Sequence[Hashable], y: Sequence[Hashable]) -> tuple[list[int], list[int], list[int]]:
    if len(x) != len(y):
        raise ValueError("x and y must have one value per turn each")
    pairs = pd.DataFrame({"x": list(x), "y": list(y)})
    joint = pairs.value_counts().tolist()
    return joint, pairs["x"].value_counts().tolist(), pairs["y"].value_counts().tolist()


# -- the view -------------------------------------------------------------------------


def information(outcomes: pd.DataFrame) -> dict[str, Any]:
    """The information view of the period's annotated bot turns (see the module's docstring)."""
    intents = outcomes["intent"].fillna(NO_INTENT).astype(str).tolist()
    failed = [bool(v) for v in outcomes[OUTCOME]]
    return {
        "outcome": OUTCOME,
        "turns": len(failed),
        "intents": intent_entropy(intents),
        "outcome_entropy": outcome_entropy(failed),
        "by_intent": by_intent(intents, failed),
        "intent_and_outcome": intent_and_outcome(intents, failed),
        "signals": signals(outcomes),
    }


def intent_entropy(intents: Sequence[str]) -> dict[str, Any]:
    """H(intent) in bits, the most ``k`` intents could carry (log2 k), and the number of
    equally used intents that would carry as much (2^H)."""
    counts = pd.Series(list(intents), dtype=object).value_counts()
    n, k = len(intents), len(counts)
    bits = entropy_bits(counts.tolist())
    most = math.log2(k) if k else 0.0
    if n == 0:
        sentence = "No customer messages in the period: there is no uncertainty to measure."
    elif k == 1:
        sentence = (
            f"All {n} messages went to one intent ({counts.index[0]}): the predicted intent "
            "carries no uncertainty (0 bits)."
        )
    else:
        evenness = bits / most
        how = (
            "traffic is spread almost evenly"
            if evenness >= 0.9
            else "some intents take more than their share"
            if evenness >= 0.6
            else "a few intents take most of the traffic"
        )
        sentence = (
            f"The {n} messages spread over {k} intents with {bits:.2f} bits of uncertainty, "
            f"as much as {2**bits:.1f} equally used intents would carry ({evenness:.0%} of "
            f"the {most:.2f} bits {k} intents can): {how}."
        )
    return {
        "turns": n,
        "intents": k,
        "bits": _bits(bits),
        "max_bits": _bits(most),
        "equivalent_intents": _bits(2**bits) if n else None,
        "sentence": sentence,
    }


def outcome_entropy(failed: Sequence[bool]) -> dict[str, Any]:
    """H(gap turn) in bits over the period's bot turns."""
    n, gaps = len(failed), sum(failed)
    bits = entropy_bits([gaps, n - gaps])
    if n == 0:
        sentence = "No turns in the period: whether a turn fails cannot be measured."
    elif gaps in (0, n):
        which = "None" if gaps == 0 else "Every one"
        sentence = (
            f"{which} of the {n} turns was a gap turn: whether a turn fails carries no "
            "uncertainty (0 bits), so there is nothing for any signal to explain."
        )
    else:
        sentence = (
            f"{gaps / n:.0%} of the {n} turns were gap turns: whether a turn fails carries "
            f"{bits:.2f} bits of uncertainty (a coin toss would be 1 bit)."
        )
    return {
        "turns": n,
        "gap_turns": gaps,
        "gap_rate": _bits(gaps / n) if n else None,
        "bits": _bits(bits),
        "sentence": sentence,
    }


def by_intent(intents: Sequence[str], failed: Sequence[bool]) -> dict[str, Any]:
    """Per intent, H(gap turn | intent) in bits; rows ordered by the uncertainty they
    hold, p(intent) * H(gap turn | intent), whose sum is H(gap turn | intent)."""
    table = pd.DataFrame({"intent": list(intents), "failed": list(failed)})
    n = len(table)
    held: dict[str, float] = {}  # p(intent) * H(gap turn | intent)
    rows: list[dict[str, Any]] = []
    for intent, group in table.groupby("intent", sort=True):
        turns, gaps = len(group), int(group["failed"].sum())
        bits = entropy_bits([gaps, turns - gaps])
        held[str(intent)] = turns / n * bits
        rows.append(
            {
                "intent": str(intent),
                "turns": turns,
                "gap_turns": gaps,
                "gap_rate": _bits(gaps / turns),
                "bits": _bits(bits),
                "reading": _intent_reading(gaps, turns, bits),
            }
        )
    left = sum(held.values())
    rows.sort(key=lambda r: (-held[r["intent"]], -r["turns"], r["intent"]))
    for row in rows:
        share = held[row["intent"]] / left if left > 0 else None
        row["share_of_uncertainty_left"] = None if share is None else _bits(share)
    return {
        "conditional_bits": _bits(left),
        "rows": rows,
        "sentence": _by_intent_sentence(rows, left),
    }


def _intent_reading(gaps: int, turns: int, bits: float) -> str:
    if gaps == turns:
        return "always a gap turn"
    if gaps == 0:
        return "never a gap turn"
    coin = ", as unpredictable as a coin toss" if bits > 0.95 else ""
    return f"a gap turn {gaps / turns:.0%} of the time ({bits:.2f} bits{coin})"


def _by_intent_sentence(rows: list[dict[str, Any]], left: float) -> str:
    if not rows:
        return "No turns in the period: no intent to look into."
    certain = sum(1 for r in rows if r["gap_turns"] in (0, r["turns"]))
    if left <= 0:
        return (
            f"Within each of the {len(rows)} intents the outcome is certain: every intent "
            "either always or never failed in this period."
        )
    top, covered = [], 0.0
    for row in rows:  # the fewest intents that hold at least half of what is left
        top.append(row["intent"])
        covered += row["share_of_uncertainty_left"] or 0.0
        if covered >= 0.5:
            break
    named = ", ".join(top)
    return (
        f"What remains uncertain once the intent is known ({left:.2f} bits) lives mostly in "
        f"{named} ({covered:.0%} of it); {certain} of the {len(rows)} intents always or "
        "never failed."
    )


def intent_and_outcome(intents: Sequence[str], failed: Sequence[bool]) -> dict[str, Any]:
    """I(intent; gap turn): plug-in and Miller-Madow corrected, with the share of
    H(gap turn) the plug-in value removes."""
    n = len(failed)
    outcome_bits = entropy_bits(pd.Series(list(failed), dtype=bool).value_counts().tolist())
    plug_in = mutual_information_bits(intents, failed)
    corrected = miller_madow_mutual_information(intents, failed)
    k = len(set(intents))
    cells = len(set(zip(intents, failed, strict=True)))
    explained = plug_in / outcome_bits if outcome_bits > 0 else None
    if n == 0:
        sentence = "No turns in the period: nothing to relate."
    elif outcome_bits == 0:
        sentence = (
            "Every turn had the same outcome, so knowing the intent tells nothing about "
            "whether a turn fails (0 bits)."
        )
    elif k == 1:
        sentence = (
            "All turns share one intent, so knowing it tells nothing about whether a turn "
            "fails (0 bits)."
        )
    else:
        assert explained is not None
        how = (
            "failures concentrate in a few intents"
            if explained >= CONCENTRATED
            else "some intents fail clearly more often than others"
            if explained >= NOTICEABLE
            else "failures are spread across intents, so the intent alone says little "
            "about which turns fail"
        )
        sentence = (
            f"Knowing the predicted intent removes {explained:.0%} of the uncertainty about "
            f"whether a turn fails ({plug_in:.3f} of {outcome_bits:.3f} bits): {how}."
        )
    return {
        "turns": n,
        "intents": k,
        "cells": cells,
        "outcome_bits": _bits(outcome_bits),
        "bits": _bits(plug_in),
        "miller_madow_bits": _bits(corrected),
        "explained": _bits(explained) if explained is not None else None,
        "sentence": sentence,
        "note": _bias_note(n, cells, plug_in, corrected),
    }


def _bias_note(n: int, cells: int, plug_in: float, corrected: float) -> str:
    if n == 0 or plug_in <= 0:
        return "No estimate to correct."
    chance = "; much of the plug-in value may be chance" if corrected < plug_in / 2 else ""
    return (
        f"{n} turns over {cells} intent-outcome cells: with the Miller-Madow correction "
        f"for so small a sample it is {corrected:.3f} bits{chance}."
    )


# -- stored signals and people's verdicts ---------------------------------------------


def signals(outcomes: pd.DataFrame) -> dict[str, Any]:
    """On the labelled turns (newest label), I(signal; verdict) for each stored signal."""
    labelled = outcomes[outcomes["labelled_gap"] | outcomes["labelled_no_gap"]]
    verdicts = labelled["labelled_gap"].astype(bool)
    gaps = int(verdicts.sum())
    rows = [
        _signal_row(name, how, values, verdicts)
        for name, how, values in _stored_signals(labelled)
        if values.notna().any()
    ]
    rows.sort(key=lambda r: (-r["bits"], r["signal"]))
    informative = [r for r in rows if r["explained"]]
    if labelled.empty:
        sentence = "Nobody labelled a turn of the period: there are no verdicts to explain."
    elif gaps in (0, len(labelled)):
        sentence = (
            f"All {len(labelled)} labelled turns got the same verdict: no signal can tell "
            "anything about it (0 bits)."
        )
    elif not informative:
        sentence = "None of the stored signals tells anything about people's verdicts here."
    else:
        best = informative[0]
        sentence = (
            f"Of the stored signals, {best['signal']} tells the most about a person's "
            f"verdict: {best['explained']:.0%} of its uncertainty on {best['turns']} "
            "labelled turns."
        )
    return {
        "labelled_turns": len(labelled),
        "gap_verdicts": gaps,
        "rows": rows,
        "sentence": sentence,
        "limitation": LIMITATION,
    }


def _stored_signals(labelled: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    """(name, how it is measured, value per labelled turn, NaN where unknown)."""
    probability = pd.to_numeric(labelled["gap_probability"], errors="coerce")
    rankings = labelled["intent_ranking"].map(_ranking)
    known = rankings.map(bool)

    def from_ranking(position: int) -> pd.Series:
        values = rankings.map(lambda r: ranking_features(r)[position] if r else np.nan)
        return values.where(known).astype(float)

    scored = probability.notna()
    codes = labelled["gap_reasons"].map(reason_codes)
    found = sorted({code for row in codes[scored] for code in row})
    reasons = [
        (f"reason '{code}'", "given or not", _given(codes, code).where(scored)) for code in found
    ]
    return [
        ("the gap probability", "equal-frequency bins", probability),
        ("the NLU top confidence", "from the stored ranking, binned", from_ranking(0)),
        ("the margin over the runner-up", "from the stored ranking, binned", from_ranking(1)),
        ("the NLU ranking entropy", "from the stored ranking, binned", from_ranking(2)),
        *_model_features(labelled["gap_features"]),
        *reasons,
    ]


def _model_features(stored: pd.Series) -> list[tuple[str, str, pd.Series]]:
    """One series per gap-model feature stored with the labelled turns (NaN where a turn
    was scored before features were kept, or by a model without that feature)."""
    rows = stored.map(lambda value: value if isinstance(value, dict) else {})
    names = sorted({name for row in rows for name in row})
    return [
        (
            f"feature '{name}'",
            "the gap model's input, binned",
            rows.map(lambda row, name=name: row.get(name, np.nan)).astype(float),
        )
        for name in names
    ]


def _signal_row(name: str, how: str, values: pd.Series, verdicts: pd.Series) -> dict[str, Any]:
    known = values.notna()
    x, y = values[known], verdicts[known].tolist()
    n = len(y)
    binary = x.map(lambda v: isinstance(v, bool | np.bool_)).all()
    bins = 2 if binary else bin_count(n)
    cut: list[Hashable] = [bool(v) for v in x] if binary else list(equal_frequency_bins(x, bins))
    outcome_bits = entropy_bits([sum(y), n - sum(y)])
    plug_in = mutual_information_bits(cut, y)
    explained = plug_in / outcome_bits if outcome_bits > 0 else None
    distinct = len(set(cut))
    if outcome_bits == 0:
        sentence = f"Its {n} labelled turns all got the same verdict: nothing to explain."
    elif distinct == 1:
        sentence = f"It had one value on all {n} labelled turns: it tells nothing here."
    else:
        assert explained is not None
        sentence = (
            f"{_capital(name)} tells {explained:.0%} of what is uncertain in a person's verdict "
            f"({plug_in:.3f} of {outcome_bits:.3f} bits on {n} labelled turns)."
        )
    return {
        "signal": name,
        "measured": how,
        "turns": n,
        "bins": distinct,
        "outcome_bits": _bits(outcome_bits),
        "bits": _bits(plug_in),
        "miller_madow_bits": _bits(miller_madow_mutual_information(cut, y)),
        "explained": _bits(explained) if explained is not None else None,
        "sentence": sentence,
    }


def _ranking(value: object) -> list[tuple[str, float]]:
    if not isinstance(value, list):
        return []
    return [(str(item[0]), float(item[1])) for item in value if _pair(item)]


def _pair(item: object) -> bool:
    return isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[1], int | float)


def reason_codes(value: object) -> set[str]:
    """The reason codes of a stored gap score's reasons (``[{"code", "text", "weight"}]``)."""
    if not isinstance(value, list):
        return set()
    return {str(r["code"]) for r in value if isinstance(r, dict) and "code" in r}


def _given(codes: pd.Series, code: str) -> pd.Series:
    return pd.Series([code in given for given in codes], index=codes.index, dtype=object)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bits(value: float) -> float:
    return round(float(value), 4)
