"""``gapdesk train``: the Rasa model and the gap model, retrained only when inputs change.

Three stages, each cached by a hash of its own inputs: the Rasa model, the
cross-validated NLU predictions of the bot's own data (Rasa, in its own environment),
and the gap model fitted on them (:func:`gapmodel.fitting.fit_gap_model`) and on the
live turns ``gapdesk retrain`` wrote under ``data/live/`` (:mod:`gapdesk.retraining`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gapmodel
from gapdesk.datasets import LabelledText, read_lines, read_rasa_nlu
from gapdesk.engine import rasa
from gapdesk.engine.project import Project
from gapdesk.models_dir import Trained
from gapdesk.signals import LIVE_FILE_NAME, LiveRow, read_live_rows
from gapmodel.coverage import DEFAULT_SPACY_MODEL, shared_reader
from gapmodel.fitting import OOS_LABEL, Prediction, fit_gap_model
from gapmodel.knowledge import KnowledgeBase

logger = logging.getLogger(__name__)

# Share of intents each cross-validation fold's NLU never sees: their messages teach
# the gap model what a question without an intent looks like (see bot/nlu_predict.py).
UNKNOWN_INTENT_SHARE = 0.2


def read_predictions(path: Path) -> list[Prediction]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        ranking = [(str(name), float(conf)) for name, conf in item["ranking"]]
        rows.append(
            Prediction(
                item["text"], str(item["label"]), int(item["fold"]), ranking,
                item.get("unknown_intent"),
            )
        )  # fmt: skip
    return rows


def write_messages(path: Path, rows: Sequence[LabelledText]) -> Path:
    """Labelled messages as JSON lines, the input of ``bot/nlu_predict.py``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"text": r.text, "label": r.label}, ensure_ascii=False) for r in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def data_hash(*parts: bytes) -> str:
    """Hex SHA-256 over the parts, each hashed on its own (so their boundaries count)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def files_hash(paths: Sequence[Path]) -> str:
    """Short content hash of files (their paths included)."""
    return data_hash(*(str(p).encode() + b"\0" + p.read_bytes() for p in paths))[:12]


def gap_model_code_hash(package: Path = Path(gapmodel.__file__).parent) -> str:
    """Hash of every file of the ``gapmodel`` package (the installed one): its code and
    the resources it fits with (the sentence encoder's tokenizer).

    The whole package, not a list of file names: a module added, moved or renamed
    changes the key as surely as an edited one.
    """
    sources = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return data_hash(
        *(str(p.relative_to(package)).encode() + b"\0" + p.read_bytes() for p in sources)
    )


def gap_model_key(
    code: str,
    examples: Sequence[LabelledText],
    predictions_file: Path,
    knowledge_base: Sequence[Path],
    reader: str,
    live_rows: Sequence[LiveRow] = (),
) -> str:
    """The gap model's version: its code and the data it is actually fitted on.

    The data is what reaches :func:`fit_gap_model` (the parsed training examples, the
    cross-validated predictions, the knowledge base), so a change in how the files are
    read changes the key as well as a change in the files. The spaCy pipeline that
    reads messages is an input too: installing or upgrading it means new lemmas, so a
    new gap model (``GapModel.load`` refuses a mismatch).
    """
    texts = json.dumps([[e.text, e.label] for e in examples], ensure_ascii=False).encode()
    parts = [
        code.encode(),
        texts,
        predictions_file.read_bytes(),
        files_hash(knowledge_base).encode(),
        reader.encode(),
    ]
    if live_rows:  # the same key as before for a bot that has not learned from live turns
        live = [[r.text, r.ranking, r.is_gap, r.weight] for r in live_rows]
        parts.append(json.dumps(live, ensure_ascii=False).encode())
    return data_hash(*parts)[:12]


def train(
    project: Project,
    models_dir: Path,
    cache_dir: Path,
    folds: int = 3,
    force: bool = False,
    semantic: bool = False,
    spacy_model: str = DEFAULT_SPACY_MODEL,
) -> Trained:
    """Train what is missing for the current inputs; return what it made (or found).

    Three stages, each cached by a hash of its own inputs: the Rasa model, the
    cross-validated NLU predictions, and the gap model fitted on them. The first two
    run at the same time (one core each).
    """
    rasa_model = models_dir / f"bot-{files_hash(project.rasa_inputs())}.tar.gz"
    cv_key = f"{files_hash(project.crossval_inputs())}-{folds}-{UNKNOWN_INTENT_SHARE}"
    cv_file = cache_dir / f"crossval-{cv_key}.jsonl"
    if force:
        for path in (rasa_model, cv_file):
            path.unlink(missing_ok=True)

    started = time.monotonic()
    jobs = []
    logs = cache_dir.parent / "logs"
    if not rasa_model.is_file():
        command = rasa.train_bot_command(project, models_dir, rasa_model.name[: -len(".tar.gz")])
        jobs.append(rasa.run(command, "Rasa training", logs / "train-rasa.log"))
    if not cv_file.is_file():
        oos_texts = [t for f in sorted(project.out_of_scope.glob("*.txt")) for t in read_lines(f)]
        extra = cache_dir / "out_of_scope.jsonl"
        write_messages(extra, [LabelledText(t, OOS_LABEL) for t in oos_texts])
        command = rasa.nlu_predictions_command(
            "crossval", project.config, project.nlu_files(), cv_file,
            folds=folds, extra=extra, unknown_share=UNKNOWN_INTENT_SHARE,
        )  # fmt: skip
        jobs.append(rasa.run(command, "NLU cross-validation", logs / "train-crossval.log"))
    rasa.wait_all(jobs)

    gap_model_path, fitted = _gap_model(
        project, models_dir, cv_file, folds, force, semantic, spacy_model
    )
    if jobs:
        logger.info("training took %.0f s", time.monotonic() - started)
    gap_version = gap_model_path.name.removeprefix("gap-").removesuffix(".joblib")
    hashes = {"rasa": rasa_model.name, "crossval": cv_key, "gap": gap_version}
    return Trained(rasa_model, gap_model_path, hashes, fitted)


def _gap_model(
    project: Project,
    models_dir: Path,
    cv_file: Path,
    folds: int,
    force: bool,
    semantic: bool,
    spacy_model: str,
) -> tuple[Path, dict[str, Any] | None]:
    """The gap model for these predictions and examples, fitted unless it exists, and
    its metadata if it was fitted now."""
    examples = read_rasa_nlu(project.nlu_files())
    live_rows = read_live_rows(project.root / project.live / LIVE_FILE_NAME)
    reader = shared_reader(spacy_model).identity
    gap_version = gap_model_key(
        gap_model_code_hash(), examples, cv_file, project.knowledge_base_files(), reader,
        live_rows,
    )  # fmt: skip
    gap_version += "-semantic" if semantic else ""
    if spacy_model != DEFAULT_SPACY_MODEL:
        gap_version += f"-{spacy_model}"
    path = models_dir / f"gap-{gap_version}.joblib"
    if force or not path.is_file():
        model = fit_gap_model(
            read_predictions(cv_file),
            [e.text for e in examples],
            [e.label for e in examples],
            {"version": f"gap-{gap_version}", "training_data_hash": gap_version, "folds": folds},
            semantic,
            spacy_model,
            KnowledgeBase.load(project.root / project.knowledge_base),
            [row.as_example() for row in live_rows],
        )
        model.save(path)
        logger.info(
            "gap model %s: cv AUROC %s, NLU cv accuracy %s",
            model.version, model.metadata["cv_auroc"], model.metadata["nlu_cv_accuracy"],
        )  # fmt: skip
        return path, model.metadata
    return path, None
