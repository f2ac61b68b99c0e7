"""What the commands talk to, built from the settings: the store and the running bot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gapdesk.engine.client import RasaClient
from gapdesk.settings import Settings

if TYPE_CHECKING:
    from gapdesk.storage.store import Store


def open_store(settings: Settings) -> Store:
    """The database at ``GAPDESK_DATABASE_URL``."""
    from gapdesk.policy import trust_rule
    from gapdesk.storage.store import Store, make_engine  # SQLAlchemy: only when used

    return Store(make_engine(settings.database_url), trust_rule(settings))


def rasa_client(settings: Settings) -> RasaClient:
    """A client of the Rasa server at ``GAPDESK_RASA_URL``."""
    return RasaClient.from_settings(settings)
