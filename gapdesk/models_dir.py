"""Which trained models are in use: the pointer file ``models/current.json``.

Kept apart from training so that reading it (``gapdesk up``, the action server) never
loads the machine-learning stack.
"""

from __future__ import annotations

import json
from pathlib import Path

CURRENT_FILE = "current.json"


def current_models(models_dir: Path) -> dict[str, str]:
    """Paths of the models in use, as recorded by the last training."""
    pointer = models_dir / CURRENT_FILE
    if not pointer.is_file():
        return {}
    return dict(json.loads(pointer.read_text(encoding="utf-8")))


def record_current(models_dir: Path, rasa_model: Path, gap_model: Path) -> dict[str, str]:
    """Point models/current.json at these models and delete older ones."""
    for old in [*models_dir.glob("bot-*.tar.gz"), *models_dir.glob("gap-*.joblib")]:
        if old not in (rasa_model, gap_model):
            old.unlink()
    current = {"rasa_model": str(rasa_model), "gap_model": str(gap_model)}
    (models_dir / CURRENT_FILE).write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return current
