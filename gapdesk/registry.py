"""The model registry: every trained pair of models as a version, and which one serves.

A version is the Rasa model and the gap model trained together, with its parent, what
triggered it, hashes of its training data, counts of its training signals and its
evaluation. Versions live in gapdesk's database, so every process sees the same current
one; their files stay under the models folder (the newest ``keep``, the current and the
pinned ones) so that a rollback is instant and exact.

``models/current.json`` (:mod:`gapdesk.models_dir`) is written on every promotion: it
is what ``gapdesk up`` starts Rasa with and what the action server loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gapdesk.errors import RegistryError, StorageError
from gapdesk.models_dir import Trained, write_current
from gapdesk.storage.models import AuditEvent, ModelVersion, as_utc, utcnow
from gapdesk.storage.store import Store

ACTOR = "gapdesk"  # in the audit log, for what the command line does


class VersionStatus(StrEnum):
    CANDIDATE = "candidate"  # trained, not (yet) judged
    PROMOTED = "promoted"  # served now or before
    REFUSED = "refused"  # judged worse than the version it would replace (see reason)
    ROLLED_BACK = "rolled_back"  # served, then replaced by its predecessor
    PRUNED = "pruned"  # its files were deleted to save space


_TIMES = ("created_at", "promoted_at")


@dataclass(frozen=True)
class Version:
    """One registry entry, detached from the database session."""

    name: str
    parent: str | None
    created_at: datetime
    trigger: str
    status: str
    current: bool
    promoted_at: datetime | None
    pinned: bool
    rasa_model: str
    gap_model: str
    data_hashes: dict[str, Any]
    signal_counts: dict[str, Any]
    evaluation: dict[str, Any]
    reason: str | None

    @classmethod
    def of(cls, row: ModelVersion) -> Version:
        values = {name: getattr(row, name) for name in cls.__dataclass_fields__}
        for name in _TIMES:  # SQLite gives naive UTC times
            if values[name] is not None:
                values[name] = as_utc(values[name])
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in _TIMES:
            if values[name] is not None:
                values[name] = values[name].isoformat(timespec="seconds")
        return values


class Registry:
    """The versions in ``store``, their files in ``models_dir``."""

    def __init__(self, store: Store, models_dir: Path) -> None:
        self.store = store
        self.models_dir = Path(models_dir)

    # -- reading ---------------------------------------------------------------------

    def versions(self) -> list[Version]:
        """Every version, newest first."""
        with self.store.session() as session:
            versions = [Version.of(row) for row in session.scalars(select(ModelVersion))]
        return sorted(versions, key=lambda v: (v.created_at, _number(v.name)), reverse=True)

    def get(self, name: str) -> Version:
        with self.store.session() as session:
            return Version.of(_row(session, name))

    def current(self) -> Version | None:
        with self.store.session() as session:
            row = session.scalar(select(ModelVersion).where(ModelVersion.current.is_(True)))
            return Version.of(row) if row else None

    def find(self, rasa_model: Path, gap_model: Path) -> Version | None:
        """The version made of exactly these files, if one is registered."""
        with self.store.session() as session:
            row = session.scalar(
                select(ModelVersion).where(
                    ModelVersion.rasa_model == self._relative(rasa_model),
                    ModelVersion.gap_model == self._relative(gap_model),
                )
            )
            return Version.of(row) if row else None

    def files(self, version: Version) -> tuple[Path, Path]:
        """The Rasa model and gap model files of ``version``."""
        return self.models_dir / version.rasa_model, self.models_dir / version.gap_model

    def missing_files(self, version: Version) -> list[Path]:
        return [path for path in self.files(version) if not path.is_file()]

    # -- writing ---------------------------------------------------------------------

    def register(
        self,
        rasa_model: Path,
        gap_model: Path,
        trigger: str,
        *,
        parent: str | None = None,
        data_hashes: dict[str, Any] | None = None,
        evaluation: dict[str, Any] | None = None,
    ) -> Version:
        """A new candidate version of these two files (named v1, v2, ...)."""
        for attempt in range(5):  # another process may take the same number meanwhile
            try:
                with self.store.session() as session:
                    names = session.scalars(select(ModelVersion.name)).all()
                    row = ModelVersion(
                        name=f"v{1 + max(map(_number, names), default=0)}",
                        parent=parent,
                        created_at=utcnow(),
                        trigger=trigger,
                        status=VersionStatus.CANDIDATE,
                        current=False,
                        pinned=False,
                        rasa_model=self._relative(rasa_model),
                        gap_model=self._relative(gap_model),
                        data_hashes=data_hashes or {},
                        evaluation=evaluation or {},
                    )
                    session.add(row)
                    session.flush()
                    return Version.of(row)
            except StorageError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def promote(
        self, name: str, actor: str = ACTOR, why: str = "", retire: str | None = None
    ) -> Version:
        """Make ``name`` the current version; refused while any of its files is missing.

        ``retire`` (the version a rollback leaves) is marked rolled back in the same
        transaction. Promotions are serialised: the rows are locked first (PostgreSQL;
        SQLite has one writer at a time), and a unique index allows one current row.
        """
        version = self.get(name)
        missing = self.missing_files(version)
        if missing:
            raise RegistryError(
                f"model version {name} cannot serve: {', '.join(map(str, missing))} "
                "not found (pruned or moved); promote another version "
                "(`gapdesk models list`) or run `gapdesk train`"
            )
        with self.store.session() as session:
            rows = session.scalars(select(ModelVersion).with_for_update()).all()
            previous = next((r.name for r in rows if r.current), None)
            session.execute(
                update(ModelVersion).where(ModelVersion.current.is_(True)).values(current=False)
            )
            session.flush()  # the unique index sees no current row before the new one
            row = _row(session, name)
            row.current, row.status, row.promoted_at = True, VersionStatus.PROMOTED, utcnow()
            if retire is not None:
                retired = session.get(ModelVersion, retire)
                if retired is not None:
                    retired.status = VersionStatus.ROLLED_BACK
            _audit(session, actor, "promote_model", version=name, previous=previous, why=why)
            session.flush()
            promoted = Version.of(row)
        write_current(self.models_dir, *self.files(promoted), version=promoted.name)
        return promoted

    def refuse(self, name: str, reason: str, actor: str = ACTOR) -> Version:
        """Keep ``name`` as a refused version, with the reason."""
        with self.store.session() as session:
            row = _row(session, name)
            row.status, row.reason = VersionStatus.REFUSED, reason
            _audit(session, actor, "refuse_model", version=name, reason=reason)
            session.flush()
            return Version.of(row)

    def rollback(self, actor: str = ACTOR) -> Version:
        """Serve again the version that served before the current one."""
        current = self.current()
        if current is None:
            raise RegistryError("no current model version to roll back from")
        earlier = [
            (v.promoted_at, v)
            for v in self.versions()
            if v.status == VersionStatus.PROMOTED and not v.current and v.promoted_at
        ]
        if not earlier:
            raise RegistryError(f"{current.name} is the only version ever served")
        target = max(earlier, key=lambda pair: pair[0])[1]
        why = f"rollback from {current.name}"
        return self.promote(target.name, actor, why=why, retire=current.name)

    def record_signals(self, name: str, counts: dict[str, Any]) -> Version:
        """What ``name`` learned from: counts by signal and the newest signal's time."""
        with self.store.session() as session:
            row = _row(session, name)
            row.signal_counts = counts
            session.flush()
            return Version.of(row)

    def record_evaluation(self, name: str, figures: dict[str, Any]) -> Version:
        """Add ``figures`` to the evaluation ``name`` recorded when it was registered."""
        with self.store.session() as session:
            row = _row(session, name)
            row.evaluation = {**(row.evaluation or {}), **figures}
            session.flush()
            return Version.of(row)

    def audit(self, action: str, actor: str = ACTOR, **detail: Any) -> None:
        """An entry in the audit log (what retraining decided that is not a promotion)."""
        with self.store.session() as session:
            _audit(session, actor, action, **detail)

    def pin(self, name: str, pinned: bool = True) -> Version:
        """A pinned version keeps its files whatever ``prune`` keeps."""
        with self.store.session() as session:
            row = _row(session, name)
            row.pinned = pinned
            session.flush()
            return Version.of(row)

    def prune(self, keep: int) -> list[str]:
        """Delete the files of versions no longer worth keeping; returns their names.

        Kept: the current and pinned versions, the newest ``keep`` versions that served
        (what a rollback goes back to: refused candidates never push one out), and the
        newest ``keep`` candidates not yet promoted. Refused versions lose their files
        but stay "refused", with their reason.
        A file a kept version shares stays; files no version names are left alone (a
        candidate may be being trained).
        """
        versions = self.versions()
        served = [v for v in versions if v.promoted_at is not None]
        waiting = [v for v in versions if v.status == VersionStatus.CANDIDATE and v not in served]
        kept = [
            *served[:keep],
            *waiting[:keep],
            *(v for v in versions if v.current or v.pinned),
        ]
        needed = {path.resolve() for v in kept for path in self.files(v)}
        pruned = []
        for version in versions:
            if version in kept or version.status == VersionStatus.PRUNED:
                continue
            files = self.files(version)
            if version.status == VersionStatus.REFUSED and not any(p.exists() for p in files):
                continue  # pruned before; it stays "refused", with its reason
            for path in files:
                if path.resolve() not in needed:
                    path.unlink(missing_ok=True)
            pruned.append(version.name)
        with self.store.session() as session:
            session.execute(
                update(ModelVersion)
                .where(ModelVersion.name.in_(pruned))
                .where(ModelVersion.status != VersionStatus.REFUSED)
                .values(status=VersionStatus.PRUNED)
            )
        return pruned

    def _relative(self, path: Path) -> str:
        path = Path(path)
        try:
            return str(path.resolve().relative_to(self.models_dir.resolve()))
        except ValueError:
            return str(path)  # outside the folder: kept as given


_NUMBERED = re.compile(r"^v(\d+)$")


def _number(name: str) -> int:
    match = _NUMBERED.match(name)
    return int(match[1]) if match else 0


def _row(session: Session, name: str) -> ModelVersion:
    row = session.get(ModelVersion, name)
    if row is None:
        raise RegistryError(f"no model version {name!r}: `gapdesk models list` shows them")
    return row


def _audit(session: Session, actor: str, action: str, **detail: Any) -> None:
    session.add(AuditEvent(actor=actor, action=action, detail=detail))


def publish_trained(
    store: Store, models_dir: Path, trained: Trained, keep: int, trigger: str = "train"
) -> tuple[Version, bool]:
    """Register and promote a pair ``gapdesk train`` made for the first time.

    A pair registered before is left as it is (whether or not it serves): training
    again on the same inputs must not undo a rollback, unless the current version
    cannot serve (its files are gone). Returns the version and whether it is new.
    Without a promotion the pointer file is rewritten for the current version (it may
    have been deleted); old versions are pruned either way.
    """
    registry = Registry(store, models_dir)
    version = registry.find(trained.rasa_model, trained.gap_model)
    current = registry.current()
    new = version is None
    if version is None:
        version = registry.register(
            trained.rasa_model,
            trained.gap_model,
            trigger,
            parent=current.name if current else None,
            data_hashes=trained.data_hashes,
            evaluation=trained.evaluation(),
        )
        version = registry.promote(version.name, why=f"gapdesk {trigger}")
    elif current is None or registry.missing_files(current):
        # Nothing can serve (the models folder was emptied, or the registry is new):
        # the pair just trained does, whatever became of it before.
        version = registry.promote(version.name, why=f"gapdesk {trigger}: nothing could serve")
    else:
        write_current(models_dir, *registry.files(current), version=current.name)
    registry.prune(keep)
    return (registry.get(version.name), new)
