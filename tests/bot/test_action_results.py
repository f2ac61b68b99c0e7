"""bot/action_results.py: Rasa still refuses an invalid action response, and accepts a valid one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_CHECK = """
import jsonschema
from rasa.core.actions.action import RemoteAction
from bot import action_results

action = RemoteAction("action_x", None)
valid = {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": [{"text": "hi"}]}
invalid = [{"events": "not a list"}, {"responses": [1]}, {"events": [{"event": 3}]}]
before = [action._validate_action_result(valid)]
for result in invalid:
    try:
        action._validate_action_result(result)
        before.append("accepted")
    except jsonschema.ValidationError:
        before.append("refused")
action_results.install()
checks = []
check_schema = jsonschema.Draft202012Validator.check_schema
def counted(*args, **kwargs):
    checks.append(1)
    return check_schema(*args, **kwargs)
jsonschema.Draft202012Validator.check_schema = counted
after = [action._validate_action_result(valid)]
for result in invalid:
    try:
        action._validate_action_result(result)
        after.append("accepted")
    except jsonschema.ValidationError as error:
        assert "Failed to validate Action server response" in error.message
        after.append("refused")
for _ in range(5):
    action._validate_action_result(valid)
print(before == after, before, len(checks))
"""


@pytest.mark.rasa_env
def test_the_kept_validator_judges_as_rasas_own_and_checks_the_schema_at_most_once(
    rasa_python: Path,
) -> None:
    completed = subprocess.run(
        [str(rasa_python), "-c", _CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    line = completed.stdout.strip().splitlines()[-1]
    assert line.startswith("True [True, 'refused', 'refused', 'refused']"), line
    assert int(line.rsplit(" ", 1)[1]) <= 1, line
