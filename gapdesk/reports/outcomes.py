"""What became of each bot turn of the period: the per-turn facts every view counts.

One row per customer message the bot handled (``turns.kind == "bot"``), with:

* ``answered`` / ``clarified`` / ``escalated``: the bot's decision;
* ``asked_for_human``: the hand-over was the customer's request, not the bot's doubt;
* ``scoring``: ``"scored"`` (a gap score row exists, even a failed one), ``"off"``
  (the control group: decision reason ``scoring_off``) or ``"unscored"`` (neither, e.g.
  a straight request for a person);
* ``thumbs_up`` / ``thumbs_down``: the customer rated this answer so (any rating row);
* ``labelled_gap`` / ``labelled_no_gap``: the newest person's label of the turn says
  so (a turn labelled twice counts with its newest label, as in gapdesk.labels);
* ``vouched_for``: a thumbs-up or a newest label "no gap";
* ``rephrased_after``: see :func:`rephrased`; ``handed_over_after``: the bot's next
  turn in the conversation, within :data:`FOLLOW_UP_WINDOW`, handed over to a person;
* ``missed_gap`` and ``gap_turn``: see :func:`annotate_turns`.

Follow-ups are looked for among the period's turns only: a rephrase or a hand-over
after the period's end is not seen.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from gapdesk.reports.frames import Frames
from gapmodel.decision import ANSWER, CLARIFY, ESCALATE, DecisionReason, read_signals

# How soon the customer's next message must follow an answer to count as its follow-up.
FOLLOW_UP_WINDOW = timedelta(minutes=10)
BOT = "bot"


def annotate_turns(frames: Frames) -> pd.DataFrame:
    """The period's bot turns with the per-turn facts of this module's docstring.

    ``missed_gap`` (answered turns only), the union of four signals: a thumbs-down, a
    newest label "gap", a rephrase, or a hand-over that followed. The two inferred
    ones (rephrase, hand-over) do not count against an answer the customer gave a
    thumbs-up or a person labelled "no gap": direct word beats inference.

    ``gap_turn`` (every bot turn, for the by-intent view): a person labelled it "gap";
    or nobody labelled it "no gap" and the bot clarified, handed over, or answered
    with a missed gap.
    """
    turns = frames.turns
    bot = turns[turns["kind"] == BOT].copy()
    bot["gap_probability"] = pd.to_numeric(bot["gap_probability"], errors="coerce")
    reasons = bot["decision_reasons"].map(_reasons)
    bot["answered"] = bot["decision"] == ANSWER
    bot["clarified"] = bot["decision"] == CLARIFY
    bot["escalated"] = bot["decision"] == ESCALATE
    bot["asked_for_human"] = reasons.map(lambda r: DecisionReason.ASKED_FOR_HUMAN in r)
    bot["scoring"] = [
        "off" if DecisionReason.SCORING_OFF in r else "scored" if pd.notna(v) else "unscored"
        for r, v in zip(reasons, bot["model_version"], strict=True)
    ]
    bot = _with_thumbs(bot, frames.feedback)
    newest = _newest_labels(frames.labels).reindex(bot["id"]).to_numpy()
    bot["labelled_gap"] = [verdict is True for verdict in newest]
    bot["labelled_no_gap"] = [verdict is False for verdict in newest]
    bot = _with_follow_ups(bot)
    bot["vouched_for"] = bot["thumbs_up"] | bot["labelled_no_gap"]
    inferred = bot["rephrased_after"] | bot["handed_over_after"]
    direct = bot["thumbs_down"] | bot["labelled_gap"]
    bot["missed_gap"] = bot["answered"] & (direct | (inferred & ~bot["vouched_for"]))
    failed = bot["clarified"] | bot["escalated"] | bot["missed_gap"]
    bot["gap_turn"] = bot["labelled_gap"] | (~bot["labelled_no_gap"] & failed)
    return bot.reset_index(drop=True)


def rephrased(answered_text: object, next_text: object) -> bool:
    """Whether the customer's next message asks the answered question again.

    The bot's own rule for a rephrase (gapmodel.decision.read_signals): at least two
    shared words of four letters or more, and half or more of the two messages'
    content words in common.
    """
    if not isinstance(answered_text, str) or not isinstance(next_text, str):
        return False
    return read_signals(next_text, [answered_text], 0).rephrased


def _reasons(value: object) -> list[str]:
    return [str(r) for r in value] if isinstance(value, list) else []


def _with_thumbs(bot: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    answers = feedback[(feedback["kind"] == "answer") & feedback["turn_id"].notna()]
    turn_ids = answers["turn_id"].astype("int64")
    up = set(turn_ids[answers["rating"] == "up"])
    down = set(turn_ids[answers["rating"] == "down"])
    bot["thumbs_up"] = bot["id"].isin(up)
    bot["thumbs_down"] = bot["id"].isin(down)
    return bot


def _newest_labels(labels: pd.DataFrame) -> pd.Series:
    """Each labelled turn's newest verdict (labels arrive sorted oldest first)."""
    newest = labels.drop_duplicates("turn_id", keep="last")
    return pd.Series(
        [bool(v) for v in newest["is_gap"]], index=newest["turn_id"].astype("int64"), dtype=object
    )


def _with_follow_ups(bot: pd.DataFrame) -> pd.DataFrame:
    """Add ``rephrased_after`` and ``handed_over_after`` from each turn's next bot turn."""
    bot = bot.sort_values(["conversation_id", "created_at", "id"], kind="stable")
    following = bot.groupby("conversation_id", sort=False)
    next_at = following["created_at"].shift(-1)
    soon = (next_at - bot["created_at"]) <= FOLLOW_UP_WINDOW
    next_text = following["customer_text"].shift(-1)
    next_decision = following["decision"].shift(-1)
    followed = bot["answered"] & soon
    # Texts are compared only where a rephrase can count; where retention removed them,
    # the verdict it kept (turns.rephrased_next) stands in.
    compared = {
        row: bool(bot.at[row, "rephrased_next"])
        if pd.notna(bot.at[row, "rephrased_next"])
        else rephrased(bot.at[row, "customer_text"], next_text[row])
        for row in bot.index[followed]
    }
    repeated = pd.Series(compared, dtype=bool).reindex(bot.index, fill_value=False)
    bot["rephrased_after"] = repeated
    bot["handed_over_after"] = followed & (next_decision == ESCALATE)
    return bot.sort_values(["created_at", "id"], kind="stable")
