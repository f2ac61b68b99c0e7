"""Typed errors of the gapdesk library.

Each carries enough context to log; the action server translates them into a safe
customer message in one place (``actions/safety.py``), the CLI into an exit code
(``gapdesk/cli/__init__.py``).
"""

from __future__ import annotations


class GapdeskError(Exception):
    """Base class of every error gapdesk raises on purpose."""


class ConfigurationError(GapdeskError):
    """A setting or a project file is missing or invalid."""


class ModelNotTrainedError(GapdeskError):
    """No trained gap model was found where one was expected."""


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
