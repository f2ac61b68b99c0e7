"""Unit tests of gapdesk.settings: defaults, environment, .env file, validation."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from gapdesk.settings import Settings, load_settings
from gapmodel.errors import ConfigurationError


def test_defaults_without_environment_or_dotenv() -> None:
    assert load_settings(environ={}, dotenv=None) == Settings()


def test_defaults_are_used_when_the_dotenv_file_is_missing(tmp_path: Path) -> None:
    assert load_settings(environ={}, dotenv=tmp_path / ".env") == Settings()


def test_environment_overrides_with_type_conversion() -> None:
    settings = load_settings(
        environ={
            "GAPDESK_ACTION_SERVER_PORT": "6000",
            "GAPDESK_COST_HANDOFF": "9",
            "GAPDESK_RASA_URL": "http://rasa:5005",
        },
        dotenv=None,
    )
    assert settings.action_server_port == 6000
    assert settings.cost_handoff == 9.0
    assert settings.rasa_url == "http://rasa:5005"


def test_unrelated_environment_variables_are_ignored() -> None:
    assert load_settings(environ={"PORT": "1", "ACTION_SERVER_PORT": "2"}, dotenv=None) == (
        Settings()
    )


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# local settings\n\nGAPDESK_LOG_LEVEL = 'DEBUG'\nGAPDESK_MAX_FAILURES=\"4\"\nnot a pair\n",
        encoding="utf-8",
    )
    settings = load_settings(environ={}, dotenv=dotenv)
    assert settings.log_level == "DEBUG"
    assert settings.max_failures == 4


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("GAPDESK_MAX_FAILURES=4\nGAPDESK_LOG_LEVEL=DEBUG\n", encoding="utf-8")
    settings = load_settings(environ={"GAPDESK_MAX_FAILURES": "7"}, dotenv=dotenv)
    assert settings.max_failures == 7
    assert settings.log_level == "DEBUG"


def test_invalid_int_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="GAPDESK_ACTION_SERVER_PORT"):
        load_settings(environ={"GAPDESK_ACTION_SERVER_PORT": "fifty"}, dotenv=None)


def test_invalid_float_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="GAPDESK_COST_CLARIFICATION"):
        load_settings(environ={"GAPDESK_COST_CLARIFICATION": "high"}, dotenv=None)


@pytest.mark.parametrize(
    "environ",
    [{"GAPDESK_COST_MISSED_GAP": "-1"}, {"GAPDESK_COST_HANDOFF": "-0.1"}],
)
def test_a_negative_cost_is_a_configuration_error(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="must not be negative"):
        load_settings(environ=environ, dotenv=None)


def test_every_setting_has_a_prefixed_name_and_help() -> None:
    rows = Settings.table()
    assert [name for name, _, _ in rows] == ["GAPDESK_" + f.name.upper() for f in fields(Settings)]
    assert len(rows) == len(fields(Settings))
    assert all(name.startswith("GAPDESK_") and help_text for name, _, help_text in rows)
