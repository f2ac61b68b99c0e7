"""Hostile texts and JSON values for the fuzz probes (:mod:`gapdesk.bench.fuzz`).

Every text here is a well-formed customer message, however hostile: control characters
and NUL, 100 KB, empty and blank, bidi overrides, other scripts and emoji, markup, SQL,
template strings, slash commands with broken JSON and intents that do not exist. A
channel must take each and answer it. The JSON values are of every type, for the
fields that must have another.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

PLAIN = (
    "my card still hasn't arrived",
    "freeze my card",
    "how do I top up by bank transfer?",
    "what's the exchange rate for euros",
    "I want to talk to a person",
    "hello",
)
SCRIPTS = (
    "我的卡还没到，怎么办？",
    "لم تصل بطاقتي بعد",
    "הכרטיס שלי לא הגיע",
    "मेरा कार्ड अभी तक नहीं आया",
    "Моя карта ещё не пришла",
    "カードがまだ届きません",
    "🙂🙃👩‍👩‍👧‍👦🏳️‍🌈 card?",
    "Z̷̧̛a̸̢͝l̵̛͜g̷̨̛ǫ̶͘ card",
)
BIDI = ("\u202e", "\u202d", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u061c")
MARKUP = (
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "<b>bold</b> &amp; &lt;",
    "]]><!--",
)
SQL = ("'; DROP TABLE turns; --", "1' OR '1'='1", '" OR 1=1 --', "Robert'); DELETE FROM users;--")
TEMPLATES = (
    "{{7*7}}",
    "${7*7}",
    "%s%s%s%n",
    "{0}{1}",
    "{answer}",
    "{max_message_chars}",
    "#{7*7}",
    "<%= 7*7 %>",
    "{% for x in range(9) %}x{% endfor %}",
)
SLASH = (
    '/feedback{"value":',
    '/feedback{"feedback_uid": {"$ne": null}}',
    '/feedback{"feedback_rating": [1, 2]}',
    "/request_human{",
    '/inform{"card_last_four": [1, 2, 3]}',
    '/inform{"card_last_four": {"a": "b"}}',
    '/affirm{"nope": 1}',
    "/greet@abc",
    "/greet@9.9.9",
    "/no_such_intent_anywhere",
    "/no_such_intent{}",
    "/",
    "//",
    "/ ",
    "/feedback}{",
)
CONTROL = "".join(chr(code) for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)])


def _control(rng: random.Random) -> str:
    picked = "".join(rng.choice(CONTROL) for _ in range(rng.randint(1, 12)))
    return rng.choice(["card", "\x1b[31mred\x1b[0m card", "line\r\nbreak", ""]) + picked


def _huge(rng: random.Random) -> str:
    unit = rng.choice(["x", "my card ", "卡", "🙂", "é\u0301", "<b>"])
    return (unit * (100_000 // len(unit) + 1))[:100_000]


def _mixed(rng: random.Random) -> str:
    pools = [PLAIN, SCRIPTS, MARKUP, SQL, TEMPLATES]
    return " ".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(2, 5)))


# A category of hostile text and how to make one. Every text here is a well-formed
# message: each channel must take it and answer it.
TEXTS: dict[str, Callable[[random.Random], str]] = {
    "plain": lambda rng: rng.choice(PLAIN),
    "control": _control,
    "nul": lambda rng: rng.choice(PLAIN).replace(" ", "\x00"),
    "huge": _huge,
    "empty": lambda rng: "",
    "whitespace": lambda rng: "".join(rng.choice(" \t\n\r\u00a0\u2003\u3000") for _ in range(9)),
    "bidi": lambda rng: rng.choice(BIDI) + rng.choice(PLAIN) + rng.choice(BIDI) + "gpj.exe",
    "scripts": lambda rng: rng.choice(SCRIPTS),
    "html": lambda rng: rng.choice(MARKUP) + " " + rng.choice(PLAIN),
    "sql": lambda rng: rng.choice(SQL),
    "template": lambda rng: rng.choice(TEMPLATES) + " " + rng.choice(PLAIN),
    "slash": lambda rng: rng.choice(SLASH),
    "mixed": _mixed,
}


def hostile_text(rng: random.Random, limit: int) -> tuple[str, str]:
    """A category and a text of it; "limit" texts are one character over the message-size
    limit or exactly at it."""
    if rng.random() < 0.06:
        return "limit", "y" * (limit + rng.choice([0, 1]))
    category = rng.choice(list(TEXTS))
    return category, TEXTS[category](rng)


# -- JSON values of every type ------------------------------------------------------------------

_NESTED: Any = "deep"
for _ in range(200):
    _NESTED = [_NESTED]

VALUES: dict[str, tuple[Any, ...]] = {
    "null": (None,),
    "true or false": (True, False),
    "a number": (0, -1, 3.5, 1e308, 12345678901234567890123, -(2**63)),
    "a string": ("", "x", "12", "null", "<script>alert(1)</script>"),
    "an array": ([], ["x"], [1, [2, [3]]], _NESTED),
    "an object": ({}, {"$gt": ""}, {"a": {"b": [None]}}),
}


def wrong_value(rng: random.Random, *allowed: str) -> tuple[str, Any]:
    """A value whose JSON type is none of ``allowed``, with its type's name."""
    kind = rng.choice([name for name in VALUES if name not in allowed])
    return kind, rng.choice(VALUES[kind])
