"""Rasa's log records with card numbers, IBANs, emails and phone numbers masked.

At INFO, the level gapdesk runs Rasa at (``gapdesk/engine/rasa.py``), Rasa 3.6 prints
what a customer wrote only when handling it fails: the REST channel logs the message's
text with the error (``rest.message.received.failure``, ``...timeout``), and an
exception's message may quote it. Installed at Rasa's start (``bot/serve.py``), this
masks every record the process makes, whichever library makes it, with the patterns
gapdesk's database and Rasa's tracker store use (``gapmodel/redaction.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from gapmodel.redaction import redact

_TRACEBACKS = logging.Formatter()


def install() -> None:
    """Mask the message and traceback of every log record this process makes from now on."""
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: logging would print it raw
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info:
            # Handlers format a traceback only while exc_text is empty: fill it, masked.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(masked_record)
