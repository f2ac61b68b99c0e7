"""Unit tests of the credentials Rasa is started with: which messaging channels appear
for which settings, and that no secret is written to disk."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from gapdesk.engine import rasa as rasa_engine
from gapdesk.engine.channels import rasa_credentials, write_rasa_credentials
from gapdesk.engine.secrets import telegram_secret_token
from gapdesk.settings import Settings
from gapdesk.supervisor import build_services
from gapmodel.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[3]
BASE = ROOT / "bot" / "credentials.yml"
TELEGRAM = "bot.channels.VerifiedTelegramInput"
TWILIO = "bot.channels.VerifiedTwilioInput"
FACEBOOK = "bot.facebook.VerifiedFacebookInput"
SLACK = "bot.channels.VerifiedSlackInput"

TELEGRAM_SETTINGS = {
    "telegram_token": "123456:telegram-secret-token-value",
    "telegram_bot_name": "brightwater_bot",
    "telegram_webhook_url": "https://bot.example.com/webhooks/telegram/webhook",
}
TWILIO_SETTINGS = {
    "twilio_account_sid": "AC0123456789abcdef0123456789abcdef",
    "twilio_auth_token": "twilio-auth-token-value",
    "twilio_number": "whatsapp:+15550001234",
    "twilio_webhook_url": "https://bot.example.com/webhooks/twilio/webhook",
}
SLACK_SETTINGS = {"slack_token": "xoxb-slack-token-value", "slack_signing_secret": "slack-sign"}
FACEBOOK_SETTINGS = {
    "facebook_verify": "facebook-verify-token-value",
    "facebook_secret": "facebook-app-secret-value",
    "facebook_page_access_token": "EAAfacebook-page-token-value",
}
SECRETS = [
    TELEGRAM_SETTINGS["telegram_token"],
    TWILIO_SETTINGS["twilio_auth_token"],
    *SLACK_SETTINGS.values(),
    *FACEBOOK_SETTINGS.values(),
]
ALL_CHANNELS = {**TELEGRAM_SETTINGS, **TWILIO_SETTINGS, **SLACK_SETTINGS, **FACEBOOK_SETTINGS}


def _credentials(**settings: str) -> dict:
    return rasa_credentials(Settings(**settings), BASE)  # type: ignore[arg-type]


def test_without_messaging_settings_rasa_gets_only_the_shipped_channels() -> None:
    assert _credentials() == yaml.safe_load(BASE.read_text(encoding="utf-8"))
    assert not {TELEGRAM, TWILIO, SLACK, FACEBOOK} & set(_credentials())


@pytest.mark.parametrize(
    ("settings", "section"),
    [
        (TELEGRAM_SETTINGS, TELEGRAM),
        (TWILIO_SETTINGS, TWILIO),
        (SLACK_SETTINGS, SLACK),
        (FACEBOOK_SETTINGS, FACEBOOK),
    ],
)
def test_a_channel_appears_when_its_settings_are_set(settings: dict, section: str) -> None:
    credentials = _credentials(**settings)
    assert set(credentials) - set(_credentials()) == {section}
    # Every value is a placeholder Rasa fills from its environment.
    for value in credentials[section].values():
        assert value.startswith("${GAPDESK_") and value.endswith("}")


def test_the_sections_name_the_settings_rasa_reads() -> None:
    credentials = _credentials(**ALL_CHANNELS)
    assert credentials[TELEGRAM] == {
        "access_token": "${GAPDESK_TELEGRAM_TOKEN}",
        "verify": "${GAPDESK_TELEGRAM_BOT_NAME}",
        "webhook_url": "${GAPDESK_TELEGRAM_WEBHOOK_URL}",
        "secret_token": "${GAPDESK_TELEGRAM_SECRET_TOKEN}",
        "api_url": "${GAPDESK_TELEGRAM_API_URL}",
    }
    assert credentials[TWILIO]["webhook_url"] == "${GAPDESK_TWILIO_WEBHOOK_URL}"
    assert credentials[SLACK]["slack_signing_secret"] == "${GAPDESK_SLACK_SIGNING_SECRET}"
    # Rasa's own credential names; the Graph API URL always has a value (its default).
    assert credentials[FACEBOOK] == {
        "verify": "${GAPDESK_FACEBOOK_VERIFY}",
        "secret": "${GAPDESK_FACEBOOK_SECRET}",
        "page-access-token": "${GAPDESK_FACEBOOK_PAGE_ACCESS_TOKEN}",
        "api_url": "${GAPDESK_FACEBOOK_API_URL}",
    }


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({"telegram_token": "123456:abc"}, "GAPDESK_TELEGRAM_WEBHOOK_URL"),
        ({**TWILIO_SETTINGS, "twilio_webhook_url": ""}, "GAPDESK_TWILIO_WEBHOOK_URL"),
        ({"slack_signing_secret": "slack-sign"}, "GAPDESK_SLACK_TOKEN"),
        ({**FACEBOOK_SETTINGS, "facebook_secret": ""}, "GAPDESK_FACEBOOK_SECRET"),
        ({"facebook_verify": "verify-me"}, "GAPDESK_FACEBOOK_PAGE_ACCESS_TOKEN"),
    ],
)
def test_a_half_configured_channel_stops_the_start(settings: dict, missing: str) -> None:
    with pytest.raises(ConfigurationError, match=missing) as raised:
        _credentials(**settings)
    assert not any(secret in str(raised.value) for secret in SECRETS)


def test_optional_settings_alone_turn_nothing_on() -> None:
    credentials = _credentials(
        telegram_secret_token="abc",
        telegram_api_url="http://127.0.0.1:1",
        slack_channel="C1",
        facebook_api_url="http://127.0.0.1:2",
    )
    assert credentials == _credentials()


def test_the_written_file_holds_placeholders_not_secrets(tmp_path: Path) -> None:
    credentials = _credentials(**ALL_CHANNELS)
    path = write_rasa_credentials(credentials, tmp_path / "var")
    text = path.read_text(encoding="utf-8")
    assert not any(secret in text for secret in SECRETS)
    # Unquoted: Rasa expands ${VAR} in plain YAML scalars only.
    assert "access_token: ${GAPDESK_TELEGRAM_TOKEN}\n" in text
    assert yaml.safe_load(text) == credentials


def test_the_telegram_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    secret = telegram_secret_token("", tmp_path)
    assert secret == telegram_secret_token("", tmp_path)
    assert stat.S_IMODE((tmp_path / "telegram_secret_token").stat().st_mode) == 0o600
    assert telegram_secret_token("mine_1-2", tmp_path) == "mine_1-2"


@pytest.mark.parametrize("secret", ["with space", "p@ss", "x" * 257])
def test_a_secret_telegram_would_refuse_is_refused_at_start(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigurationError, match="GAPDESK_TELEGRAM_SECRET_TOKEN"):
        telegram_secret_token(secret, tmp_path)


def _settings(tmp_path: Path, **overrides: str) -> Settings:
    models = tmp_path / "models"
    models.mkdir()
    (models / "current.json").write_text(json.dumps({"rasa_model": "bot.tar.gz"}), "utf-8")
    settings = Settings(models_dir=str(models), var_dir=str(tmp_path / "var"))
    return replace(settings, **overrides)


def test_rasa_starts_with_the_written_file_and_gets_the_secrets_in_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rasa_engine, "rasa_python", lambda root=Path("."): Path("python"))
    settings = _settings(tmp_path, **TELEGRAM_SETTINGS)
    rasa = next(s for s in build_services(settings, console=False) if s.name == "Rasa server")
    path = Path(rasa.command[rasa.command.index("--credentials") + 1])
    assert path == tmp_path / "var" / "credentials.yml"
    assert TELEGRAM in yaml.safe_load(path.read_text(encoding="utf-8"))
    assert rasa.env["GAPDESK_TELEGRAM_TOKEN"] == TELEGRAM_SETTINGS["telegram_token"]
    assert rasa.env["GAPDESK_TELEGRAM_SECRET_TOKEN"] == (
        (tmp_path / "var" / "telegram_secret_token").read_text(encoding="utf-8").strip()
    )
    assert not any(secret in " ".join(rasa.command) for secret in SECRETS)


@pytest.mark.rasa_env
def test_rasa_reads_the_placeholders_from_its_environment(
    tmp_path: Path, rasa_python: Path
) -> None:
    """Rasa's own reader fills the written file from the environment."""
    settings = Settings(**TWILIO_SETTINGS)
    path = write_rasa_credentials(rasa_credentials(settings, BASE), tmp_path)
    completed = subprocess.run(
        [
            str(rasa_python),
            "-c",
            "import json, sys; from rasa.shared.utils.io import read_config_file; "
            "print(json.dumps(read_config_file(sys.argv[1])))",
            str(path),
        ],
        env={**os.environ, **settings.as_environ(), "GAPDESK_WEBHOOK_TOKEN": "t" * 40},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    read = json.loads(completed.stdout.strip().splitlines()[-1])
    assert read[TWILIO] == {
        "account_sid": TWILIO_SETTINGS["twilio_account_sid"],
        "auth_token": TWILIO_SETTINGS["twilio_auth_token"],
        "twilio_number": TWILIO_SETTINGS["twilio_number"],
        "webhook_url": TWILIO_SETTINGS["twilio_webhook_url"],
    }


def test_rasa_gets_the_facebook_settings_in_its_environment_not_its_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rasa_engine, "rasa_python", lambda root=Path("."): Path("python"))
    settings = _settings(tmp_path, **FACEBOOK_SETTINGS)
    rasa = next(s for s in build_services(settings, console=False) if s.name == "Rasa server")
    path = Path(rasa.command[rasa.command.index("--credentials") + 1])
    assert FACEBOOK in yaml.safe_load(path.read_text(encoding="utf-8"))
    assert rasa.env["GAPDESK_FACEBOOK_SECRET"] == FACEBOOK_SETTINGS["facebook_secret"]
    assert rasa.env["GAPDESK_FACEBOOK_API_URL"] == "https://graph.facebook.com"
    assert not any(secret in " ".join(rasa.command) for secret in SECRETS)
    assert not any(secret in path.read_text(encoding="utf-8") for secret in SECRETS)


@pytest.mark.rasa_env
def test_rasa_reads_the_facebook_placeholders_from_its_environment(
    tmp_path: Path, rasa_python: Path
) -> None:
    """Rasa's reader fills in the hyphenated key and the default Graph API URL too."""
    settings = Settings(**FACEBOOK_SETTINGS)
    path = write_rasa_credentials(rasa_credentials(settings, BASE), tmp_path)
    completed = subprocess.run(
        [
            str(rasa_python),
            "-c",
            "import json, sys; from rasa.shared.utils.io import read_config_file; "
            "print(json.dumps(read_config_file(sys.argv[1])))",
            str(path),
        ],
        env={**os.environ, **settings.as_environ(), "GAPDESK_WEBHOOK_TOKEN": "t" * 40},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    read = json.loads(completed.stdout.strip().splitlines()[-1])
    assert read[FACEBOOK] == {
        "verify": FACEBOOK_SETTINGS["facebook_verify"],
        "secret": FACEBOOK_SETTINGS["facebook_secret"],
        "page-access-token": FACEBOOK_SETTINGS["facebook_page_access_token"],
        "api_url": "https://graph.facebook.com",
    }
