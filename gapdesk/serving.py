"""Serving the registry's current version without a restart.

Every process that serves a model polls the registry (a cheap query on gapdesk's
database) and, when another version has become current, loads it beside the one in
use and then swaps: each score or message is handled by exactly one version, never by
half of one, and nothing waits for the load. A version that cannot be loaded is
logged and the one in use keeps serving; so does a database that does not answer.

- :class:`ServingModel` is the action server's gap model.
- :class:`RasaModelFollower` tells a Rasa server to load the current Rasa model
  (``PUT /model``, Rasa's own zero-downtime replacement).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from gapdesk.registry import Registry
from gapmodel.types import GapInput, GapScore

logger = logging.getLogger(__name__)

# How often a serving process asks the registry which version is current.
POLL_SECONDS = 5.0


class Scorer(Protocol):
    def score(self, item: GapInput) -> GapScore: ...


def current_files(registry: Registry) -> tuple[Path, Path] | None:
    """The current version's Rasa and gap model files; None when the registry has no
    current version or cannot be read (the caller keeps what it serves)."""
    try:
        version = registry.current()
    except Exception:  # a database problem must not stop serving
        logger.warning("could not read the model registry", exc_info=True)
        return None
    return registry.files(version) if version else None


class _Poller:
    """Calls ``check`` every ``poll_seconds`` on a daemon thread until ``stop``."""

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.poll_seconds):
            try:
                self.check()
            except Exception:  # the poller must survive anything; serving goes on
                logger.exception("%s: model check failed", type(self).__name__)


class ServingModel(_Poller):
    """The gap model in use, replaced when the registry's current version changes."""

    def __init__(
        self,
        scorer: Scorer,
        path: Path | None,
        wanted: Callable[[], Path | None],
        load: Callable[[Path], Scorer],
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        super().__init__(poll_seconds)
        self._scorer, self._path = scorer, path
        self._wanted, self._load = wanted, load
        self._failed: Path | None = None  # a version that would not load: said once

    @property
    def path(self) -> Path | None:
        return self._path

    def score(self, item: GapInput) -> GapScore:
        return self._scorer.score(item)  # one version per score: the reference read once

    def check(self) -> bool:
        """Load and swap in the current version if it is another one; True if swapped."""
        wanted = self._wanted()
        if wanted is None or _same(wanted, self._path) or _same(wanted, self._failed):
            return False
        try:
            scorer = self._load(wanted)
        except Exception:  # keep serving the version in use
            logger.exception("could not load the gap model %s; keeping %s", wanted, self._path)
            self._failed = wanted
            return False
        self._scorer, self._path, self._failed = scorer, wanted, None
        logger.info("now scoring with the gap model %s", wanted)
        return True


class RasaModels(Protocol):
    def replace_model(self, model_file: Path) -> None: ...
    def model_file(self) -> Path | None: ...


# After a failed load, Rasa is asked again for the same model only this much later.
RETRY_SECONDS = 60.0


class RasaModelFollower(_Poller):
    """Keeps a Rasa server on the current version's Rasa model.

    Rasa 3.6 loads a model on its event loop: messages wait for the load (seconds for
    a bot of this size), none is dropped. A load that fails (Rasa restarting, a
    timeout) is tried again after ``RETRY_SECONDS``; what Rasa runs is then read
    from Rasa itself, since a timed-out load may still have finished.
    """

    def __init__(
        self,
        rasa: RasaModels,
        path: Path | None,
        wanted: Callable[[], Path | None],
        poll_seconds: float = POLL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        super().__init__(poll_seconds)
        self.rasa, self._path, self._wanted = rasa, path, wanted
        self.retry_seconds = retry_seconds
        self._failed: tuple[Path, float] | None = None  # what failed, and when

    def check(self) -> bool:
        wanted = self._wanted()
        if wanted is None or _same(wanted, self._path):
            return False
        if self._failed and _same(wanted, self._failed[0]) and not self._retry_due():
            return False
        try:
            self.rasa.replace_model(wanted)
        except Exception:  # Rasa keeps (or may have got) a model: ask it which
            if not (self._failed and _same(wanted, self._failed[0])):
                logger.exception("Rasa did not load %s; it keeps %s", wanted, self._path)
            self._failed = (wanted, time.monotonic())
            self._path = self._running() or self._path
            return False
        self._path, self._failed = wanted, None
        logger.info("Rasa now runs %s", wanted)
        return True

    def _retry_due(self) -> bool:
        return self._failed is not None and (
            time.monotonic() - self._failed[1] >= self.retry_seconds
        )

    def _running(self) -> Path | None:
        try:
            return self.rasa.model_file()
        except Exception:  # Rasa not answering: what it runs stays unknown
            return None


def _same(a: Path | None, b: Path | None) -> bool:
    return a is not None and b is not None and a.resolve() == b.resolve()


def gap_model_file(registry: Registry) -> Path | None:
    files = current_files(registry)
    return files[1] if files else None


def rasa_model_file(registry: Registry) -> Path | None:
    files = current_files(registry)
    return files[0] if files else None
