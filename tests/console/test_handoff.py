"""What resolving a case pushes: the domain's words, after the bot is awake again."""

from __future__ import annotations

from typing import Any

import pytest

from console.handoff import RESUME_EVENTS, Handoff
from gapdesk.ratings import parse_payload
from gapmodel.errors import ConfigurationError
from tests.console.conftest import RecordingRasa


def _resolved(responses: Any = None, channel: str | None = None) -> list[dict[str, Any]]:
    rasa = RecordingRasa()
    handoff = Handoff(rasa) if responses is None else Handoff(rasa, lambda: responses)
    handoff.resolve("c1", channel)
    return rasa.events["c1"]


def test_resolving_resumes_then_thanks_then_asks_for_one_to_five() -> None:
    events = _resolved()
    assert events[:3] == RESUME_EVENTS
    thanks, question = events[3:]
    assert thanks == {
        "event": "bot",
        "text": "Thanks for your patience. I'm closing this conversation; write any time.",
        "metadata": {"utter_action": "utter_resolved"},
    }
    assert question["text"] == "How would you rate this conversation? (1 = poor, 5 = excellent)"
    assert question["metadata"] == {"utter_action": "utter_rate_conversation"}
    ratings = [parse_payload(b["payload"]) for b in question["data"]["buttons"]]
    assert [b["title"] for b in question["data"]["buttons"]] == ["1", "2", "3", "4", "5"]
    assert [(r.kind, r.rating) for r in ratings if r] == [("conversation", s) for s in "12345"]


WORDS = {
    "utter_resolved": [
        {"text": "Bye {{for now}}."},
        {"channel": "slack", "text": "Bye, Slack."},
    ],
    "utter_rate_conversation": [
        {
            "text": "Rate us",
            "buttons": [{"title": s, "payload": f"{{score_{s}}}"} for s in "12345"],
        }
    ],
}


@pytest.mark.parametrize(
    ("channel", "said"),
    [("slack", "Bye, Slack."), ("socketio", "Bye {for now}."), (None, "Bye {for now}.")],
)
def test_the_channel_s_own_words_else_the_generic_ones(channel: str | None, said: str) -> None:
    assert _resolved(WORDS, channel)[3]["text"] == said


def test_a_domain_without_the_words_pushes_nothing() -> None:
    rasa = RecordingRasa()
    with pytest.raises(ConfigurationError, match="utter_resolved"):
        Handoff(
            rasa, lambda: {"utter_rate_conversation": WORDS["utter_rate_conversation"]}
        ).resolve("c1")
    assert rasa.events == {}
