"""The gap model in live traffic: its reliability against people's labels, its
versions side by side, and scored traffic against the control group."""

from __future__ import annotations

from typing import Any

import pandas as pd

from gapdesk.reports.frames import Frames
from gapdesk.reports.views import containment, conversation_ratings, mean, share

GROUPS = ("scored", "off")  # gap-scored traffic, and the control group (scoring off)


def serving_version(outcomes: pd.DataFrame, frames: Frames) -> tuple[str | None, str]:
    """The gap model version served now, and where that was read: the registry's
    current version; without one, the version of the period's latest scored turn."""
    versions = frames.model_versions
    current = versions[versions["current"].fillna(False).astype(bool)]
    if len(current):
        return str(current["gap_version"].iloc[0]), "registry"
    scored = outcomes[outcomes["gap_probability"].notna()]
    if len(scored):
        return str(scored["model_version"].iloc[-1]), "latest scored turn"
    return None, "none"


def reliability(outcomes: pd.DataFrame, frames: Frames) -> dict[str, Any]:
    """The serving version's gap probabilities against people's labels.

    The turns it scored in the period that a person labelled (newest label: gap = 1,
    no gap = 0) are put in ten equal-width probability bins ([0, 0.1), ..., [0.9, 1]);
    each bin gives its number of turns, mean predicted probability and observed gap
    rate. ``ece``: the expected calibration error, sum over bins of (bin's share of the
    turns) * |observed - predicted|, as gapmodel.metrics computes it in training.
    Labels are given to what people see (hand-overs, reviews), not a random sample.
    """
    from gapmodel.metrics import calibration_bins, expected_calibration_error  # scikit-learn

    version, source = serving_version(outcomes, frames)
    labelled = outcomes[
        (outcomes["model_version"] == version)
        & outcomes["gap_probability"].notna()
        & (outcomes["labelled_gap"] | outcomes["labelled_no_gap"])
    ]
    observed = labelled["labelled_gap"].to_numpy(dtype=float)
    predicted = labelled["gap_probability"].to_numpy(dtype=float)
    bins = calibration_bins(observed, predicted) if len(labelled) else []
    return {
        "version": version,
        "registry_names": _registry_names(frames, version),
        "version_source": source,
        "labels": len(labelled),
        "ece": round(expected_calibration_error(observed, predicted), 4) if bins else None,
        "bins": [
            {
                "turns": round(weight * len(labelled)),
                "mean_predicted": round(mean_predicted, 4),
                "observed": round(rate, 4),
            }
            for weight, mean_predicted, rate in bins
        ],
    }


def model_versions(outcomes: pd.DataFrame, frames: Frames) -> list[dict[str, Any]]:
    """One row per gap model version that scored turns in the period (turns whose
    scorer failed have no probability and are left out), oldest first.

    Escalation rate, missed gaps and thumbs are of the turns it scored; a
    conversation's 1-5 rating counts for the version that scored the conversation's
    latest scored turn of the period.
    """
    scored = outcomes[(outcomes["scoring"] == "scored") & outcomes["gap_probability"].notna()]
    serving, _ = serving_version(outcomes, frames)
    ratings = conversation_ratings(frames.feedback)
    version_of_conversation = scored.groupby("conversation_id")["model_version"].last()
    rated_version = ratings["conversation_id"].map(version_of_conversation)
    rows = []
    for version, turns in scored.groupby("model_version"):
        scores = ratings.loc[rated_version == version, "score"]
        rows.append(
            {
                "version": str(version),
                "registry_names": _registry_names(frames, str(version)),
                "serving": version == serving,
                "first_turn": turns["created_at"].min().isoformat(),
                "last_turn": turns["created_at"].max().isoformat(),
                **_traffic_figures(turns),
                "ratings": len(scores),
                "satisfaction": mean(scores),
            }
        )
    return sorted(rows, key=lambda row: row["first_turn"])


def control_group(outcomes: pd.DataFrame, frames: Frames) -> dict[str, Any]:
    """Gap-scored conversations against the control group (GAPDESK_GAP_SCORING=off).

    A conversation is in the control group when any of its bot turns carries the
    decision reason ``scoring_off`` (the action server records it on every turn it
    does not score for that reason); it is scored traffic when any of its bot turns
    has a gap score; others (e.g. only a request for a person) are in neither.
    ``both_ran``: the period has conversations of both groups.
    """
    group_of = _conversation_groups(outcomes)
    ratings = conversation_ratings(frames.feedback)
    groups: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        members = set(group_of[group_of == group].index)
        turns = outcomes[outcomes["conversation_id"].isin(members)]
        scores = ratings.loc[ratings["conversation_id"].isin(members), "score"]
        groups[group] = {
            "conversations": len(members),
            **_traffic_figures(turns),
            "containment": containment(turns, frames)["rate"],
            "ratings": len(scores),
            "satisfaction": mean(scores),
        }
    both_ran = all(groups[group]["conversations"] for group in GROUPS)
    return {"recorded_as": "decision reason scoring_off", "both_ran": both_ran, **groups}


def _conversation_groups(outcomes: pd.DataFrame) -> pd.Series:
    """Each conversation's group: "off" before "scored" before none."""
    by_conversation = outcomes.groupby("conversation_id")["scoring"]
    off = by_conversation.apply(lambda s: (s == "off").any())
    scored = by_conversation.apply(lambda s: (s == "scored").any())
    groups = pd.Series("", index=off.index, dtype=object)
    groups[scored.astype(bool)] = "scored"
    groups[off.astype(bool)] = "off"
    return groups


def _traffic_figures(turns: pd.DataFrame) -> dict[str, Any]:
    answered = turns[turns["answered"]]
    hand_overs = int(turns["escalated"].sum())
    missed = int(answered["missed_gap"].sum())
    return {
        "bot_turns": len(turns),
        "hand_overs": hand_overs,
        "escalation_rate": share(hand_overs, len(turns)),
        "answered": len(answered),
        "missed_gaps": missed,
        "missed_rate": share(missed, len(answered)),
        "thumbs_down": int(answered["thumbs_down"].sum()),
    }


def _registry_names(frames: Frames, version: str | None) -> list[str]:
    """The registry's names (v1, v2, ...) of the versions built on this gap model."""
    versions = frames.model_versions
    return sorted(str(name) for name in versions.loc[versions["gap_version"] == version, "name"])
