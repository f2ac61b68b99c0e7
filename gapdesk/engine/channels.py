"""The channels Rasa serves: the credentials file it is started with.

``bot/credentials.yml`` holds the channels every gapdesk bot has (REST, socket.io,
callback). A messaging channel (Telegram, Twilio, Slack, Facebook Messenger) is added
only when its ``GAPDESK_*`` settings are set, so an unconfigured one never calls its
provider. The classes named here live in ``bot/channels.py`` and ``bot/facebook.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gapdesk.settings import PREFIX, Settings
from gapmodel.errors import ConfigurationError

CREDENTIALS = Path("bot/credentials.yml")
TELEGRAM = "bot.channels.VerifiedTelegramInput"
FACEBOOK = "bot.facebook.VerifiedFacebookInput"
SLACK = "bot.channels.VerifiedSlackInput"
# Messaging channels: their section of Rasa's credentials, as {credential: setting}.
MESSAGING_CHANNELS: dict[str, dict[str, str]] = {
    TELEGRAM: {
        "access_token": "telegram_token",
        "verify": "telegram_bot_name",
        "webhook_url": "telegram_webhook_url",
        "secret_token": "telegram_secret_token",
        "api_url": "telegram_api_url",
    },
    "bot.channels.VerifiedTwilioInput": {
        "account_sid": "twilio_account_sid",
        "auth_token": "twilio_auth_token",
        "twilio_number": "twilio_number",
        "webhook_url": "twilio_webhook_url",
    },
    SLACK: {
        "slack_token": "slack_token",
        "slack_signing_secret": "slack_signing_secret",
        "slack_channel": "slack_channel",
    },
    FACEBOOK: {  # Rasa's credential names
        "verify": "facebook_verify",
        "secret": "facebook_secret",
        "page-access-token": "facebook_page_access_token",
        "api_url": "facebook_api_url",
    },
}
# Settings that do not turn a channel on: they have a default, or may stay empty.
OPTIONAL_SETTINGS = {
    "telegram_secret_token",
    "telegram_api_url",
    "slack_channel",
    "facebook_api_url",
}


def rasa_credentials(settings: Settings, base: Path = CREDENTIALS) -> dict[str, Any]:
    """Rasa's channels: ``base``, plus each messaging channel whose settings are set.

    Values are ``${GAPDESK_*}`` placeholders that Rasa fills in from its environment,
    so no secret is written to disk. Setting only some of a channel's settings is an
    error, never a silently missing channel.
    """
    credentials: dict[str, Any] = yaml.safe_load(base.read_text(encoding="utf-8"))
    for section, keys in MESSAGING_CHANNELS.items():
        needed = [name for name in keys.values() if name not in OPTIONAL_SETTINGS]
        missing = [PREFIX + name.upper() for name in needed if not getattr(settings, name)]
        if len(missing) == len(needed):
            continue  # not configured: Rasa never hears of it (nor calls its provider)
        if missing:
            given = [PREFIX + name.upper() for name in needed if getattr(settings, name)]
            raise ConfigurationError(
                f"set {', '.join(missing)} as well as {', '.join(given)}, or none of them: "
                "a messaging channel needs all of its settings"
            )
        credentials[section] = {key: f"${{{PREFIX}{name.upper()}}}" for key, name in keys.items()}
    return credentials


def write_rasa_credentials(credentials: dict[str, Any], var_dir: Path) -> Path:
    """Write the credentials Rasa is started with to ``var/credentials.yml``."""
    path = var_dir / "credentials.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(credentials, sort_keys=False)
    path.write_text(
        "# Written by gapdesk at every start from bot/credentials.yml and the GAPDESK_*\n"
        "# messaging settings: edit those. Rasa fills in ${...} from its environment.\n" + text,
        encoding="utf-8",
    )
    return path
