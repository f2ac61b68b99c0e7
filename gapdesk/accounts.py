"""Console accounts: agents, supervisors and admins, with argon2id password hashes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from gapdesk.errors import AccountError
from gapdesk.storage.models import User
from gapdesk.storage.store import Store

ROLES = ("agent", "supervisor", "admin")
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: str
    active: bool


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    store: Store, username: str, password: str, role: str, display_name: str = ""
) -> Account:
    """Add an account; names are lower-case, passwords at least 12 characters."""
    if not _USERNAME.match(username):
        raise AccountError(
            "a username is 3-64 characters: lower-case letters, digits, '.', '_' or '-'"
        )
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    with store.session() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise AccountError(f"the user {username!r} exists already")
        user = User(
            username=username,
            display_name=display_name or username,
            role=role,
            password_hash=hash_password(password),
        )
        session.add(user)
    return Account(user.username, user.display_name, user.role, True)


@cache
def _dummy_hash() -> str:
    """Checked when the user name is unknown, so that the answer takes as long as for a
    wrong password and does not reveal which names exist."""
    return _hasher.hash("no such user: timing equaliser")


def authenticate(store: Store, username: str, password: str) -> Account | None:
    """The active account with this name and password, or None.

    The password is always checked, so the time taken says nothing about whether the
    name exists or the account is disabled.
    """
    with store.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            verify_password(_dummy_hash(), password)
            return None
        if not verify_password(user.password_hash, password) or not user.active:
            return None
        return Account(user.username, user.display_name, user.role, user.active)


def set_user(store: Store, username: str, role: str, active: bool) -> Account:
    """Change a user's role or (de)activate them; sign-ins of an inactive user fail."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    with store.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"no user {username!r}")
        user.role, user.active = role, active
        return Account(user.username, user.display_name, user.role, user.active)


def list_users(store: Store) -> list[Account]:
    with store.session() as session:
        users = session.scalars(select(User).order_by(User.username))
        return [Account(u.username, u.display_name, u.role, u.active) for u in users]
