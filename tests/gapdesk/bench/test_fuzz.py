"""gapdesk/bench/fuzz.py and hostile_texts.py, and the fuzz runner's judging: same seed,
same probes; every endpoint, every kind of hostile text and every field's wrong types
come up; a probe's outcome is judged by what it expected."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from gapdesk.bench.fuzz import (
    ANY,
    CHANNELS,
    ENDPOINTS,
    MALFORMED,
    MESSAGE,
    RAW,
    Probe,
    probes,
)
from gapdesk.bench.fuzz_run import Outcome, markdown, summarize
from gapdesk.bench.hostile_texts import TEXTS

LIMIT = 2000
MANY = 3000


@pytest.fixture(scope="module")
def many() -> list[Probe]:
    return list(probes(seed=7, count=MANY, limit=LIMIT))


def test_the_same_seed_gives_the_same_probes_and_another_seed_others() -> None:
    assert list(probes(3, 200, LIMIT)) == list(probes(3, 200, LIMIT))
    assert list(probes(3, 200, LIMIT)) != list(probes(4, 200, LIMIT))
    # A longer run starts with the shorter one's probes.
    assert list(probes(3, 300, LIMIT))[:200] == list(probes(3, 200, LIMIT))


def test_every_endpoint_gets_its_share(many: list[Probe]) -> None:
    sent = Counter(probe.endpoint for probe in many)
    assert set(sent) == set(ENDPOINTS) and set(sent.values()) == {MANY // len(ENDPOINTS)}
    only_rest = list(probes(1, 50, LIMIT, endpoints=("rest",)))
    assert {probe.endpoint for probe in only_rest} == {"rest"}


@pytest.mark.parametrize("channel", CHANNELS)
def test_each_channel_gets_messages_with_every_kind_of_hostile_text(
    many: list[Probe], channel: str
) -> None:
    texts = {
        p.category.split("/")[1]
        for p in many
        if p.endpoint == channel and p.expect == MESSAGE and "/" in p.category
    }
    assert set(TEXTS) - {"empty", "whitespace"} <= texts
    if channel != "slack":  # Slack reads an empty text as no message
        assert {"empty", "whitespace", "limit"} <= texts
    expectations = {p.expect for p in many if p.endpoint == channel}
    assert {MESSAGE, MALFORMED} <= expectations


def test_the_texts_are_hostile_in_the_ways_asked_for(many: list[Probe]) -> None:
    texts = [p.text for p in many if p.text is not None]
    assert any("\x00" in t for t in texts) and any("\x1b[" in t for t in texts)
    assert any(len(t) == 100_000 for t in texts)
    assert any(len(t) == LIMIT for t in texts) and any(len(t) == LIMIT + 1 for t in texts)
    assert any("\u202e" in t for t in texts)  # a right-to-left override
    assert any("<script>" in t for t in texts) and any("DROP TABLE" in t for t in texts)
    assert any("{{7*7}}" in t for t in texts) and any("${7*7}" in t for t in texts)
    assert any(t.startswith('/feedback{"value":') for t in texts)
    assert any(t.startswith("/no_such_intent") for t in texts)
    assert any("我" in t for t in texts) and any("لم" in t for t in texts)


def test_lone_surrogates_travel_as_json_escapes(many: list[Probe]) -> None:
    surrogates = [p for p in many if p.category == "text/lone surrogate"]
    assert {p.endpoint for p in surrogates} >= {"rest", "callback", "socketio", "telegram"}
    assert all(p.expect == MALFORMED for p in surrogates)
    encoded = json.dumps(surrogates[0].payload)
    assert "\\ud" in encoded.lower() and json.loads(encoded) == surrogates[0].payload


@pytest.mark.parametrize(
    ("channel", "fields"),
    [
        ("rest", ["sender", "message", "metadata", "input_channel"]),
        ("callback", ["sender", "message", "metadata", "input_channel"]),
        ("socketio", ["message", "customData"]),
        (
            "telegram",
            [
                "update_id",
                "message",
                "message.chat",
                "message.chat.id",
                "message.text",
                "message.date",
            ],
        ),
        ("slack", ["event", "event.text", "event.user", "event.channel", "authed_users"]),
    ],
)
def test_every_field_gets_values_of_other_types(
    many: list[Probe], channel: str, fields: list[str]
) -> None:
    kinds: dict[str, set[str]] = {}
    for probe in many:
        if probe.endpoint == channel and probe.category.startswith("field/"):
            field, _, kind = probe.category.removeprefix("field/").partition("=")
            kinds.setdefault(field, set()).add(kind)
    assert set(fields) <= set(kinds)
    assert all(len(kinds[field]) >= 2 for field in fields), kinds


def test_requests_are_broken_in_every_way_asked_for(many: list[Probe]) -> None:
    categories = Counter(p.category for p in many)
    for needed in ["body/not a JSON object", "body/content type", "field/sender missing",
                   "field/message missing", "field/From missing", "field/Body missing",
                   "interaction/malformed", "session/forged", "session/none"]:  # fmt: skip
        assert categories[needed], needed
    raw = {p.payload for p in many if p.encoding == RAW}
    assert b"not json" in raw and b"\xff\xfe\xfd" in raw
    kinds = {p.content_type for p in many if p.content_type}
    assert {"text/plain", "multipart/form-data; boundary=x", "application/xml"} <= kinds


def test_console_forms_get_hostile_fields_and_paths(many: list[Probe]) -> None:
    console = [p for p in many if p.endpoint.startswith("console_")]
    assert all(p.expect == ANY for p in console)
    assert any(p.target == "99999999999999999999" for p in console)
    fields = {name for p in console for name, _ in p.payload}
    assert {"username", "password", "next", "text", "ideal_answer", "message"} <= fields


def _outcome(expect: str, endpoint: str = "rest", **fields: object) -> Outcome:
    probe = Probe(endpoint, expect, "test", {})
    values = {"status": 200, "explained": False, "replied": False, "seconds": 0.1, **fields}
    return Outcome(probe, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcome", "failure"),
    [
        (_outcome(MESSAGE, replied=True), None),
        (_outcome(MESSAGE), "silent drop"),  # REST: 200 and no reply
        (_outcome(MESSAGE, "telegram", tracked=True), None),
        (_outcome(MESSAGE, "telegram", tracked=False), "silent drop"),
        (_outcome(MESSAGE, "socketio", status=None), "silent drop"),
        (_outcome(MESSAGE, status=400, explained=True), "refused a message"),
        (_outcome(MALFORMED, status=400, explained=True), None),
        (_outcome(MALFORMED, status=400), "refusal without a reason"),
        (_outcome(MALFORMED), "malformed accepted"),
        (_outcome(MALFORMED, "socketio", status=None, explained=True), None),
        (_outcome(MALFORMED, status=None), "no answer"),
        (_outcome(ANY, status=503), "server error"),
        (_outcome(ANY, status=303, unescaped=True), "unescaped"),
        (_outcome(ANY, status=429), None),
    ],
)
def test_an_outcome_is_judged_by_what_its_probe_expected(
    outcome: Outcome, failure: str | None
) -> None:
    assert outcome.failure == failure


def test_the_report_counts_each_failure_per_endpoint() -> None:
    outcomes = [
        _outcome(MESSAGE, replied=True),
        _outcome(MALFORMED, status=500),
        _outcome(MALFORMED, "slack", status=400, explained=True),
    ]
    report = summarize(outcomes, crashed=["console"], seconds=1.23)
    assert report["failures"] == 1 and report["crashed"] == ["console"]
    assert report["endpoints"]["rest"]["server error"] == 1
    assert report["endpoints"]["rest"]["statuses"] == {"200": 1, "500": 1}
    assert report["endpoints"]["slack"]["server error"] == 0
    report.update(seed=0, count=3, limit=LIMIT)
    text = markdown(report)
    assert "| rest | 2 |" in text and "Crashed services: console" in text
