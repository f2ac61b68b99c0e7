"""bot/channels.py's own pieces, in Rasa's environment: the message-size limit Rasa starts
with, aiogram's reading of an update (Rasa's channel answered 500 to a message whose
date is not a number), and Twilio's signature over empty fields.

The channels themselves are checked end to end in tests/e2e/test_fuzz.py and
tests/e2e/test_messaging_channels.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_CHECKS = """
import json, sys
from types import SimpleNamespace
from urllib.parse import urlencode
from twilio.request_validator import RequestValidator
from bot.channels import _aiogram_refusal, _form_with_blank_fields, max_message_chars

found = {"limit": max_message_chars({"GAPDESK_MAX_MESSAGE_CHARS": "2000"}), "refused": []}
for raw in ["", "0", "-5", "x", "2.5"]:
    try:
        max_message_chars({"GAPDESK_MAX_MESSAGE_CHARS": raw})
    except ValueError as error:
        found["refused"].append(str(error))
update = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 4}, "text": "hi"}}
found["update"] = _aiogram_refusal(update)
found["bad_update"] = _aiogram_refusal({**update, "message": {**update["message"], "date": "x"}})

url, token = "https://bot.example.com/webhooks/twilio/webhook", "0123456789abcdef"
fields = {"From": "+15551234567", "Body": "", "FromCity": ""}
signature = RequestValidator(token).compute_signature(url, fields)
request = SimpleNamespace(
    headers={"content-type": "application/x-www-form-urlencoded"},
    body=urlencode(fields).encode(),
)
form = _form_with_blank_fields(request)
found["form"] = dict(form)
found["signed"] = RequestValidator(token).validate(url, form, signature)
request.body = b"Body=\\xff"
found["not_utf8"] = _form_with_blank_fields(request)
print(json.dumps(found))
"""


@pytest.mark.rasa_env
def test_the_limit_the_update_and_the_form_are_read_as_the_channels_need(
    rasa_python: Path,
) -> None:
    done = subprocess.run(
        [str(rasa_python), "-c", _CHECKS],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["limit"] == 2000
    assert len(found["refused"]) == 5
    assert all("GAPDESK_MAX_MESSAGE_CHARS must be a number" in e for e in found["refused"])
    assert found["update"] is None
    assert found["bad_update"].startswith("not a Telegram update: ")
    # Sanic's request.form drops empty fields, which Twilio signs: they are kept.
    assert found["form"] == {"From": ["+15551234567"], "Body": [""], "FromCity": [""]}
    assert found["signed"] is True
    assert found["not_utf8"] is None
