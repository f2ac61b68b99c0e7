"""Serving the registry's current version without a restart.

Every process that serves a model polls the registry (a cheap query on gapdesk's
database) and, when another version has become current, switches to it. A version
that cannot be loaded is logged and the one in use keeps serving; so does a database
that does not answer.

- :class:`ServingModel` is the action server's gap model.
- :class:`RasaModelFollower` tells a Rasa server to load the current Rasa model
  (``PUT /model``, Rasa's own replacement).
"""

from __future__ import annotations

import contextlib
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


# A switch that failed is tried again for the same version only this much later.
RETRY_SECONDS = 60.0


class _Follower:
    """Follows the version ``wanted()`` names: every ``poll_seconds``, on a daemon
    thread, switches to it when it is another one (:meth:`_switch`).

    A switch that fails is logged once and leaves what is in use; it is tried again
    for the same version after ``retry_seconds``, at once for another one.
    """

    what = "model"  # for the log

    def __init__(
        self,
        path: Path | None,
        wanted: Callable[[], Path | None],
        poll_seconds: float = POLL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._path, self._wanted = path, wanted
        self.poll_seconds, self.retry_seconds = poll_seconds, retry_seconds
        self._failed: tuple[Path, float] | None = None  # what failed, and when
        self._stopped = threading.Event()

    @property
    def path(self) -> Path | None:
        return self._path

    def _switch(self, path: Path) -> None:
        raise NotImplementedError

    def _after_failure(self) -> None:
        """What to learn after a failed switch (nothing, unless overridden)."""

    def check(self) -> bool:
        """Switch to the wanted version if it is another one; True if it switched."""
        wanted = self._wanted()
        if wanted is None or _same(wanted, self._path):
            return False
        failed = self._failed
        failed_at = failed[1] if failed and _same(wanted, failed[0]) else None
        if failed_at is not None and time.monotonic() - failed_at < self.retry_seconds:
            return False
        try:
            self._switch(wanted)
        except Exception:  # keep what is in use; serving goes on
            if failed_at is None:  # said once per version
                logger.exception(
                    "could not load the %s %s; keeping %s", self.what, wanted, self._path
                )
            self._failed = (wanted, time.monotonic())
            self._after_failure()
            return False
        self._path, self._failed = wanted, None
        logger.info("now serving the %s %s", self.what, wanted)
        return True

    def start(self) -> None:
        threading.Thread(target=self._run, name=type(self).__name__, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.poll_seconds):
            try:
                self.check()
            except Exception:  # the poller must survive anything; serving goes on
                logger.exception("%s: model check failed", type(self).__name__)


class ServingModel(_Follower):
    """The action server's gap model: a newly current version is loaded beside the one
    in use, then swapped in; each score reads the reference once, so it is made by
    exactly one version."""

    what = "gap model"

    def __init__(
        self,
        scorer: Scorer,
        path: Path | None,
        wanted: Callable[[], Path | None],
        load: Callable[[Path], Scorer],
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        super().__init__(path, wanted, poll_seconds)
        self._scorer, self._load = scorer, load

    def score(self, item: GapInput) -> GapScore:
        return self._scorer.score(item)

    def _switch(self, path: Path) -> None:
        self._scorer = self._load(path)


class RasaModels(Protocol):
    def replace_model(self, model_file: Path) -> None: ...
    def model_file(self) -> Path | None: ...


class RasaModelFollower(_Follower):
    """Keeps a Rasa server on the current version's Rasa model (``PUT /model``).

    Rasa 3.6 loads a model on its event loop: messages wait for the load (seconds for
    a bot of this size), none is dropped. After a failed load (Rasa restarting, a
    timeout) what Rasa runs is read from Rasa itself, since a timed-out load may
    still have finished.
    """

    what = "Rasa model"

    def __init__(
        self,
        rasa: RasaModels,
        path: Path | None,
        wanted: Callable[[], Path | None],
        poll_seconds: float = POLL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        super().__init__(path, wanted, poll_seconds, retry_seconds)
        self.rasa = rasa

    def _switch(self, path: Path) -> None:
        self.rasa.replace_model(path)

    def _after_failure(self) -> None:
        with contextlib.suppress(Exception):  # Rasa not answering: as we knew it
            self._path = self.rasa.model_file() or self._path


def _same(a: Path | None, b: Path | None) -> bool:
    return a is not None and b is not None and a.resolve() == b.resolve()


def gap_model_file(registry: Registry) -> Path | None:
    files = current_files(registry)
    return files[1] if files else None


def rasa_model_file(registry: Registry) -> Path | None:
    files = current_files(registry)
    return files[0] if files else None
