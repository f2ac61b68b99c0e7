"""Unit tests of gapdesk.registry: versions, promotion, rollback, pruning (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from gapdesk.errors import RegistryError
from gapdesk.models_dir import Trained, current_models
from gapdesk.registry import Registry, VersionStatus, publish_trained
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import AuditEvent
from gapdesk.storage.store import Store, make_engine
from gapmodel.classifier import GapClassifier
from gapmodel.features import GapFeaturizer
from gapmodel.model import GapModel
from gapmodel.types import GapInput

TRAIN = [
    ("my card has not arrived yet", "card_arrival"),
    ("where is my new card", "card_arrival"),
    ("how do I top up by bank transfer", "top_up"),
    ("add money to my account", "top_up"),
]
PROBES = [
    GapInput("my card still has not come", [("card_arrival", 0.8), ("top_up", 0.2)]),
    GapInput("what is the weather like", [("top_up", 0.4), ("card_arrival", 0.35)]),
]


@pytest.fixture
def registry(database_url: str, tmp_path: Path) -> Registry:
    upgrade(database_url)
    models = tmp_path / "models"
    models.mkdir()
    return Registry(Store(make_engine(database_url)), models)


def _pair(registry: Registry, name: str, seed: int = 0) -> tuple[Path, Path]:
    """A Rasa model file (any bytes) and a real, small gap model, under the models folder."""
    rasa = registry.models_dir / f"bot-{name}.tar.gz"
    rasa.write_bytes(name.encode())
    featurizer = GapFeaturizer().fit([t for t, _ in TRAIN], [label for _, label in TRAIN])
    rng = np.random.default_rng(seed)
    inputs = [GapInput(t, [(label, float(rng.uniform(0.3, 1)))]) for t, label in TRAIN] * 6
    gaps = rng.integers(0, 2, len(inputs))
    gaps[:2] = [0, 1]
    classifier = GapClassifier().fit(featurizer.transform(inputs), gaps)
    gap = registry.models_dir / f"gap-{name}.joblib"
    GapModel(featurizer, classifier, {"version": f"gap-{name}"}).save(gap)
    return rasa, gap


def _scores(path: Path) -> list[float]:
    return [float(p) for p in GapModel.load(path).predict_proba(PROBES)]


def test_versions_are_numbered_and_promotion_moves_the_pointer(registry: Registry) -> None:
    first = registry.register(*_pair(registry, "a"), "train")
    second = registry.register(*_pair(registry, "b"), "retrain", parent=first.name)
    assert (first.name, second.name) == ("v1", "v2")
    assert registry.current() is None and first.status == VersionStatus.CANDIDATE

    registry.promote("v1")
    registry.promote("v2")
    assert registry.current() == registry.get("v2")
    assert [v.current for v in registry.versions()] == [True, False]
    pointer = current_models(registry.models_dir)
    assert pointer["version"] == "v2" and pointer["gap_model"].endswith("gap-b.joblib")


def test_rollback_restores_the_previous_versions_exact_scores(registry: Registry) -> None:
    registry.promote(registry.register(*_pair(registry, "a", seed=1), "train").name)
    before = _scores(Path(current_models(registry.models_dir)["gap_model"]))
    registry.promote(registry.register(*_pair(registry, "b", seed=2), "retrain").name)
    assert _scores(Path(current_models(registry.models_dir)["gap_model"])) != before

    restored = registry.rollback()
    assert restored.name == "v1" and registry.get("v2").status == VersionStatus.ROLLED_BACK
    assert _scores(Path(current_models(registry.models_dir)["gap_model"])) == before
    with pytest.raises(RegistryError, match="only version ever served"):
        registry.rollback()  # v2 was rolled back: it is not an earlier version of v1


def test_a_version_whose_files_are_missing_is_refused_with_what_to_do(
    registry: Registry,
) -> None:
    registry.promote(registry.register(*_pair(registry, "a"), "train").name)
    rasa, gap = _pair(registry, "b")
    registry.register(rasa, gap, "retrain")
    gap.unlink()
    with pytest.raises(RegistryError, match=r"v2 cannot serve: .*gap-b.joblib.*gapdesk train"):
        registry.promote("v2")
    assert registry.current().name == "v1"  # type: ignore[union-attr]
    assert current_models(registry.models_dir)["version"] == "v1"


def test_an_unknown_version_is_an_error_naming_it(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="no model version 'v9'"):
        registry.promote("v9")


def test_pruning_keeps_the_newest_the_current_and_the_pinned(registry: Registry) -> None:
    for name in "abcde":
        registry.register(*_pair(registry, name), "train")
    registry.promote("v1")
    registry.pin("v2")
    unregistered = registry.models_dir / "gap-a-candidate-being-trained.joblib"
    unregistered.write_bytes(b"not yet registered")

    assert registry.prune(keep=2) == ["v3"]
    assert {v.name for v in registry.versions() if v.status == VersionStatus.PRUNED} == {"v3"}
    assert sorted(p.name for p in registry.models_dir.glob("gap-*")) == [
        "gap-a-candidate-being-trained.joblib",
        "gap-a.joblib", "gap-b.joblib", "gap-d.joblib", "gap-e.joblib",
    ]  # fmt: skip


def test_refused_candidates_never_push_out_the_version_a_rollback_needs(
    registry: Registry,
) -> None:
    registry.promote(registry.register(*_pair(registry, "a"), "train").name)
    for name in "bcd":  # three refused retrains in a row, as a nightly cron may make
        registry.refuse(registry.register(*_pair(registry, name), "retrain").name, "worse")
    registry.promote(registry.register(*_pair(registry, "e"), "retrain").name)

    assert registry.prune(keep=3) == ["v4", "v3", "v2"]  # the refused ones
    assert registry.prune(keep=3) == []  # nothing left to delete
    assert {registry.get(name).status for name in ("v2", "v3", "v4")} == {"refused"}
    assert registry.rollback().name == "v1"
    assert sorted(p.name for p in registry.models_dir.glob("gap-*")) == [
        "gap-a.joblib", "gap-e.joblib",
    ]  # fmt: skip


def test_a_refused_version_keeps_its_reason_and_never_serves(registry: Registry) -> None:
    registry.promote(registry.register(*_pair(registry, "a"), "train").name)
    registry.register(*_pair(registry, "b"), "retrain")
    refused = registry.refuse("v2", "gap AUROC 0.71 < 0.80 of v1")
    assert refused.status == VersionStatus.REFUSED and refused.reason.startswith("gap AUROC")
    assert registry.current().name == "v1"  # type: ignore[union-attr]


def test_every_change_of_the_serving_version_is_in_the_audit_log(registry: Registry) -> None:
    registry.promote(registry.register(*_pair(registry, "a"), "train").name)
    registry.promote(registry.register(*_pair(registry, "b"), "train").name)
    registry.rollback(actor="ada")
    with registry.store.session() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        logged = [(e.actor, e.action, e.detail.get("version")) for e in events]
    assert logged == [
        ("gapdesk", "promote_model", "v1"),
        ("gapdesk", "promote_model", "v2"),
        ("ada", "promote_model", "v1"),
    ]


def test_training_again_on_the_same_inputs_changes_nothing(registry: Registry) -> None:
    rasa_a, gap_a = _pair(registry, "a")
    rasa_b, gap_b = _pair(registry, "b")
    store, models = registry.store, registry.models_dir
    first, new = publish_trained(store, models, Trained(rasa_a, gap_a, {"gap": "a"}), keep=3)
    assert new and first.current and first.data_hashes == {"gap": "a"}
    second, new = publish_trained(store, models, Trained(rasa_b, gap_b), keep=3)
    assert new and second.parent == "v1"
    registry.rollback()

    again, new = publish_trained(store, models, Trained(rasa_b, gap_b), keep=3)
    assert not new and again.name == "v2" and not again.current  # the rollback holds
    assert [v.name for v in registry.versions()] == ["v2", "v1"]
    assert json.loads((models / "current.json").read_text())["version"] == "v1"


def test_two_promotions_at_once_leave_exactly_one_current_version(registry: Registry) -> None:
    for name in "abc":
        registry.register(*_pair(registry, name), "train")
    registry.promote("v1")
    start = threading.Barrier(2)
    errors: list[Exception] = []

    def promote(name: str) -> None:
        start.wait()
        try:
            registry.promote(name)
        except Exception as exc:  # a promotion that lost is allowed to fail cleanly
            errors.append(exc)

    threads = [threading.Thread(target=promote, args=(n,)) for n in ("v2", "v3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    current = [v.name for v in registry.versions() if v.current]
    assert len(current) == 1 and current[0] in ("v2", "v3"), (current, errors)
    assert current_models(registry.models_dir)["version"] in ("v2", "v3")


def test_training_after_the_models_folder_was_emptied_serves_the_new_files(
    registry: Registry,
) -> None:
    # make clean deletes models/ but keeps the database: the current version's files
    # are gone, and the retrained pair (same inputs, same names) must serve again.
    store, models = registry.store, registry.models_dir
    publish_trained(store, models, Trained(*_pair(registry, "a")), keep=3)
    publish_trained(store, models, Trained(*_pair(registry, "b")), keep=3)
    registry.rollback()  # v1 serves; v2 is rolled back
    for path in models.iterdir():
        path.unlink()
    version, new = publish_trained(store, models, Trained(*_pair(registry, "b")), keep=3)
    assert not new and version.name == "v2" and version.current
    assert current_models(models)["version"] == "v2"


def test_a_version_records_the_gap_models_figures_without_reloading_a_fresh_model(
    registry: Registry, tmp_path: Path
) -> None:
    fitted = {"cv_auroc": 0.93, "rows": 12, "gap_rate": None, "version": "gap-x"}
    unread = Trained(tmp_path / "no-such.tar.gz", tmp_path / "no-such.joblib", fitted=fitted)
    assert unread.evaluation() == {"cv_auroc": 0.93, "rows": 12}  # the file is never read
    rasa, gap = _pair(registry, "a")
    model = GapModel.load(gap)
    model.metadata["cv_auroc"] = 0.81
    model.save(gap)
    assert Trained(rasa, gap).evaluation() == {"cv_auroc": 0.81}  # a cached pair: read


def test_the_pointer_file_is_readable_like_the_models_beside_it(registry: Registry) -> None:
    registry.promote(registry.register(*_pair(registry, "a"), "train").name)
    assert (registry.models_dir / "current.json").stat().st_mode & 0o777 == 0o644
