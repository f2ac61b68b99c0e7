"""Which trained models are in use: the pointer file ``models/current.json``.

The registry (:mod:`gapdesk.registry`) writes it when it promotes a version.

Kept apart from training so that reading it (``gapdesk up``, the action server) never
loads the machine-learning stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CURRENT_FILE = "current.json"


def current_models(models_dir: Path) -> dict[str, str]:
    """Paths of the models in use, as recorded by the last training."""
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
    partial = pointer.with_suffix(".json.partial")
    partial.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    partial.replace(pointer)
    return current


@dataclass(frozen=True)
class Trained:
    """What ``train`` made: the two model files, the hashes that name them, and the gap
    model's own evaluation (cross-validated on the training data)."""

    rasa_model: Path
    gap_model: Path
    data_hashes: dict[str, str] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
