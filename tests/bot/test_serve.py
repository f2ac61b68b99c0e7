"""bot/serve.py hands Rasa the JWT secret as Rasa's own parser reads it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_PARSE = """
import sys
from rasa.__main__ import create_argument_parser
from bot.serve import rasa_argv

args = create_argument_parser().parse_args(rasa_argv(["run", "--enable-api"], sys.argv[1])[1:])
print(args.jwt_secret)
print(args.jwt_method)
"""


@pytest.mark.rasa_env
@pytest.mark.parametrize(
    "secret",
    [
        "plain-secret-of-forty-eight-characters-0123456789",
        "-a-generated-one-may-begin-with-a-dash-0123",
    ],
)
def test_rasa_reads_the_secret_even_when_it_begins_with_a_dash(
    secret: str, rasa_python: Path
) -> None:
    completed = subprocess.run(
        [str(rasa_python), "-c", _PARSE, secret],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.splitlines()[-2:] == [secret, "HS256"]
