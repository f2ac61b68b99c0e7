"""Customer segments: the period's customers clustered on how they use the bot.

A customer is a conversation id as stored (Rasa's sender id): on messaging channels
(Telegram, Slack, SMS...) the same person keeps it across visits, so a customer can
have several *visits*, runs of messages with less than :data:`VISIT_GAP` between them.

Behaviour features, one row per customer with a bot turn in the period:

* volume: messages and visits (log scale);
* topic mix: the share of the customer's messages in each of the period's
  :data:`TOP_INTENTS` most frequent intents, and in all the others;
* channel: one-hot of the customer's channel;
* gaps: the share of gap turns (as "By intent" counts them) and of thumbs-down answers;
* satisfaction: the mean 1-5 rating of the customer's conversation when rated (the
  period's mean otherwise), and whether it was rated.

Features are standardised and each group (topic mix, channel) is scaled down by the
square root of its width, so that a group of many columns weighs about as much as one
feature. k-means (fixed ``random_state``) runs for every k from 2 to
min(:data:`MAX_SEGMENTS`, customers - 1); the k with the best silhouette wins. With
fewer than :data:`MIN_CUSTOMERS` customers, or a best silhouette under
:data:`MIN_SILHOUETTE` (no substantial structure, after Kaufman and Rousseeuw), there
is no segmentation and the view says why.

Each segment: size, containment (customers with no person brought in and no
thumbs-down), escalation rate (bot turns that handed over), satisfaction, its top
intents and channel, and a name worded from how it differs from everyone else.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from gapdesk.reports.frames import Frames
from gapdesk.reports.views import (
    conversation_ratings,
    handed_over_conversations,
    mean,
    share,
)

MIN_CUSTOMERS = 10
MAX_SEGMENTS = 8
MIN_SILHOUETTE = 0.25
TOP_INTENTS = 8
SEGMENT_INTENTS = 3  # top intents shown per segment
VISIT_GAP = timedelta(minutes=30)
RANDOM_STATE = 0
SILHOUETTE_SAMPLE = 2000  # customers; the silhouette is quadratic in their number
NO_INTENT = "(no intent)"
OTHER_INTENTS = "other intents"
CHANNEL_NAMES = {
    "socketio": "web widget",
    "rest": "REST API",
    "callback": "callback",
    "telegram": "Telegram",
    "slack": "Slack",
    "twilio": "SMS",
    "facebook": "Messenger",
    "unknown": "unknown-channel",
}


def segments(outcomes: pd.DataFrame, frames: Frames) -> dict[str, Any]:
    """The report's view of customer segments (see the module's docstring)."""
    ratings = conversation_ratings(frames.feedback)
    handed_over = handed_over_conversations(outcomes, frames)
    table = customer_table(outcomes, ratings, handed_over)
    return describe(table, choose_segments(behaviour_features(table)))


def customer_table(
    outcomes: pd.DataFrame, ratings: pd.DataFrame, handed_over: set[str]
) -> pd.DataFrame:
    """One row per customer (conversation id) of the annotated bot turns ``outcomes``.

    Columns: ``messages``, ``visits``, ``channel``, ``intents`` (a dict of counts),
    ``gap_turns``, ``thumbs_down``, ``hand_overs`` (bot turns that handed over),
    ``contained``, ``satisfaction`` (mean 1-5 rating, NaN if unrated), ``ratings``.
    """
    columns = ["messages", "visits", "channel", "intents", "gap_turns", "thumbs_down"]
    columns += ["hand_overs", "contained", "satisfaction", "ratings"]
    if outcomes.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="customer"))
    turns = outcomes.assign(intent=outcomes["intent"].fillna(NO_INTENT))
    turns = turns.sort_values(["conversation_id", "created_at"], kind="stable")
    gaps = turns.groupby("conversation_id")["created_at"].diff()
    turns = turns.assign(new_visit=gaps.isna() | (gaps > VISIT_GAP))
    scores = ratings.groupby("conversation_id")["score"]
    rows = {}
    for customer, own in turns.groupby("conversation_id", sort=True):
        thumbs_down = int(own["thumbs_down"].sum())
        rated = scores.get_group(customer) if customer in scores.groups else pd.Series([])
        rows[str(customer)] = {
            "messages": len(own),
            "visits": int(own["new_visit"].sum()),
            "channel": str(own["channel"].fillna("unknown").mode().iloc[0]),
            "intents": own["intent"].value_counts().to_dict(),
            "gap_turns": int(own["gap_turn"].sum()),
            "thumbs_down": thumbs_down,
            "hand_overs": int(own["escalated"].sum()),
            "contained": customer not in handed_over and not thumbs_down,
            "satisfaction": float(rated.mean()) if len(rated) else np.nan,
            "ratings": len(rated),
        }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    table.index.name = "customer"
    return table


def behaviour_features(table: pd.DataFrame) -> pd.DataFrame:
    """The customers' standardised behaviour features (see the module's docstring)."""
    if table.empty:
        return pd.DataFrame(index=table.index)
    messages = table["messages"].astype(float)
    counts = pd.DataFrame(list(table["intents"]), index=table.index).fillna(0.0)
    top = counts.sum().sort_values(ascending=False, kind="stable").index[:TOP_INTENTS]
    mix = counts[top].div(messages, axis=0).add_prefix("intent: ")
    mix[f"intent: {OTHER_INTENTS}"] = 1.0 - mix.sum(axis=1)
    channels = pd.get_dummies(table["channel"], prefix="channel", prefix_sep=": ", dtype=float)
    rated = table["satisfaction"].notna()
    overall = table["satisfaction"].mean() if rated.any() else 0.0
    single = pd.DataFrame(
        {
            "messages (log)": np.log1p(messages),
            "visits (log)": np.log1p(table["visits"].astype(float)),
            "gap turn rate": table["gap_turns"] / messages,
            "thumbs-down rate": table["thumbs_down"] / messages,
            "satisfaction": table["satisfaction"].astype(float).fillna(overall),
            "rated": rated.astype(float),
        },
        index=table.index,
    )
    groups = [_standardised(single), *(_standardised(g, group=True) for g in (mix, channels))]
    return pd.concat(groups, axis=1)


def _standardised(frame: pd.DataFrame, group: bool = False) -> pd.DataFrame:
    """Zero mean, unit variance per column (a constant column becomes 0); a ``group``
    also divided by the square root of its width."""
    spread = frame.std(ddof=0).replace(0.0, 1.0)
    scaled = (frame - frame.mean()) / spread
    return scaled / np.sqrt(frame.shape[1]) if group and frame.shape[1] else scaled


def choose_segments(features: pd.DataFrame) -> dict[str, Any]:
    """k-means for each k from 2 to min(MAX_SEGMENTS, n - 1), the best silhouette wins.

    Returns ``labels`` (a Series over the customers, or None), ``k``, ``silhouette``,
    ``tried`` (k and silhouette of each k tried) and ``reason`` when not segmented.
    """
    from sklearn.cluster import KMeans  # scikit-learn: only when used
    from sklearn.metrics import silhouette_score

    n = len(features)
    found: dict[str, Any] = {"labels": None, "k": None, "silhouette": None, "tried": []}
    if n < MIN_CUSTOMERS:
        found["reason"] = f"{n} customers in the period; segments need at least {MIN_CUSTOMERS}."
        return found
    points = features.to_numpy(dtype=float)
    distinct = len(np.unique(points.round(9), axis=0))
    best: tuple[float, int, np.ndarray] | None = None
    for k in range(2, min(MAX_SEGMENTS, n - 1, distinct) + 1):
        model = KMeans(n_clusters=k, n_init=10, random_state=RANDOM_STATE).fit(points)
        labels = model.labels_
        if len(set(labels)) < 2:
            continue
        score = float(
            silhouette_score(
                points,
                labels,
                sample_size=min(n, SILHOUETTE_SAMPLE),
                random_state=RANDOM_STATE,
            )
        )
        found["tried"].append({"k": k, "silhouette": round(score, 4)})
        if best is None or score > best[0] + 1e-9:
            best = (score, k, labels)
    if best is None:
        found["reason"] = f"the {n} customers all behaved alike; there is nothing to split."
        return found
    score, k, labels = best
    found["silhouette"] = round(score, 4)
    if score < MIN_SILHOUETTE:
        found["reason"] = (
            f"no substantial structure: the best split (k = {k}) has a silhouette of "
            f"{score:.2f}, under {MIN_SILHOUETTE}."
        )
        return found
    found["k"] = k
    found["labels"] = pd.Series(labels, index=features.index)
    return found


def describe(table: pd.DataFrame, found: dict[str, Any]) -> dict[str, Any]:
    """The view as plain values: how k was chosen and one row per segment, largest first."""
    view: dict[str, Any] = {
        "customers": len(table),
        "segmented": found["labels"] is not None,
        "reason": found.get("reason"),
        "min_customers": MIN_CUSTOMERS,
        "k": found["k"],
        "silhouette": found["silhouette"],
        "strength": strength(found["silhouette"]),
        "tried": found["tried"],
        "segments": [],
    }
    labels = found["labels"]
    if labels is None:
        return view
    everyone = _profile(table)
    rows = [
        _segment_row(table[labels == label], everyone, len(table)) for label in sorted(set(labels))
    ]
    rows.sort(key=lambda r: (-r["customers"], -r["messages"]))
    _unique_names(rows)
    for number, row in enumerate(rows, start=1):
        row["number"] = number
    view["segments"] = rows
    return view


def strength(silhouette: float | None) -> str | None:
    """Kaufman and Rousseeuw's reading of a silhouette."""
    if silhouette is None:
        return None
    if silhouette > 0.7:
        return "strong"
    if silhouette > 0.5:
        return "reasonable"
    if silhouette > MIN_SILHOUETTE:
        return "weak"
    return "none"


def _profile(table: pd.DataFrame) -> dict[str, Any]:
    messages = int(table["messages"].sum())
    channels = table.groupby("channel")["messages"].sum().sort_values(ascending=False)
    every: Counter[str] = Counter()
    for counts in table["intents"]:
        every.update(counts)
    intents = pd.Series(dict(every.most_common()), dtype="int64")
    return {
        "messages_per_customer": messages / len(table) if len(table) else 0.0,
        "escalation_rate": messages and table["hand_overs"].sum() / messages,
        "thumbs_down_rate": messages and table["thumbs_down"].sum() / messages,
        "gap_rate": messages and table["gap_turns"].sum() / messages,
        "channel": str(channels.index[0]) if len(channels) else None,
        "channel_share": float(channels.iloc[0] / messages) if messages else 0.0,
        "intents": intents,
        "satisfaction": table["satisfaction"].mean(),
        "rated_share": float(table["satisfaction"].notna().mean()) if len(table) else 0.0,
    }


def _segment_row(members: pd.DataFrame, everyone: dict[str, Any], total: int) -> dict[str, Any]:
    own = _profile(members)
    messages = int(members["messages"].sum())
    top = own["intents"].head(SEGMENT_INTENTS)
    ratings = int(members["ratings"].sum())
    return {
        "name": segment_name(own, everyone),
        "customers": len(members),
        "share": share(len(members), total),
        "messages": messages,
        "messages_per_customer": round(own["messages_per_customer"], 2),
        "visits_per_customer": round(float(members["visits"].mean()), 2),
        "containment": share(int(members["contained"].sum()), len(members)),
        "escalation_rate": share(int(members["hand_overs"].sum()), messages),
        "gap_rate": share(int(members["gap_turns"].sum()), messages),
        "thumbs_down_rate": share(int(members["thumbs_down"].sum()), messages),
        "satisfaction": mean(members["satisfaction"]),
        "ratings": ratings,
        "channel": own["channel"],
        "channel_share": round(own["channel_share"], 4),
        "top_intents": [
            {"intent": str(intent), "messages": int(count), "share": share(int(count), messages)}
            for intent, count in top.items()
        ],
    }


def segment_name(own: dict[str, Any], everyone: dict[str, Any]) -> str:
    """A short name from how the segment differs from all customers: volume, channel
    (when the customers used more than one), main topic, then up to two outcomes
    (hand-overs, thumbs-down, failures, satisfaction, rating, served well)."""
    per, usual = own["messages_per_customer"], everyone["messages_per_customer"]
    volume = "heavy " if per >= 1.5 * usual else "occasional " if per <= usual / 1.5 else ""
    channel = own["channel"]
    if everyone["channel_share"] >= 0.9:  # one channel for (nearly) everyone: say nothing
        who = "customers"
    elif channel and own["channel_share"] >= 0.6:
        who = f"{CHANNEL_NAMES.get(channel, channel)} users"
    else:
        who = "customers on several channels"
    words = f"{volume}{who}"
    intents = own["intents"]
    if len(intents) and intents.iloc[0] / max(intents.sum(), 1) >= 0.4:
        topic = str(intents.index[0])
        if topic != NO_INTENT:
            words += f" asking about {topic.replace('_', ' ')}"
    outcomes = _outcomes(own, everyone)[:2]
    return ", ".join([words, *outcomes]) if outcomes else words


def _outcomes(own: dict[str, Any], everyone: dict[str, Any]) -> list[str]:
    def above(key: str) -> bool:
        return bool(own[key] >= max(1.5 * everyone[key], everyone[key] + 0.1) and own[key] > 0)

    found = []
    if above("escalation_rate"):
        found.append("many hand-overs")
    if above("thumbs_down_rate"):
        found.append("often thumbs-down")
    if above("gap_rate") and not found:
        found.append("often not helped")
    mine, overall = own["satisfaction"], everyone["satisfaction"]
    if pd.notna(mine) and pd.notna(overall) and mine >= overall + 0.75:
        found.append("satisfied")
    elif pd.notna(mine) and pd.notna(overall) and mine <= overall - 0.75:
        found.append("dissatisfied")
    elif own["rated_share"] >= max(0.6, everyone["rated_share"] + 0.3):
        found.append("rate their conversations")
    if not found and own["gap_rate"] <= 0.5 * everyone["gap_rate"]:
        found.append("served well")
    elif own["gap_rate"] <= 0.5 * everyone["gap_rate"] and len(found) == 1:
        found.insert(0, "served well")
    return found


def _unique_names(rows: list[dict[str, Any]]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        seen[row["name"]] = seen.get(row["name"], 0) + 1
        if seen[row["name"]] > 1:
            row["name"] = f"{row['name']} ({seen[row['name']]})"
