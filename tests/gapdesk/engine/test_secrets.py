"""Secrets gapdesk generates for itself: made once, kept private, checked."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gapdesk.engine.secrets import jwt_secret, webhook_token
from gapmodel.errors import ConfigurationError


@pytest.mark.parametrize("make", [jwt_secret, webhook_token])
def test_a_generated_secret_is_made_once_and_readable_only_by_its_owner(
    tmp_path: Path, make
) -> None:
    first = make("", tmp_path)
    assert len(first) >= 32 and make("", tmp_path) == first
    [kept] = list(tmp_path.iterdir())
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


@pytest.mark.parametrize("make", [jwt_secret, webhook_token])
def test_a_configured_secret_wins_but_a_short_one_is_refused(tmp_path: Path, make) -> None:
    assert make("x" * 32, tmp_path) == "x" * 32
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        make("short", tmp_path)
