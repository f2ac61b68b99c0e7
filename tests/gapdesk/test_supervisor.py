"""Unit tests of gapdesk.supervisor: the lock store settings handed to Rasa."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from gapdesk.supervisor import lock_store_env
from gapmodel.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = ROOT / "bot" / "endpoints.yml"


def _lock_store_section(env: dict[str, str]) -> dict[str, str]:
    """bot/endpoints.yml's lock_store section with ``env`` filled in, as Rasa reads it:
    every ``${VAR}`` value becomes a string."""
    section = yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8"))["lock_store"]
    return {
        key: re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], str(value))
        for key, value in section.items()
    }


def test_no_url_means_in_memory_locks() -> None:
    env = lock_store_env("")
    assert env["GAPDESK_LOCK_STORE_TYPE"] == "in_memory"
    assert env["GAPDESK_LOCK_STORE_PASSWORD"] == ""


def test_a_plain_url_has_no_credentials_and_no_tls() -> None:
    env = lock_store_env("redis://cache.internal:6380/3")
    assert env["GAPDESK_LOCK_STORE_TYPE"] == "redis"
    assert env["GAPDESK_LOCK_STORE_HOST"] == "cache.internal"
    assert env["GAPDESK_LOCK_STORE_PORT"] == "6380"
    assert env["GAPDESK_LOCK_STORE_DB"] == "3"
    # Empty, not "None" or "false": Rasa passes the strings on, and only "" is falsy.
    assert env["GAPDESK_LOCK_STORE_USERNAME"] == ""
    assert env["GAPDESK_LOCK_STORE_PASSWORD"] == ""
    assert env["GAPDESK_LOCK_STORE_USE_SSL"] == ""


def test_the_password_of_the_url_is_passed_on() -> None:
    env = lock_store_env("redis://:secret@127.0.0.1:6379/1")
    assert env["GAPDESK_LOCK_STORE_PASSWORD"] == "secret"
    assert env["GAPDESK_LOCK_STORE_USERNAME"] == ""
    assert env["GAPDESK_LOCK_STORE_DB"] == "1"


def test_rediss_means_tls_and_credentials_are_percent_decoded() -> None:
    env = lock_store_env("rediss://locks:p%40ss%2Fw0rd@redis.example.com/2")
    assert env["GAPDESK_LOCK_STORE_USE_SSL"] == "true"
    assert env["GAPDESK_LOCK_STORE_USERNAME"] == "locks"
    assert env["GAPDESK_LOCK_STORE_PASSWORD"] == "p@ss/w0rd"
    assert env["GAPDESK_LOCK_STORE_PORT"] == "6379"


def test_another_scheme_is_refused_without_echoing_the_password() -> None:
    with pytest.raises(ConfigurationError, match="redis://") as raised:
        lock_store_env("http://:secret@127.0.0.1:6379/1")
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize("url", ["", "redis://:secret@127.0.0.1:6379/1"])
def test_every_variable_of_the_lock_store_section_is_set(url: str) -> None:
    # Rasa refuses to start on an unset ${VAR} anywhere in endpoints.yml, in-memory or not.
    env = lock_store_env(url)
    section = _lock_store_section(env)  # a KeyError names a variable left unset
    assert set(re.findall(r"\$\{(\w+)\}", ENDPOINTS.read_text(encoding="utf-8"))) >= set(env)
    if url:
        assert section["password"] == "secret"
        assert section["use_ssl"] == ""


_RASA_LOCK_CHECK = """
import json, os, sys
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import read_endpoint_config

results = {}
for name, env in json.loads(sys.argv[1]).items():
    os.environ.update(env)
    try:
        store = LockStore.create(read_endpoint_config(sys.argv[2], "lock_store"))
        store.issue_ticket("gapdesk-lock-check")
        store.delete_lock("gapdesk-lock-check")
        results[name] = "ok"
    except Exception as exc:
        results[name] = str(exc)
print(json.dumps(results))
"""


@pytest.mark.rasa_env
def test_rasa_reads_the_credentials_and_locks_in_redis(
    redis_available: None, rasa_python: Path
) -> None:
    """Rasa's own RedisLockStore, fed through bot/endpoints.yml, against the local Redis.

    The local server has no password, so a password reaching it is refused with
    Redis's "called without any password configured": proof it was sent.
    """
    prefix = f"gapdeskcheck{uuid.uuid4().hex[:8]}"  # alphanumeric, as Rasa requires
    cases = {
        "no_password": lock_store_env("redis://127.0.0.1:6379/1"),
        "password": lock_store_env("redis://:secret@127.0.0.1:6379/1"),
    }
    for env in cases.values():
        env["GAPDESK_LOCK_STORE_PREFIX"] = prefix
    other_endpoints = {  # the rest of endpoints.yml must expand too; never contacted
        "GAPDESK_ACTION_ENDPOINT": "http://127.0.0.1:9/webhook",
        "GAPDESK_TRACKER_DIALECT": "sqlite",
        "GAPDESK_TRACKER_STORE_URL": "sqlite:///unused.db",
    }
    completed = subprocess.run(
        [str(rasa_python), "-c", _RASA_LOCK_CHECK, json.dumps(cases), str(ENDPOINTS)],
        env={**os.environ, **other_endpoints},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert results["no_password"] == "ok"
    assert "without any password configured" in results["password"]
