"""What the actions need, built once per action-server process on first use.

Nothing is loaded at import time: the first action that calls :func:`get_services`
reads the settings, loads the knowledge base and the gap model, and starts the
recorder. Tests inject their own :class:`Services` with :func:`set_services`.

A scorer that errors or runs out of time gives ``None`` here, and the decision then
escalates; a gap model that cannot be loaded is such a scorer, so customers are still
handed over rather than apologised to. A failed "is an agent online?" check gives
``None`` too (the customer then hears the usual hand-over words), and so does a
customer's trust that cannot be read in time (they are decided for as a new customer);
storage problems are absorbed by the recorder's spool; any other library error is
turned into a safe reply by ``actions/safety.py``.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gapdesk.settings import Settings, load_settings
from gapmodel.errors import ModelNotTrainedError
from gapmodel.knowledge import KnowledgeBase
from gapmodel.types import GapInput, GapScore

logger = logging.getLogger(__name__)

# "Is anybody online?" only chooses the wording of a hand-over: not worth a slow reply.
PRESENCE_TIMEOUT_SECONDS = 0.3


class Scorer(Protocol):
    def score(self, item: GapInput) -> GapScore: ...


class RecordWriter(Protocol):
    def record(self, record: dict[str, Any]) -> None: ...


class Presence(Protocol):
    def agents_online(self, within_seconds: int) -> bool: ...


class TrustSource(Protocol):
    def customer_trust(self, customer_id: str) -> float: ...


class CardsAndTransfers(Protocol):
    def card(self, last_four: str) -> Any: ...
    def freeze(self, last_four: str) -> bool: ...
    def transfer(self, reference: str) -> Any: ...


@dataclass
class UnavailableScorer:
    """Stands in for a gap model that could not be loaded: every score fails."""

    error: ModelNotTrainedError

    def score(self, item: GapInput) -> GapScore:
        # A new exception each time: raising one object again grows its traceback.
        raise ModelNotTrainedError(str(self.error))


@dataclass
class Services:
    settings: Settings
    knowledge_base: KnowledgeBase
    scorer: Scorer
    recorder: RecordWriter
    bank: CardsAndTransfers
    presence: Presence
    # The customers' trust (gapdesk.trust); None: every customer is treated as new.
    trust: TrustSource | None = None

    def __post_init__(self) -> None:
        # Scoring runs off the event loop so other customers are served meanwhile. Two
        # workers: a score that overran its budget does not delay the next customer's.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gap-scorer")
        # The database gets its own workers: a hanging one must not hold up scoring.
        self._presence_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="presence")

    async def score(self, item: GapInput) -> GapScore | None:
        """The gap score, or None when the scorer fails or exceeds its time budget."""
        loop = asyncio.get_running_loop()
        budget = self.settings.scorer_timeout_ms / 1000
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._pool, self.scorer.score, item), budget
            )
        except TimeoutError:
            logger.error("gap scorer exceeded %d ms; escalating", self.settings.scorer_timeout_ms)
        except ModelNotTrainedError as exc:  # logged with its cause at start
            logger.warning("no gap model (%s); escalating", exc)
        except Exception:  # any scorer failure must escalate, not crash
            logger.exception("gap scorer failed; escalating")
        return None

    async def agents_online(self) -> bool | None:
        """Whether a person is online to take over; None when the database did not say."""
        loop = asyncio.get_running_loop()
        within = self.settings.agent_presence_seconds
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._presence_pool, self.presence.agents_online, within),
                PRESENCE_TIMEOUT_SECONDS,
            )
        except TimeoutError:
            logger.warning(
                "no answer to 'is an agent online?' within %d ms; using the usual hand-over",
                PRESENCE_TIMEOUT_SECONDS * 1000,
            )
        except Exception:  # a database problem must not silence the bot
            logger.warning("could not check whether an agent is online", exc_info=True)
        return None

    async def customer_trust(self, customer_id: str) -> float | None:
        """The customer's trust, or None (decided as for a new customer) when it cannot
        be read in time: a database problem must never reach the customer."""
        if self.trust is None:
            return None
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._presence_pool, self.trust.customer_trust, customer_id),
                PRESENCE_TIMEOUT_SECONDS,
            )
        except TimeoutError:
            logger.warning(
                "customer trust not read within %d ms; deciding as for a new customer",
                PRESENCE_TIMEOUT_SECONDS * 1000,
            )
        except Exception:
            logger.warning(
                "could not read the customer's trust; deciding as for a new customer",
                exc_info=True,
            )
        return None


_services: Services | None = None
_lock = threading.Lock()


def set_services(services: Services | None) -> None:
    global _services
    _services = services


def get_services() -> Services:
    global _services
    with _lock:
        if _services is None:
            _services = build_services(load_settings())
        return _services


def build_services(settings: Settings) -> Services:
    """The real services: the trained gap model, the database, the demo bank.

    The gap model follows the model registry: a version promoted or rolled back while
    the server runs is loaded beside the one in use and swapped in (gapdesk.serving).
    """
    from gapdesk.demo.bank import DemoBank
    from gapdesk.models_dir import current_models
    from gapdesk.policy import trust_rule
    from gapdesk.registry import Registry
    from gapdesk.serving import ServingModel, gap_model_file
    from gapdesk.storage.recorder import Recorder
    from gapdesk.storage.store import Store, make_engine

    current = current_models(settings.models_path)
    path = Path(current.get("gap_model", settings.models_path / "missing"))
    scorer: Scorer
    loaded: Path | None = path
    try:
        scorer = _load_gap_model(path)
    except ModelNotTrainedError as exc:
        # Without a model every answer escalates (a failed score does), which keeps
        # "talk to a person" and hand-overs working; an apology for every message would not.
        # A version promoted later is loaded by the registry follower below.
        logger.error("%s; every answerable message will be handed over", exc)
        scorer, loaded = UnavailableScorer(exc), None
    engine = make_engine(settings.database_url)
    store = Store(engine, trust_rule(settings))
    registry = Registry(store, settings.models_path)
    serving = ServingModel(
        scorer,
        loaded,
        lambda: gap_model_file(registry),
        _load_gap_model,
        settings.model_poll_seconds,
    )
    if settings.model_poll_seconds > 0:
        serving.start()
    recorder = Recorder(store, settings.var_path / "spool" / "records.jsonl")
    atexit.register(recorder.close)  # write what is queued when the server stops
    logger.info("gap model %s; database %s", loaded or "none", engine.url.render_as_string())
    bank = DemoBank(engine)
    return Services(settings, KnowledgeBase.load(), serving, recorder, bank, store, store)


def _load_gap_model(path: Path) -> Scorer:
    """A gap model ready to score: loaded, and warmed up outside any customer's turn."""
    from gapmodel.model import GapModel

    model = GapModel.load(path)
    model.warm_up()
    return model
