from __future__ import annotations

import uuid

import pytest

from gapdesk.ratings import (
    ASK_REASON,
    RATE_ANSWER,
    RATE_CONVERSATION,
    REASON_CODES,
    Rating,
    answer_payloads,
    parse_payload,
    read_rating,
    reason_payloads,
    satisfaction_payloads,
)
from gapdesk.responses import load_responses, render

TURN = str(uuid.uuid4())


def _buttons(name: str, **values: str) -> list[tuple[str, Rating | None]]:
    """The domain's response ``name`` with these payloads: (title, rating) per button."""
    message = render(load_responses(), name, **values)
    return [(b["title"], parse_payload(b["payload"])) for b in message["buttons"]]


def test_every_button_carries_the_rating_it_shows() -> None:
    assert _buttons(RATE_ANSWER, answer="It takes 3 days.", **answer_payloads(TURN)) == [
        ("👍 Helpful", Rating("answer", TURN, "up")),
        ("👎 Not helpful", Rating("answer", TURN, "down")),
    ]
    assert _buttons(ASK_REASON, **reason_payloads(TURN)) == [
        ("It answered a different question", Rating("answer", TURN, "down", "wrong_topic")),
        ("It didn't tell me enough", Rating("answer", TURN, "down", "incomplete")),
        ("It was hard to follow", Rating("answer", TURN, "down", "unclear")),
        ("Something else", Rating("answer", TURN, "down", "other")),
    ]
    scores = _buttons(RATE_CONVERSATION, **satisfaction_payloads())
    assert [title for title, _ in scores] == ["1", "2", "3", "4", "5"]
    ratings = [rating for _, rating in scores]
    assert [r.rating for r in ratings if r] == ["1", "2", "3", "4", "5"]
    assert {r.kind for r in ratings if r} == {"conversation"}
    assert len({r.rated for r in ratings if r}) == 1


def test_every_reason_code_has_a_button() -> None:
    assert [r.reason for _, r in _buttons(ASK_REASON, **reason_payloads(TURN)) if r] == list(
        REASON_CODES
    )


def test_the_payload_has_the_shape_rasa_reads_as_intent_and_entities() -> None:
    assert answer_payloads(TURN)["down"] == (
        f'/feedback{{"feedback_uid":"{TURN}","feedback_rating":"down"}}'
    )


def test_each_satisfaction_question_gets_its_own_uid() -> None:
    assert satisfaction_payloads()["score_1"] != satisfaction_payloads()["score_1"]


def test_one_answer_keeps_one_stored_uid_whatever_is_clicked() -> None:
    assert Rating("answer", TURN, "up").uid == Rating("answer", TURN, "down", "unclear").uid
    assert Rating("answer", TURN, "up").turn_uid == TURN
    assert Rating("conversation", TURN, "4").turn_uid is None


def _entities(**values: object) -> dict[str, list[object]]:
    return {f"feedback_{k}": v if isinstance(v, list) else [v] for k, v in values.items()}


@pytest.mark.parametrize(
    "values",
    [
        {"uid": TURN, "rating": "meh"},
        {"uid": TURN, "rating": 1},
        {"uid": TURN, "rating": ["up", "down"]},
        {"uid": "not-a-uuid", "rating": "up"},
        {"uid": TURN.upper(), "rating": "up"},
        {"uid": [TURN, TURN], "rating": "up"},
        {"uid": {"a": 1}, "rating": "up"},
        {"rating": "up"},
        {"uid": TURN},
        {"uid": TURN, "rating": "up", "reason": "wrong_topic"},
        {"uid": TURN, "rating": "down", "reason": "<script>"},
        {"uid": TURN, "rating": "down", "reason": ["unclear", "other"]},
        {"uid": TURN, "rating": "down", "kind": "turn"},
        {"uid": TURN, "rating": "6", "kind": "conversation"},
        {"uid": TURN, "rating": "up", "kind": "conversation"},
        {"uid": TURN, "rating": "4", "kind": "conversation", "reason": "other"},
        {"uid": TURN, "rating": "4"},
    ],
)
def test_shapes_no_button_makes_are_refused(values: dict[str, object]) -> None:
    assert read_rating(_entities(**values)) is None


@pytest.mark.parametrize(
    "text", ["/feedback", "/feedback{", "/feedback[1]", '/greet{"feedback_uid":"x"}', "hello"]
)
def test_other_messages_are_no_payload(text: str) -> None:
    assert parse_payload(text) is None
