"""Rasa's own view of the project's data: ``rasa data validate``, and the bot's words.

Both run Rasa's code in its environment (.venv-rasa), as the engine does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gapdesk.responses import load_responses, render

pytestmark = pytest.mark.rasa_env  # Rasa's own code, in its environment; no server

ROOT = Path(__file__).resolve().parents[2]

VALIDATE = [
    *("-m", "rasa", "data", "validate", "--domain", "bot/domain"),
    *("--data", "data/nlu", "data/rules", "data/stories", "--config", "config.yml"),
    "--fail-on-warnings",
]
# What `rasa data validate` (3.6) warns about in this project by design. Even with
# --fail-on-warnings Rasa exits 0 on these kinds of warning (its checks for them never
# fail), so this test reads them: any other warning fails it.
EXPECTED_WARNINGS = [
    # Only rating buttons send it, as a payload Rasa reads without its NLU: no examples.
    r"The intent 'feedback' is listed in the domain file, but is not found in the NLU "
    r"training data\.",
    # Answers inside forms: slot mappings read them, no rule or story needs them.
    r"The intent '(affirm|deny|inform)' is not used in any story or rule\.",
    # Sent by custom actions, forms (utter_ask_*) and bot/policies.py, never by a rule;
    # tests/test_consistency.py checks that each one is used and defined.
    r"The utterance 'utter_\w+' is not used in any story or rule\.",
]


def _run_in_rasa(
    rasa_python: Path, args: list[str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    # Not gapdesk.engine.rasa_env(): it silences Python warnings, which this test reads.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
    return subprocess.run(
        [str(rasa_python), *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_rasa_validates_the_domain_and_training_data(rasa_python: Path) -> None:
    result = _run_in_rasa(rasa_python, VALIDATE)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    warnings = [w.strip() for w in re.findall(r"UserWarning: (.*)", output)]
    unexpected = [w for w in warnings if not any(re.fullmatch(p, w) for p in EXPECTED_WARNINGS)]
    assert not unexpected, "\n".join(unexpected)


# Rasa's response generator, fed each response's placeholders; prints what it says.
_RASA_SAYS = """
import json, sys
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain

nlg = TemplatedNaturalLanguageGenerator(Domain.load("bot/domain").responses)
said = {}
for key, (name, channel, values) in json.load(sys.stdin).items():
    message = nlg.generate_from_slots(name, {}, channel, **values)
    said[key] = {k: message[k] for k in ("text", "buttons") if message.get(k) is not None}
print("SAID" + json.dumps(said))
"""
_PLACEHOLDER = re.compile(r"\{([^\n{}]+?)\}")


def _placeholders(variation: dict[str, Any]) -> set[str]:
    found = set(_PLACEHOLDER.findall(variation.get("text") or ""))
    for button in variation.get("buttons") or []:
        found |= set(_PLACEHOLDER.findall(f"{button.get('title')} {button.get('payload')}"))
    return found


def test_gapdesk_says_each_response_as_rasa_does(rasa_python: Path) -> None:
    # The console pushes responses it renders itself, and actions record what they said.
    responses = load_responses(ROOT / "bot" / "domain")
    asked = {}
    for name, variations in responses.items():
        for channel in {None, *(v.get("channel") for v in variations)}:
            values = {p: f"«{p} value»" for v in variations for p in _placeholders(v)}
            asked[f"{name} {channel}"] = (name, channel, values)
    result = _run_in_rasa(rasa_python, ["-c", _RASA_SAYS], stdin=json.dumps(asked))
    assert result.returncode == 0, result.stderr[-5000:]
    [said] = [line[4:] for line in result.stdout.splitlines() if line.startswith("SAID")]
    rasa_says = json.loads(said)
    for key, (name, channel, values) in asked.items():
        assert render(responses, name, channel, **values) == rasa_says[key], key
