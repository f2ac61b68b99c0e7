"""A trained gap model: the fitted featurizer and classifier, saved and loaded as one file.

A hand-made pipeline rather than a scikit-learn ``Pipeline``: the featurizer is fitted
on the bot's training examples and the classifier on cross-validated predictions, two
different data sets.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from gapmodel.classifier import GapClassifier
from gapmodel.coverage import FALLBACK, shared_reader
from gapmodel.errors import ModelNotTrainedError
from gapmodel.features import GapFeaturizer
from gapmodel.reasons import explain
from gapmodel.types import GapInput, GapScore

# The shape of a saved GapModel: bumped when older files cannot be scored by this code
# (2: the centroid and spaCy coverage features; 3: the additive spline classifier;
# 4: the LSA features; 5: the classes moved into gapmodel.model and gapmodel.classifier),
# so loading one says to retrain.
MODEL_FORMAT = 5


@dataclass
class GapModel:
    """A trained, versioned gap model: featurizer + classifier + what it was made from."""

    featurizer: GapFeaturizer
    classifier: GapClassifier
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unversioned"))

    def predict_proba(self, inputs: Sequence[GapInput]) -> np.ndarray:
        """Gap probability of each input."""
        features = self.featurizer.transform(inputs)
        return self.classifier.predict_proba(features)[:, -1]

    def warm_up(self) -> None:
        """Score once, so that what scoring prepares on first use (caches, the sentence
        encoder) is ready now and not inside the first customer's time budget."""
        self.score(GapInput("hello, where is my card?", [("greet", 0.5), ("card_arrival", 0.5)]))

    def score(self, item: GapInput, max_reasons: int = 3) -> GapScore:
        started = time.perf_counter()
        features = self.featurizer.transform([item])
        probabilities, pushes = self.classifier.explained_proba(features)
        probability = float(probabilities[0])
        reasons = explain(item, features[0], pushes[0], self.featurizer)[:max_reasons]
        latency = (time.perf_counter() - started) * 1000
        hit_rate = self.metadata.get("clarification_hit_rate")
        values = dict(zip(self.featurizer.feature_names_, map(float, features[0]), strict=True))
        return GapScore(probability, reasons, self.version, latency, item.intent, hit_rate, values)

    def save(self, path: Path) -> None:
        """Write the model to ``path`` in one step: a reader finds the old file or the
        new one, never half of one (a file written beside it, then renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.metadata["format"] = MODEL_FORMAT
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        joblib.dump(self, partial)
        os.replace(partial, path)

    @staticmethod
    def load(path: Path) -> GapModel:
        if not Path(path).is_file():
            raise ModelNotTrainedError(f"no gap model at {path}; run `gapdesk train`")
        try:
            model = joblib.load(path)
        except (ModuleNotFoundError, AttributeError, ImportError, pickle.UnpicklingError) as exc:
            # Saved by a layout whose classes are gone (or not a model file at all).
            raise ModelNotTrainedError(
                f"{path} was saved by another version of gapdesk ({exc}); run `gapdesk train`"
            ) from exc
        if not isinstance(model, GapModel):
            raise ModelNotTrainedError(f"{path} does not hold a gap model")
        if model.metadata.get("format") != MODEL_FORMAT:
            raise ModelNotTrainedError(
                f"{path} was saved by another version of gapdesk; run `gapdesk train`"
            )
        # Another spaCy pipeline (or its blank fallback) reads other lemmas: the coverage
        # features would silently mean something else than in training.
        trained_with = model.featurizer.coverage_.pipeline_
        here = shared_reader(model.featurizer.spacy_model).identity
        if trained_with != here:
            missing = here.startswith(FALLBACK) and not trained_with.startswith(FALLBACK)
            remedy = (
                f"install {model.featurizer.spacy_model} (or run `gapdesk train` to do without)"
                if missing
                else "run `gapdesk train`"
            )
            raise ModelNotTrainedError(
                f"{path} was trained reading messages with {trained_with}, but here they "
                f"are read with {here}: {remedy}"
            )
        return model
