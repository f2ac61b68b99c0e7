"""Alembic environment: the URL comes from the caller (gapdesk.storage.migrate)."""

from __future__ import annotations

from alembic import context

from gapdesk.storage.models import Base
from gapdesk.storage.store import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
engine = config.attributes.get("engine") or make_engine(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
