"""Unit tests of gapdesk.training: reading predictions, and what a new gap model depends on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gapmodel
from gapdesk.datasets import LabelledText
from gapdesk.training import gap_model_code_hash, gap_model_key, read_predictions
from gapmodel.fitting import Prediction

PACKAGE = Path(gapmodel.__file__).parent


def test_read_predictions(tmp_path: Path) -> None:
    path = tmp_path / "cv.jsonl"
    path.write_text(
        json.dumps({"text": "hi", "label": "greet", "fold": 1, "ranking": [["greet", 0.9]]}) + "\n"
    )
    [row] = read_predictions(path)
    assert row == Prediction("hi", "greet", 1, [("greet", 0.9)])


def test_the_code_hash_covers_every_module_of_the_package(tmp_path: Path) -> None:
    copy = tmp_path / "gapmodel"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = gap_model_code_hash(copy)
    assert before == gap_model_code_hash(PACKAGE)
    (copy / "new_module.py").write_text("X = 1\n")  # a module no list of names knows
    added = gap_model_code_hash(copy)
    (copy / "new_module.py").rename(copy / "renamed.py")
    renamed = gap_model_code_hash(copy)
    tokenizer = next((copy / "resources").rglob("tokenizer.json"))
    tokenizer.write_bytes(tokenizer.read_bytes() + b" ")  # a resource the model fits with
    assert len({before, added, renamed, gap_model_code_hash(copy)}) == 4


def test_the_gap_model_key_follows_the_data_actually_fitted(tmp_path: Path) -> None:
    predictions = tmp_path / "cv.jsonl"
    predictions.write_text('{"text": "hi"}\n')
    kb = tmp_path / "answers.yml"
    kb.write_text("answers: {}\n")
    examples = [LabelledText("where is my card", "card_arrival")]

    def key(**changes: object) -> str:
        arguments: dict = {"code": "abc", "examples": examples, "predictions_file": predictions}
        arguments |= {"knowledge_base": [kb], "reader": "en_core_web_sm 3.8.0"} | changes
        return gap_model_key(**arguments)

    assert key() == key()
    # The same files read differently (a reader's change) give other examples: a new key.
    assert key(examples=[LabelledText("where is my card?", "card_arrival")]) != key()
    assert key(examples=[LabelledText("where is my card", "card_delivery")]) != key()
    assert key(code="abd") != key()
    assert key(reader="spacy.blank('en')") != key()
    other = tmp_path / "other.jsonl"
    other.write_text('{"text": "hello"}\n')
    assert key(predictions_file=other) != key()
