"""Typed errors of the gap model library, and the base of every gapdesk error.

The application's own errors (storage, Rasa, accounts, the registry) are in
``gapdesk.errors``.

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
