"""Secrets gapdesk makes for itself when none is configured, kept (0600) under ``var/``.

Each is a setting; left empty, a random one is generated on first use and kept in a
file of the same name, so that every gapdesk process of this installation (console,
CLI, Rasa's start) shares it. The checks are what the other side needs.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from gapmodel.errors import ConfigurationError

MIN_SECRET_LENGTH = 32
LONG_ENOUGH = re.compile(rf".{{{MIN_SECRET_LENGTH},}}", re.DOTALL)
_LONG_ENOUGH_RULE = f"at least {MIN_SECRET_LENGTH} characters"
TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts


def jwt_secret(configured: str, var_dir: Path) -> str:
    """Signs tokens for Rasa's HTTP API. Rasa turns authentication off for an empty
    secret, so a short one is refused."""
    return _secret(configured, var_dir, "rasa_jwt_secret", LONG_ENOUGH, _LONG_ENOUGH_RULE)


def webhook_token(configured: str, var_dir: Path) -> str:
    """What callers of Rasa's REST and callback webhooks must send; also signs the
    widget's session ids."""
    return _secret(configured, var_dir, "webhook_token", LONG_ENOUGH, _LONG_ENOUGH_RULE)


def telegram_secret_token(configured: str, var_dir: Path) -> str:
    """What Telegram must send with every update."""
    rule = "1 to 256 letters, digits, _ or -"
    return _secret(configured, var_dir, "telegram_secret_token", TELEGRAM_SECRET, rule)


def _secret(configured: str, var_dir: Path, name: str, valid: re.Pattern[str], rule: str) -> str:
    secret = configured or _stored(var_dir / name)
    if not valid.fullmatch(secret):
        raise ConfigurationError(
            f"GAPDESK_{name.upper()} must be {rule}; set another, or delete var/{name} to "
            "generate one"
        )
    return secret


def _stored(path: Path) -> str:
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))  # letters, digits, _ and -
        os.replace(temporary, path)  # never an empty or half-written secret file
    return path.read_text(encoding="utf-8").strip()
