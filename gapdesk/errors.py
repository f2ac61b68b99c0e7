"""Typed errors of the gapdesk application: storage, the Rasa engine, accounts, models.

They share gapmodel's base, :class:`~gapmodel.errors.GapdeskError`, so each process
translates every error it expects in one place: the action server into a safe customer
message (``actions/safety.py``), the console into an HTTP status (``console/app.py``),
the CLI into an exit code (``gapdesk/cli/__init__.py``).
"""

from __future__ import annotations

from gapmodel.errors import GapdeskError


class StorageError(GapdeskError):
    """The database could not be read or written."""


class TransientStorageError(StorageError):
    """The database is unreachable or busy; the same write may succeed later."""


class AccountError(GapdeskError):
    """A user account request that cannot be honoured (bad name, weak password, ...)."""


class EngineError(GapdeskError):
    """The Rasa engine (a separate process and environment) failed."""


class RegistryError(GapdeskError):
    """A model version that does not exist, or cannot serve (its files are gone)."""


class RetrainBusyError(GapdeskError):
    """Another ``gapdesk retrain`` holds the lock."""
