"""Rasa's logs print no card number, IBAN, email or phone number.

Rasa's logging is configured as ``rasa run`` configures it, in Rasa's environment as
gapdesk starts it (``gapdesk.engine.rasa.rasa_env``), then fed what Rasa logs when a
REST message fails (its text, with an exception quoting it).
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from gapdesk.engine.rasa import quiet_enough, rasa_env

ROOT = Path(__file__).resolve().parents[2]

CARD = "4556 7375 8689 9855"
EMAIL = "ada.lovelace@example.org"
PHONE = "+44 20 7946 0880"

_LOG = """
import json, logging, sys
import structlog
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog
from bot import log_redaction

text = sys.argv[1]
log_redaction.install()  # as bot/serve.py does, before Rasa configures its logging
configure_logging_and_warnings()
configure_structlog()
# What rasa/core/channels/rest.py logs when handling a message fails.
try:
    raise ValueError(f"could not handle {text!r}")
except ValueError:
    structlog.get_logger().exception("rest.message.received.failure", text=text)
logging.getLogger("rasa.core.processor").error("message %s", text)
logging.getLogger("rasa.core.processor").debug("parsed %s", text)
levels = {name: logging.getLogger(name).getEffectiveLevel()
          for name in ("rasa", "engineio.server", "socketio.server")}
print(json.dumps(levels), file=sys.stderr)
"""


@pytest.mark.rasa_env
def test_rasa_logs_what_a_customer_wrote_masked_even_when_asked_to_debug(
    rasa_python: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("LOG_LEVEL_LIBRARIES", "DEBUG")
    text = f"my card {CARD}, mail {EMAIL}, phone {PHONE}"
    done = subprocess.run(
        [str(rasa_python), "-c", _LOG, text],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert [value for value in (CARD, EMAIL, PHONE) if value in output] == []
    masked = "my card [CARD], mail [EMAIL], phone [PHONE]"
    assert f'"text": "{masked}"' in output  # structlog's field
    assert f"could not handle '{masked}'" in output  # the traceback
    assert f"message {masked}" in output  # a standard logger's message
    assert "parsed" not in output  # DEBUG is off
    levels = json.loads(done.stderr.strip().splitlines()[-1])
    assert levels == {
        "rasa": logging.INFO,
        "engineio.server": logging.WARNING,  # at INFO it prints every socket.io packet
        "socketio.server": logging.WARNING,
    }


@pytest.mark.parametrize(
    ("variable", "value", "used"),
    [
        ("LOG_LEVEL", None, "INFO"),
        ("LOG_LEVEL", "warning", "WARNING"),
        ("LOG_LEVEL", "DEBUG", "INFO"),
        ("LOG_LEVEL", "NOTSET", "INFO"),
        ("LOG_LEVEL", "chatty", "INFO"),
        ("LOG_LEVEL_LIBRARIES", None, "ERROR"),
        ("LOG_LEVEL_LIBRARIES", "INFO", "WARNING"),
        ("LOG_LEVEL_LIBRARIES", "CRITICAL", "CRITICAL"),
    ],
)
def test_rasa_never_runs_louder_than_info(variable: str, value: str | None, used: str) -> None:
    assert quiet_enough(variable, value) == used
