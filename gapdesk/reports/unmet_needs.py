"""Unmet needs: the messages of the period the bot could not answer, grouped into topics.

A message (the customer's text of one bot turn) is unmet when at least one of these
holds; one message can be several cases and is counted once:

* **handed over as out of scope**: the bot handed over (not at the customer's
  request) and the gap model's reasons said the message is unlike anything the bot was
  trained on or resembles questions it cannot answer (reason codes
  :data:`OUT_OF_SCOPE_REASONS`), or the decision's reasons say the intent has no
  answer (``no_answer``);
* **labelled out of scope**: the turn's newest label names the intent
  ``out_of_scope`` (gapdesk.labels.OUT_OF_SCOPE), as retraining reads it;
* **clarified, then handed over**: the bot clarified, and the conversation's next bot
  turns were more clarifications and then a hand-over, each within
  gapdesk.reports.outcomes.FOLLOW_UP_WINDOW of the one before (a person was asked for,
  or the doubt repeated): the clarified message is the unmet one;
* **"it answered a different question"**: the customer's thumbs-down on the answer
  gave that reason (``wrong_topic``, gapdesk.ratings).

The messages are clustered with :func:`gapdesk.topics.find_topics` (texts are stored
redacted; they are redacted again here), so the number of topics comes from the data.
Per topic: its name (drawn from its words), volume, trend (messages in the first and
second half of the period), its cases, five typical messages, and the command that
writes it as a draft intent under ``data/nlu/drafts/`` (:func:`write_draft`, used by
``gapdesk needs draft``), which training skips until a person moves it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from gapdesk.labels import OUT_OF_SCOPE
from gapdesk.reports.frames import Frames, Period
from gapdesk.reports.information import reason_codes
from gapdesk.reports.outcomes import FOLLOW_UP_WINDOW
from gapdesk.signals import WRONG_TOPIC
from gapdesk.topics import (
    Topic,
    default_min_topic_size,
    draft_intent,
    find_topics,
    intent_name,
    lsa_axes,
    message_vectors,
)
from gapmodel.decision import DecisionReason
from gapmodel.errors import ConfigurationError
from gapmodel.redaction import redact

# The gap model's reason codes that say "this is not a question the bot knows"
# (gapmodel/reasons.py: "like_out_of_scope", "unlike_training").
OUT_OF_SCOPE_REASONS = frozenset({"like_out_of_scope", "unlike_training"})
CASES = {
    "out_of_scope_hand_over": "handed over as out of scope",
    "labelled_out_of_scope": "labelled out of scope",
    "clarified_then_handed_over": "clarified, then handed over",
    "different_question": '"it answered a different question"',
}
EXAMPLE_CHARACTERS = 120


@dataclass(frozen=True)
class NeedTopics:
    """The period's unmet messages (oldest first, with ``cases``) and their topics,
    whose ``members`` index the messages' rows."""

    period: Period
    channel: str | None
    messages: pd.DataFrame
    topics: list[Topic]
    vectors: str  # what made the message vectors: "MiniLM", "tf-idf/LSA" or "none"
    min_topic_size: int

    def texts(self) -> list[str]:
        """The messages' texts, redacted once more."""
        return [redact(text) or "" for text in self.messages["customer_text"]]


def unmet_messages(outcomes: pd.DataFrame, frames: Frames) -> pd.DataFrame:
    """The annotated bot turns whose message was unmet, oldest first, with a ``cases``
    column (the keys of :data:`CASES` that hold, in that order); turns without text
    are left out."""
    codes = outcomes["gap_reasons"].map(reason_codes)
    reasons = outcomes["decision_reasons"].map(lambda r: set(map(str, r or [])))
    no_answer = reasons.map(lambda r: DecisionReason.NO_ANSWER in r)
    out_of_scope = codes.map(lambda c: bool(c & OUT_OF_SCOPE_REASONS))
    checks = {
        "out_of_scope_hand_over": (
            outcomes["escalated"] & ~outcomes["asked_for_human"] & (out_of_scope | no_answer)
        ),
        "labelled_out_of_scope": outcomes["id"].isin(_labelled_out_of_scope(frames.labels)),
        "clarified_then_handed_over": _clarified_then_handed_over(outcomes),
        "different_question": outcomes["answered"]
        & outcomes["id"].isin(_different_question(frames.feedback)),
    }
    cases = pd.DataFrame({name: check.astype(bool) for name, check in checks.items()})
    texts = outcomes["customer_text"]
    has_text = texts.map(lambda t: isinstance(t, str) and bool(t.strip()))
    unmet = outcomes[cases.any(axis=1) & has_text].copy()
    unmet["cases"] = [[name for name in CASES if cases.at[row, name]] for row in unmet.index]
    ordered = unmet.sort_values(["created_at", "id"], kind="stable")
    return ordered.reset_index(drop=True)


def find_need_topics(outcomes: pd.DataFrame, frames: Frames) -> NeedTopics:
    """The period's unmet messages and their topics (largest first)."""
    messages = unmet_messages(outcomes, frames)
    n = len(messages)
    size = default_min_topic_size(n)
    found = NeedTopics(frames.period, frames.channel, messages, [], "none", size)
    if n < size:
        return found
    texts = found.texts()
    vectors, made_by = message_vectors(texts, lsa_axes(n, size))
    topics = find_topics(texts, min_topic_size=size, vectors=vectors)
    return NeedTopics(frames.period, frames.channel, messages, topics, made_by, size)


def unmet_needs(outcomes: pd.DataFrame, frames: Frames) -> dict[str, Any]:
    """The report's view of unmet needs (see the module's docstring)."""
    return describe(find_need_topics(outcomes, frames))


def describe(found: NeedTopics) -> dict[str, Any]:
    """``found`` as plain, JSON-ready values: totals, and one row per topic."""
    messages = found.messages
    period = found.period
    middle = period.since + (period.until - period.since) / 2
    early = (messages["created_at"] < middle).tolist()
    clustered = sum(topic.size for topic in found.topics)
    rows = []
    for number, topic in enumerate(found.topics, start=1):
        members = list(topic.members)
        first = sum(early[i] for i in members)
        second = topic.size - first
        cases = {name: sum(name in messages.at[i, "cases"] for i in members) for name in CASES}
        rows.append(
            {
                "number": number,
                "name": topic.name,
                "terms": list(topic.terms),
                "messages": topic.size,
                "first_half": first,
                "second_half": second,
                "trend": trend(first, second),
                "cases": cases,
                "examples": [_shortened(redact(text) or "") for text in topic.examples],
                "intent": intent_name(topic),
                "draft_command": draft_command(found, number),
            }
        )
    every_case = [name for cases in messages["cases"] for name in cases]
    return {
        "messages": len(messages),
        "cases": {name: every_case.count(name) for name in CASES},
        "case_names": CASES,
        "clustered": clustered,
        "unclustered": len(messages) - clustered,
        "min_topic_size": found.min_topic_size,
        "vectors": found.vectors,
        "halves": {"first": [period.since, middle], "second": [middle, period.until]},
        "topics": rows,
    }


def trend(first: int, second: int) -> str:
    """How a topic's volume moved from the first half of the period to the second."""
    if first == 0 and second > 0:
        return "new"
    if second > first:
        return "rising"
    if second < first:
        return "falling"
    return "steady"


def draft_command(found: NeedTopics, number: int) -> str:
    """The command that writes topic ``number`` of this period as a draft intent."""
    words = ["gapdesk", "needs", "draft", "--since", _iso(found.period.since)]
    words += ["--until", _iso(found.period.until), "--topic", str(number)]
    if found.channel:
        words += ["--channel", found.channel]
    return shlex.join(words)


def write_draft(found: NeedTopics, number: int, folder: Path, overwrite: bool = False) -> Path:
    """Write topic ``number`` (1 is the largest) as one draft intent of Rasa NLU YAML,
    ``folder/<intent name>.yml``, with all its messages (redacted once more)."""
    if not 1 <= number <= len(found.topics):
        raise ConfigurationError(
            f"there is no topic {number}: the period has {len(found.topics)} topics "
            "(`gapdesk needs list` numbers them)"
        )
    topic = found.topics[number - 1]
    path = Path(folder) / f"{intent_name(topic)}.yml"
    if path.exists() and not overwrite:
        raise ConfigurationError(f"{path} exists: review it, or pass --overwrite to replace it")
    return draft_intent(topic, found.texts(), path)


def _labelled_out_of_scope(labels: pd.DataFrame) -> set[int]:
    """Turns whose newest label names the intent "out of scope" (labels come oldest first)."""
    newest = labels.drop_duplicates("turn_id", keep="last")
    return set(newest.loc[newest["correct_intent"] == OUT_OF_SCOPE, "turn_id"].astype("int64"))


def _different_question(feedback: pd.DataFrame) -> set[int]:
    """Turns with a thumbs-down because "it answered a different question"."""
    rated = feedback[
        (feedback["kind"] == "answer")
        & (feedback["rating"] == "down")
        & (feedback["reason"] == WRONG_TOPIC)
        & feedback["turn_id"].notna()
    ]
    return set(rated["turn_id"].astype("int64"))


def _clarified_then_handed_over(outcomes: pd.DataFrame) -> pd.Series:
    """Clarified turns after which the conversation's next bot turns were further
    clarifications and then a hand-over, each within FOLLOW_UP_WINDOW of the last."""
    result = pd.Series(False, index=outcomes.index)
    ordered = outcomes.sort_values(["conversation_id", "created_at", "id"], kind="stable")
    for _, turns in ordered.groupby("conversation_id", sort=False):
        next_at: datetime | None = None
        next_leads = False  # the next turn is a hand-over, or a clarification that led to one
        for row in reversed(turns.index):
            at = turns.at[row, "created_at"]
            soon = next_at is not None and next_at - at <= FOLLOW_UP_WINDOW
            led = bool(turns.at[row, "clarified"]) and soon and next_leads
            result[row] = led
            next_leads = bool(turns.at[row, "escalated"]) or led
            next_at = at
    return result


def _iso(moment: datetime) -> str:
    return pd.Timestamp(moment).isoformat()


def _shortened(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXAMPLE_CHARACTERS else flat[: EXAMPLE_CHARACTERS - 1] + "…"
