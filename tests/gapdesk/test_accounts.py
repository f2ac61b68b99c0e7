from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gapdesk.accounts import authenticate, create_user, hash_password, list_users, verify_password
from gapdesk.errors import AccountError
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.store import Store, make_engine

PASSWORD = "correct horse battery"


@pytest.fixture
def store(database_url: str) -> Store:
    upgrade(database_url)
    return Store(make_engine(database_url))


def test_passwords_are_stored_as_argon2id_hashes() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "!")
    assert not verify_password("not a hash", PASSWORD)


def test_a_created_user_can_log_in_with_the_right_password_only(store: Store) -> None:
    create_user(store, "ada", PASSWORD, "admin", "Ada L.")
    account = authenticate(store, "ada", PASSWORD)
    assert account is not None and account.role == "admin" and account.display_name == "Ada L."
    assert authenticate(store, "ada", "wrong password here") is None
    assert authenticate(store, "nobody", PASSWORD) is None
    assert [a.username for a in list_users(store)] == ["ada"]


@pytest.mark.parametrize(
    ("username", "password", "role", "problem"),
    [
        ("ada", "short", "agent", "at least 12"),
        ("Ada Lovelace", PASSWORD, "agent", "username"),
        ("<script>", PASSWORD, "agent", "username"),
        ("ada", PASSWORD, "root", "role"),
    ],
)
def test_bad_account_requests_are_refused_clearly(
    store: Store, username: str, password: str, role: str, problem: str
) -> None:
    with pytest.raises(AccountError, match=problem):
        create_user(store, username, password, role)


def test_a_username_is_taken_once(store: Store) -> None:
    create_user(store, "ada", PASSWORD, "agent")
    with pytest.raises(AccountError, match="exists already"):
        create_user(store, "ada", PASSWORD, "admin")


def test_the_cli_creates_the_first_admin(tmp_path: Path) -> None:
    env = {"GAPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "gapdesk"]
    subprocess.run([*run, "db", "upgrade"], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [*run, "users", "create", "ada", "--role", "admin", "--password-stdin"],
        env=env, input=PASSWORD + "\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "created admin ada" in created.stdout
    listed = subprocess.run([*run, "users", "list"], env=env, capture_output=True, text=True)
    assert "ada" in listed.stdout and "admin" in listed.stdout
    weak = subprocess.run(
        [*run, "users", "create", "bob", "--role", "agent", "--password-stdin"],
        env=env, input="weak\n", capture_output=True, text=True,
    )  # fmt: skip
    assert weak.returncode == 2 and "at least 12" in weak.stderr
