"""The report's views of traffic: volume, containment, hand-overs, missed gaps,
satisfaction and waiting times.

Each view takes the period's frames (gapdesk.reports.frames) and/or the annotated bot
turns (gapdesk.reports.outcomes) and returns plain, JSON-ready values: ints, floats
rounded to four places, ``None`` where a share has nothing to divide by. Docstrings say
exactly what is counted; docs/reports.md repeats it for readers of the report.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gapdesk.reports.frames import Frames

RATINGS = ("1", "2", "3", "4", "5")


def volume(outcomes: pd.DataFrame) -> dict[str, Any]:
    """Customer messages the bot handled (bot turns) and conversations with at least
    one of them, in total, per UTC day (every day from the first to the last day with
    traffic, quiet days as zero) and per channel (most messages first)."""
    days = outcomes["created_at"].dt.strftime("%Y-%m-%d")
    per_day = (
        outcomes.assign(day=days)
        .groupby("day")
        .agg(messages=("id", "size"), conversations=("conversation_id", "nunique"))
    )
    if len(per_day):
        every_day = pd.date_range(per_day.index.min(), per_day.index.max(), freq="D")
        per_day = per_day.reindex(every_day.strftime("%Y-%m-%d"), fill_value=0)
    per_channel = (
        outcomes.groupby(outcomes["channel"].fillna("unknown"))
        .agg(messages=("id", "size"), conversations=("conversation_id", "nunique"))
        .sort_values(["messages", "conversations"], ascending=False, kind="stable")
    )
    return {
        "messages": len(outcomes),
        "conversations": int(outcomes["conversation_id"].nunique()),
        "per_day": [
            {"date": day, "messages": int(row.messages), "conversations": int(row.conversations)}
            for day, row in per_day.iterrows()
        ],
        "per_channel": [
            {
                "channel": str(name),
                "messages": int(r.messages),
                "conversations": int(r.conversations),
            }
            for name, r in per_channel.iterrows()
        ],
    }


def handed_over_conversations(outcomes: pd.DataFrame, frames: Frames) -> set[str]:
    """Conversations a person was brought into in the period: a bot turn that handed
    over, an escalation record, or an agent's reply."""
    turns = frames.turns
    return (
        set(outcomes.loc[outcomes["escalated"], "conversation_id"])
        | set(frames.escalations["conversation_id"])
        | set(turns.loc[turns["kind"] == "agent", "conversation_id"])
    )


def containment(outcomes: pd.DataFrame, frames: Frames) -> dict[str, Any]:
    """Conversations the bot handled alone and nobody complained about.

    Of the conversations with a bot turn in the period, the contained ones had no
    person brought in (:func:`handed_over_conversations`) and no thumbs-down on any
    answer. gapdesk records no "closed" event for a conversation the bot ends, so a
    conversation still going on at the period's end counts as it stands then.
    """
    conversations = set(outcomes["conversation_id"])
    handed_over = handed_over_conversations(outcomes, frames) & conversations
    thumbs_down = set(outcomes.loc[outcomes["thumbs_down"], "conversation_id"])
    contained = conversations - handed_over - thumbs_down
    return {
        "conversations": len(conversations),
        "contained": len(contained),
        "rate": share(len(contained), len(conversations)),
        "handed_over": len(handed_over),
        "thumbs_down_without_hand_over": len((thumbs_down & conversations) - handed_over),
    }


def escalation(outcomes: pd.DataFrame, frames: Frames) -> dict[str, Any]:
    """How often the bot handed over, and how often people agreed that it had to.

    ``rate``: bot turns that handed over / bot turns. ``precision``: of the hand-overs
    a person judged (a label on the handing-over turn, including the "was the
    hand-over needed?" answer given when resolving a case), the share judged a real
    gap (newest label); ``None`` when nobody judged one. Hand-overs the customer asked
    for are included and also counted apart. ``statuses``: the period's escalation
    records by where they stand now (open, resolved, handed_back).
    """
    handed = outcomes[outcomes["escalated"]]
    judged = handed[handed["labelled_gap"] | handed["labelled_no_gap"]]
    real = int(judged["labelled_gap"].sum())
    conversations = outcomes["conversation_id"].nunique()
    statuses = frames.escalations["status"].fillna("unknown").value_counts()
    return {
        "bot_turns": len(outcomes),
        "hand_overs": len(handed),
        "rate": share(len(handed), len(outcomes)),
        "asked_for_human": int(handed["asked_for_human"].sum()),
        "conversations": int(conversations),
        "conversations_handed_over": int(handed["conversation_id"].nunique()),
        "judged": len(judged),
        "real_gaps": real,
        "needless": len(judged) - real,
        "precision": share(real, len(judged)),
        "statuses": {str(name): int(count) for name, count in sorted(statuses.items())},
    }


def missed_gaps(outcomes: pd.DataFrame) -> dict[str, Any]:
    """Answers that missed, by the union of four signals (gapdesk.reports.outcomes):
    a thumbs-down, a newest label "gap", a rephrase or a hand-over within ten minutes
    (the last two not against an answer vouched for by a thumbs-up or a "no gap"
    label). ``signals`` counts each signal among the missed answers; one answer can
    have several, so they may add up to more than ``missed``."""
    answered = outcomes[outcomes["answered"]]
    missed = answered[answered["missed_gap"]]
    inferable = ~missed["vouched_for"]
    return {
        "answered": len(answered),
        "missed": len(missed),
        "rate": share(len(missed), len(answered)),
        "signals": {
            "thumbs_down": int(missed["thumbs_down"].sum()),
            "labelled_gap": int(missed["labelled_gap"].sum()),
            "rephrased": int((missed["rephrased_after"] & inferable).sum()),
            "handed_over": int((missed["handed_over_after"] & inferable).sum()),
        },
    }


def satisfaction(frames: Frames) -> dict[str, Any]:
    """Customers' 1-5 ratings of whole conversations given in the period: how many,
    their mean, how many of each, and per UTC day with a rating (count and mean)."""
    ratings = conversation_ratings(frames.feedback)
    per_day = ratings.groupby(ratings["created_at"].dt.strftime("%Y-%m-%d"))["score"]
    return {
        "ratings": len(ratings),
        "mean": mean(ratings["score"]),
        "distribution": {r: int((ratings["score"] == int(r)).sum()) for r in RATINGS},
        "per_day": [
            {"date": str(day), "ratings": len(scores), "mean": mean(scores)}
            for day, scores in per_day
        ],
    }


def waiting_times(frames: Frames) -> dict[str, Any]:
    """How long customers handed over in the period waited for a person.

    For each escalation record: ``wait`` runs to the first claim of its conversation
    in the console at or after it (the audit log's ``claim``), ``first response`` to the
    first agent reply at or after it. Medians and 90th percentiles are in minutes, of
    the escalations that got there; ``unanswered`` have no agent reply yet.
    """
    escalations = frames.escalations
    waits = _minutes_until_next(escalations, frames.claims)
    responses = _minutes_until_next(escalations, frames.agent_replies)
    return {
        "escalations": len(escalations),
        "claimed": int(waits.notna().sum()),
        "answered": int(responses.notna().sum()),
        "unanswered": int(responses.isna().sum()),
        "wait_minutes": _spread(waits),
        "first_response_minutes": _spread(responses),
    }


def conversation_ratings(feedback: pd.DataFrame) -> pd.DataFrame:
    """Ratings of whole conversations (1-5) as numbers (``score``), oldest first."""
    rated = feedback[(feedback["kind"] == "conversation") & feedback["rating"].isin(RATINGS)]
    rated = rated.assign(score=rated["rating"].astype("int64"))
    return rated.sort_values("created_at", kind="stable")


def _minutes_until_next(starts: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Minutes from each start to the first event of its conversation at or after it
    (NaN when there is none)."""
    minutes = []
    by_conversation = {key: group["created_at"] for key, group in events.groupby("conversation_id")}
    for conversation, started in zip(starts["conversation_id"], starts["created_at"], strict=True):
        later = by_conversation.get(conversation, pd.Series([], dtype="datetime64[ns, UTC]"))
        later = later[later >= started]
        minutes.append((later.min() - started).total_seconds() / 60 if len(later) else None)
    return pd.Series(minutes, dtype="float64")


def _spread(minutes: pd.Series) -> dict[str, float | None]:
    known = minutes.dropna()
    if known.empty:
        return {"median": None, "p90": None}
    return {"median": _round(known.median()), "p90": _round(known.quantile(0.9))}


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded, or ``None`` when there is no whole to share."""
    return _round(part / whole) if whole else None


def mean(values: pd.Series) -> float | None:
    known = pd.to_numeric(values, errors="coerce").dropna()
    return _round(known.mean()) if len(known) else None


def _round(value: float) -> float:
    return round(float(value), 4)
