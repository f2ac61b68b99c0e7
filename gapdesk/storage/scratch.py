"""Scratch PostgreSQL databases, for a benchmark's bots and the tests: made, then dropped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text


@contextmanager
def scratch_database(admin_url: str, purpose: str) -> Iterator[str]:
    """A new database on ``admin_url``'s server, named for ``purpose``, dropped (with
    whoever is still connected to it) afterwards; yields its URL."""
    name = f"gapdesk_{purpose}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()  # no connection of ours left open on the server meanwhile
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
