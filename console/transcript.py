"""The transcript an agent reads: Rasa's events, annotated with gapdesk's verdicts.

Rasa's tracker is the complete record of what was said (messages sent while the bot
was paused, form answers, agent replies); gapdesk's turns add, per scored customer
message, the intent, the gap score with its reasons, the decision, feedback and labels.
The two are matched by Rasa's message id. When Rasa cannot be reached the transcript
is rebuilt from gapdesk's turns alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gapdesk.ratings import CONVERSATION, Rating, parse_payload

PAUSE_TEXT = "The bot stopped and handed over: waiting for a person."
RESUME_TEXT = "The bot is answering again."


def by_message(turns: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stored turns (``Store.conversation``) by Rasa's id of the customer message they
    answer; agent turns, which answer none, by their own id."""
    return {turn["message_id"] or f"turn-{turn['id']}": turn for turn in turns}


def _time(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp or 0, UTC).isoformat() if timestamp else ""


def _customer_item(
    event: dict[str, Any], details: dict[str, dict[str, Any]], titles: dict[Rating, str]
) -> dict[str, Any]:
    text = event.get("text") or ""
    item: dict[str, Any] = {
        "kind": "customer",
        "time": _time(event.get("timestamp")),
        "text": text,
        "turn": details.get(str(event.get("message_id") or "")),
    }
    if text.startswith("/"):  # a button press, not typed text
        item["kind"] = "button"
        item["text"] = button_text(text, titles)
    return item


def offered_titles(event: dict[str, Any]) -> dict[Rating, str]:
    """The rating buttons of a bot event, by the rating they send: their titles, as the
    customer saw them (the words are the domain's, in the customer's language)."""
    titles: dict[Rating, str] = {}
    for button in (event.get("data") or {}).get("buttons") or []:
        rating = parse_payload(str(button.get("payload") or ""))
        if rating is not None:
            titles[rating] = str(button.get("title") or "")
    return titles


def button_text(payload: str, titles: dict[Rating, str] | None = None) -> str:
    """A button press in words: ratings as ratings, anything else by its intent.

    ``titles`` are the rating buttons offered so far (:func:`offered_titles`); a rating
    no button offered (typed by hand, and refused by the bot) is shown by its codes.
    """
    rating = parse_payload(payload)
    if rating is None:
        return f"chose {payload[1:].split('{', 1)[0]}"
    if rating.kind == CONVERSATION:
        return f"rated the conversation {rating.rating}/5"
    titles = titles or {}
    # A reason is the second click of a thumbs down: the thumb's own button came first.
    thumb = Rating(rating.kind, rating.rated, rating.rating)
    said = titles.get(thumb, rating.rating)
    if rating.reason:
        said += f": {titles.get(rating, rating.reason)}"
    return f"rated the answer {said}"


def from_tracker(
    tracker: dict[str, Any], details: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    titles: dict[Rating, str] = {}
    for event in tracker.get("events") or []:
        kind = event.get("event")
        if kind == "bot":
            titles.update(offered_titles(event))
        if kind == "user":
            items.append(_customer_item(event, details, titles))
        elif kind == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            metadata = event.get("metadata") or {}
            buttons = (event.get("data") or {}).get("buttons") or []
            items.append(
                {
                    "kind": "agent" if metadata.get("agent") else "bot",
                    "author": metadata.get("agent_name") or metadata.get("agent"),
                    "time": _time(event.get("timestamp")),
                    "text": event.get("text") or "",
                    "buttons": [str(b.get("title", "")) for b in buttons],
                }
            )
        elif kind == "pause":
            items.append(
                {"kind": "system", "time": _time(event.get("timestamp")), "text": PAUSE_TEXT}
            )
        elif kind == "resume":
            items.append(
                {"kind": "system", "time": _time(event.get("timestamp")), "text": RESUME_TEXT}
            )
    return items


def from_turns(details: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The transcript from gapdesk's own records (customer texts are redacted there)."""
    items: list[dict[str, Any]] = []
    turns = sorted(details.values(), key=lambda d: (d["created_at"], d["id"]))
    for turn in turns:
        if turn["kind"] == "agent":
            items.append(
                {"kind": "agent", "author": turn["author"], "time": turn["created_at"],
                 "text": turn["answer_text"] or "", "buttons": []}
            )  # fmt: skip
            continue
        if turn["customer_text"]:
            items.append(
                {"kind": "customer", "time": turn["created_at"], "text": turn["customer_text"],
                 "turn": turn}
            )  # fmt: skip
        if turn["answer_text"]:
            items.append(
                {"kind": "bot", "author": None, "time": turn["created_at"],
                 "text": turn["answer_text"], "buttons": []}
            )  # fmt: skip
    return items
