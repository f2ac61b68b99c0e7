"""Bringing a database to the current schema with Alembic (``gapdesk db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from gapdesk.storage.store import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str, engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(url: str, engine: Engine | None = None) -> None:
    """Create or migrate the gapdesk tables at ``url`` to the newest revision."""
    command.upgrade(alembic_config(url, engine or make_engine(url)), "head")
