"""``gapdesk retrain``: learn from people's labels and customers' ratings, judge the
candidate against the current version, promote it only when it is no worse.

1. Gather every signal (:mod:`gapdesk.signals`). Nothing given since the current
   version's newest signal: nothing changes.
2. Hold out the newest share of the labelled live turns (``GAPDESK_RETRAIN_HELD_OUT_SHARE``).
3. Write what the rest teaches as reviewable training data: NLU examples
   (``data/nlu/labels.yml``, ``data/out_of_scope/labels.txt``) and the gap model's live
   rows (``data/live/gap_turns.jsonl``).
4. Train on it as ``gapdesk train`` does (the same files give the same models, so a
   later ``gapdesk train`` finds the version instead of making another).
5. Judge both versions on the held-out turns (:mod:`gapdesk.evaluation`) and keep the
   candidate as refused (training files restored) or promote it.

One retrain runs at a time (a lock file under ``var/``); a failure leaves the current
version serving and is in the audit log.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gapdesk.datasets import LabelledText, read_rasa_nlu
from gapdesk.engine import rasa
from gapdesk.engine.project import Project
from gapdesk.errors import RegistryError, RetrainBusyError
from gapdesk.evaluation import LabelledTurn, PromotionRule, figures, judge
from gapdesk.labels import (
    NLU_FILE_NAME,
    OUT_OF_SCOPE_FILE_NAME,
    LabelledExamples,
    training_examples,
    write_lessons,
)
from gapdesk.locks import run_lock
from gapdesk.registry import Registry, Version
from gapdesk.settings import Settings
from gapdesk.signals import (
    LABEL_SOURCE,
    LIVE_FILE_NAME,
    LiveRow,
    Signals,
    gather,
    write_live_rows,
)
from gapdesk.storage.models import as_utc
from gapdesk.storage.store import Store
from gapdesk.training import read_predictions, train, write_messages
from gapmodel.knowledge import KnowledgeBase
from gapmodel.model import GapModel

logger = logging.getLogger(__name__)

LOCK_FILE = "retrain.lock"
TRIGGER = "retrain"


@dataclass
class Outcome:
    """What one retrain did, for the command line and the tests."""

    state: str  # nothing_new | dry_run | refused | candidate | promoted | already_registered
    message: str
    signals: dict[str, Any] = field(default_factory=dict)
    version: Version | None = None
    judgement: dict[str, Any] = field(default_factory=dict)


def retrain_lock(path: Path, wait: bool = False) -> AbstractContextManager[None]:
    """Hold the retrain lock (released when the process ends, even if it is killed)."""

    def busy(holder: str) -> RetrainBusyError:
        return RetrainBusyError(
            f"another gapdesk retrain is running ({holder}); try later, or pass --wait"
        )

    return run_lock(path, busy, wait)


def split_held_out(
    rows: Sequence[LiveRow], share: float, since: datetime | None = None
) -> tuple[list[LiveRow], list[LiveRow]]:
    """(rows to train on, the newest ``share`` of the labelled ones by turn time to judge
    on). People's labels judge a candidate; customers' ratings, weaker, always train.

    Only labels given after ``since`` (the current version's newest signal) may be held
    out, so that neither version has trained on what judges them; and no row of a held
    out text trains (customers repeat short messages word for word). At least one
    labelled row trains, so a share near 1 never leaves nothing to learn.
    """
    ordered = sorted(rows, key=lambda row: (row.created_at, row.turn_id))
    labelled = [
        row
        for row in ordered
        if row.source == LABEL_SOURCE
        and (since is None or row.given_at is None or row.given_at > since)
    ]
    count = min(math.ceil(len(labelled) * share), len(labelled) - 1) if labelled else 0
    held = labelled[len(labelled) - count :] if count > 0 else []
    held_ids = {row.turn_id for row in held}
    held_texts = {same_text(row.text) for row in held}
    train = [
        row
        for row in ordered
        if row.turn_id not in held_ids and same_text(row.text) not in held_texts
    ]
    return train, held


def same_text(text: str | None) -> str:
    """A text as two turns are compared: case and spacing do not count."""
    return " ".join((text or "").split()).lower()


@dataclass
class Lessons:
    """What a retrain would learn from: every signal, split into the rows to train on
    and the newest ones held out to judge the candidate, and the NLU examples the
    labels of the training rows teach."""

    fresh: Signals  # given since the current version's newest signal
    everything: Signals
    train_rows: list[LiveRow]
    held_out: list[LiveRow]
    examples: LabelledExamples

    def summary(self) -> dict[str, Any]:
        """Counts by signal, as ``--dry-run`` prints them."""
        summary = self.everything.summary()
        summary.update(
            {
                "new_since_current": self.fresh.summary(),
                "train_rows": len(self.train_rows),
                "held_out_rows": len(self.held_out),
                "nlu_examples_to_write": len(self.examples.intent_examples),
                "out_of_scope_examples_to_write": len(self.examples.out_of_scope),
            }
        )
        return summary


def plan(
    store: Store,
    training_data: Sequence[LabelledText],
    since: datetime | None,
    held_out_share: float,
) -> Lessons:
    """Gather every signal in ``store`` and split it (see :class:`Lessons`)."""
    fresh = gather(store, training_data, since)
    everything = gather(store, training_data)
    train_rows, held_out = split_held_out(everything.rows, held_out_share, since)
    held_texts = {same_text(row.text) for row in held_out}
    examples = training_examples(
        [label for label in everything.labels if same_text(label["text"]) not in held_texts],
        training_data,
    )
    return Lessons(fresh, everything, train_rows, held_out, examples)


def labelled_turn(row: LiveRow) -> LabelledTurn:
    return LabelledTurn(row.text, row.right_intent, row.is_gap)


def nlu_training_data(project: Project) -> list[LabelledText]:
    """The bot's own NLU examples, without the ones labels added."""
    return read_rasa_nlu(p for p in project.nlu_files() if p.name != NLU_FILE_NAME)


class Retrainer:
    """One bot's retraining: its project, settings, database and models folder."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        project: Project | None = None,
        progress: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.store = store
        self.project = project or Project()
        self.registry = Registry(store, settings.models_path)
        self.progress = progress

    def run(self, dry_run: bool = False, promote: bool = False, wait: bool = False) -> Outcome:
        with retrain_lock(self.settings.var_path / LOCK_FILE, wait):
            return self._run(dry_run, promote)

    def _run(self, dry_run: bool, promote: bool) -> Outcome:
        current = self.registry.current()
        if current is None:
            raise RegistryError("no model version serves yet: run `gapdesk train` first")
        missing = self.registry.missing_files(current)
        if missing:
            raise RegistryError(
                f"the current version {current.name} has no files ({missing[0]}): "
                "promote another (`gapdesk models list`) or run `gapdesk train`"
            )
        self.progress("gathering labels and ratings")
        since = current.signal_counts.get("until")
        lessons = plan(
            self.store,
            nlu_training_data(self.project),
            datetime.fromisoformat(since) if since else None,
            self.settings.retrain_held_out_share,
        )
        summary = lessons.summary()
        everything, train_rows, held_out = lessons.everything, lessons.train_rows, lessons.held_out
        # New signals that teach what the training files already hold (a rating on a turn
        # labelled before, a second person agreeing) change nothing either.
        if not lessons.fresh.teaches_anything() or not self._would_change_training_files(lessons):
            if not dry_run:  # a dry run changes nothing, the audit log included
                self.registry.audit("retrain_nothing_new", current=current.name)
            return Outcome(
                "nothing_new",
                f"nothing new to learn since {current.name}: nothing changes",
                summary,
                current,
            )
        if dry_run:
            return Outcome("dry_run", "dry run: nothing written, trained or promoted", summary)
        with self._training_files_kept_unless_promoted() as keep:
            self._write_training_files(lessons.examples, train_rows)
            self.progress("training the candidate (Rasa model, cross-validation, gap model)")
            trained = train(
                self.project,
                self.settings.models_path,
                self.settings.var_path / "cache",
                semantic=self.settings.semantic_features == "on",
                spacy_model=self.settings.spacy_model,
            )
            known = self.registry.find(trained.rasa_model, trained.gap_model)
            if known is not None and (known.current or "held_out" in known.evaluation):
                if known.current:  # else data/ goes back to describing the serving version
                    keep()
                self.registry.audit("retrain_already_registered", version=known.name)
                return Outcome(
                    "already_registered",
                    f"these models are version {known.name} ({known.status}); nothing changes",
                    summary,
                    known,
                )
            # A version registered by a run that failed before judging it is judged now.
            candidate = known or self.registry.register(
                trained.rasa_model,
                trained.gap_model,
                TRIGGER,
                parent=current.name,
                data_hashes=trained.data_hashes,
                evaluation=trained.evaluation(),
            )
            self.registry.record_signals(candidate.name, _recorded(everything, summary))
            self.progress(f"judging {candidate.name} against {current.name} on "
                          f"{len(held_out)} held-out turns")  # fmt: skip
            judgement = self.judge(current, candidate, held_out)
            accepted, reason = PromotionRule.of(self.settings).verdict(
                judgement["current"], judgement["candidate"]
            )
            self.registry.record_evaluation(candidate.name, {"held_out": judgement})
            if not accepted:
                version = self.registry.refuse(candidate.name, reason)
                self.registry.prune(self.settings.models_keep)  # a refused model's files
                return Outcome("refused", f"{candidate.name} refused: {reason}", summary,
                               version, judgement)  # fmt: skip
            keep()
            if not promote:
                self.registry.audit("retrain_candidate", version=candidate.name, why=reason)
                return Outcome(
                    "candidate",
                    f"{candidate.name} would be promoted ({reason}); "
                    f"`gapdesk models promote {candidate.name}` serves it",
                    summary,
                    self.registry.get(candidate.name),
                    judgement,
                )
            version = self.registry.promote(candidate.name, why=f"retrain: {reason}")
            self.registry.prune(self.settings.models_keep)
            return Outcome("promoted", f"{candidate.name} promoted: {reason}", summary,
                           version, judgement)  # fmt: skip

    # -- the steps ---------------------------------------------------------------------

    def _write_training_files(
        self, lessons: LabelledExamples, rows: Sequence[LiveRow], root: Path | None = None
    ) -> None:
        nlu, out_of_scope, live = self._training_files(root)
        note = (
            "Generated by `gapdesk retrain` from the labels agents and supervisors gave\n"
            "in the console (texts redacted). Review and commit with the version it made."
        )
        write_lessons(lessons, nlu, out_of_scope, note)
        write_live_rows(live, rows)

    def _training_files(self, root: Path | None = None) -> list[Path]:
        root = root or self.project.root
        return [
            root / self.project.nlu / NLU_FILE_NAME,
            root / self.project.out_of_scope / OUT_OF_SCOPE_FILE_NAME,
            root / self.project.live / LIVE_FILE_NAME,
        ]

    def _would_change_training_files(self, lessons: Lessons) -> bool:
        """Whether what ``lessons`` teach differs from the training files there are."""
        with tempfile.TemporaryDirectory(prefix="gapdesk-lessons-") as tmp:
            self._write_training_files(lessons.examples, lessons.train_rows, Path(tmp))
            for staged, present in zip(
                self._training_files(Path(tmp)), self._training_files(), strict=True
            ):
                if _content(staged) != _content(present):
                    return True
        return False

    @contextmanager
    def _training_files_kept_unless_promoted(self) -> Iterator[Callable[[], None]]:
        """Restore the training files as they were unless ``keep()`` is called: a refused
        or failed candidate leaves ``data/`` describing the version that serves."""
        before = {path: path.read_bytes() if path.is_file() else None for path in
                  self._training_files()}  # fmt: skip
        kept = False

        def keep() -> None:
            nonlocal kept
            kept = True

        try:
            yield keep
        finally:
            if not kept:
                for path, content in before.items():
                    if content is None:
                        path.unlink(missing_ok=True)
                    else:
                        path.write_bytes(content)

    def judge(
        self, current: Version, candidate: Version, held_out: Sequence[LiveRow]
    ) -> dict[str, Any]:
        """Both versions' figures on the held-out turns, each with its own NLU and gap
        model (the two NLU models parse at the same time, one core each)."""
        turns = [labelled_turn(row) for row in held_out]
        rankings = self._rankings([current, candidate], [t.text for t in turns])
        kb = KnowledgeBase.load(self.project.root / self.project.knowledge_base)

        def offered(ranking: Sequence[tuple[str, float]]) -> list[str]:
            return [answer.intent for answer in kb.clarification_options(ranking)]

        result: dict[str, Any] = {"n": len(turns)}
        for key, version, ranked in (("current", current, rankings[0]),
                                     ("candidate", candidate, rankings[1])):  # fmt: skip
            model = GapModel.load(self.registry.files(version)[1])
            judged = judge(turns, ranked, model, self.settings, offered, kb.answers.__contains__)
            result[key] = figures(judged) | {"version": version.name}
        return result

    def _rankings(
        self, versions: Sequence[Version], texts: Sequence[str]
    ) -> list[list[list[tuple[str, float]]]]:
        if not texts:
            return [[] for _ in versions]
        with tempfile.TemporaryDirectory(prefix="gapdesk-judge-") as tmp:
            work = Path(tmp)
            messages = write_messages(work / "held_out.jsonl",
                                      [LabelledText(t, "unknown") for t in texts])  # fmt: skip
            jobs, outs = [], []
            for version in versions:
                out = work / f"{version.name}.jsonl"
                command = rasa.nlu_predictions_command(
                    "predict", self.project.config, [self.project.nlu], out,
                    messages=messages, model=self.registry.files(version)[0].resolve(),
                )  # fmt: skip
                log = self.settings.var_path / "logs" / f"retrain-parse-{version.name}.log"
                jobs.append(rasa.run(command, f"NLU of {version.name} on held-out turns", log))
                outs.append(out)
            rasa.wait_all(jobs)
            return [[p.ranking for p in read_predictions(out)] for out in outs]


def _content(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _recorded(signals: Signals, summary: dict[str, Any]) -> dict[str, Any]:
    """What a version records of its signals: the counts and the newest one's time."""
    newest = as_utc(signals.newest).isoformat() if signals.newest else None
    return {**json.loads(json.dumps(summary)), "until": newest}
