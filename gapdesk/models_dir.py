"""Which trained models are in use: the pointer file ``models/current.json``.

The registry (:mod:`gapdesk.registry`) writes it when it promotes a version.

Kept apart from training so that reading it (``gapdesk up``, the action server) never
loads the machine-learning stack.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CURRENT_FILE = "current.json"


def current_models(models_dir: Path) -> dict[str, str]:
    """Paths of the models in use, as the last promotion recorded them."""
    pointer = models_dir / CURRENT_FILE
    if not pointer.is_file():
        return {}
    return dict(json.loads(pointer.read_text(encoding="utf-8")))


def write_current(
    models_dir: Path, rasa_model: Path, gap_model: Path, version: str | None = None
) -> dict[str, str]:
    """Point models/current.json at these models (replaced in one step: a reader never
    sees half a file)."""
    current = {"rasa_model": str(rasa_model), "gap_model": str(gap_model)}
    if version:
        current["version"] = version
    pointer = models_dir / CURRENT_FILE
    # A name of its own: two writers never swap each other's half-written files.
    handle, partial = tempfile.mkstemp(prefix=".current-", suffix=".json", dir=models_dir)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(json.dumps(current, indent=2) + "\n")
    os.chmod(partial, 0o644)  # as any file the models folder holds, not mkstemp's 0600
    os.replace(partial, pointer)
    return current


# What a version records of its gap model's own evaluation (cross-validated in training).
EVALUATION_KEYS = ("rows", "gap_rate", "cv_auroc", "nlu_cv_accuracy", "clarification_hit_rate")


@dataclass(frozen=True)
class Trained:
    """What ``train`` made: the two model files, the hashes that name them, and the gap
    model's metadata when it was fitted just now (None when it was found in the cache)."""

    rasa_model: Path
    gap_model: Path
    data_hashes: dict[str, str] = field(default_factory=dict)
    fitted: dict[str, Any] | None = None

    def evaluation(self) -> dict[str, Any]:
        """The gap model's figures, read from its file only when it was not just fitted
        (a cached pair is registered rarely; loading a gap model takes a second)."""
        metadata = self.fitted
        if metadata is None:
            from gapmodel.model import GapModel  # scikit-learn: only when needed

            metadata = GapModel.load(self.gap_model).metadata
        return {key: metadata[key] for key in EVALUATION_KEYS if metadata.get(key) is not None}
