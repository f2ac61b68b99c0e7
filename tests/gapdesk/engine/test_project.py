"""A bot's files: drafts under data/nlu/drafts/ are never trained on or hashed.

``gapdesk needs draft`` writes draft intents there for a person to review; until the
person moves one into data/nlu/, neither Rasa, the NLU cross-validation, the gap model's
examples, retraining nor the model hashes may see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gapdesk import training
from gapdesk.datasets import read_rasa_nlu
from gapdesk.engine import rasa
from gapdesk.engine.project import Project
from gapdesk.retraining import nlu_training_data

NLU = 'version: "3.1"\nnlu:\n- intent: {intent}\n  examples: |\n    - {text}\n'


def _project(root: Path) -> Project:
    project = Project(root=root)
    for folder, name, text in (
        ("data/nlu", "bank.yml", NLU.format(intent="card_arrival", text="where is my card")),
        ("data/nlu/extra", "more.yml", NLU.format(intent="top_up", text="top up my account")),
        ("data/nlu", "README.md", "not training data\n"),
        ("data/rules", "rules.yml", 'version: "3.1"\nrules: []\n'),
        ("data/stories", "stories.yml", 'version: "3.1"\nstories: []\n'),
        ("data/out_of_scope", "oos.txt", "what's the weather\n"),
        ("bot/domain", "domain.yml", 'version: "3.1"\n'),
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_text(text, encoding="utf-8")
    (root / "config.yml").write_text("pipeline: []\n", encoding="utf-8")
    (root / "bot" / "nlu_predict.py").write_text("", encoding="utf-8")
    return project


def _add_draft(project: Project) -> Path:
    drafts = project.root / project.drafts
    drafts.mkdir(parents=True, exist_ok=True)
    draft = drafts / "lost_card.yml"
    draft.write_text(NLU.format(intent="lost_card", text="i lost my card"), encoding="utf-8")
    return draft


def _what_is_trained(project: Project) -> dict[str, Any]:
    return {
        "nlu_files": project.nlu_files(),
        "rasa_hash": training.files_hash(project.rasa_inputs()),
        "crossval_hash": training.files_hash(project.crossval_inputs()),
        "examples": read_rasa_nlu(project.nlu_files()),
        "retraining_examples": nlu_training_data(project),
    }


def test_the_nlu_files_are_its_yaml_files_without_the_drafts(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _add_draft(project)
    assert project.nlu_files() == [
        tmp_path / "data/nlu/bank.yml",
        tmp_path / "data/nlu/extra/more.yml",
    ]
    assert project.drafts == Path("data/nlu/drafts")


def test_a_draft_changes_neither_what_is_trained_nor_the_hashes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    before = _what_is_trained(project)
    assert [e.label for e in before["examples"]] == ["card_arrival", "top_up"]
    draft = _add_draft(project)
    assert _what_is_trained(project) == before
    # Moved into data/nlu/ by a person, it is training data like any other.
    draft.rename(project.root / project.nlu / draft.name)
    after = _what_is_trained(project)
    assert after["rasa_hash"] != before["rasa_hash"]
    assert after["crossval_hash"] != before["crossval_hash"]
    assert "lost_card" in {e.label for e in after["examples"]}


def test_rasa_is_given_the_nlu_files_not_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    _add_draft(project)
    commands: list[list[str]] = []

    class Started:
        def __init__(self, command: list[str]) -> None:
            commands.append(command)

    monkeypatch.setattr(rasa, "rasa_python", lambda root=Path("."): Path("python"))
    monkeypatch.setattr(rasa, "run", lambda command, what, log: Started(list(command)))
    monkeypatch.setattr(rasa, "wait_all", lambda jobs: None)
    monkeypatch.setattr(
        training, "_gap_model", lambda *args: (tmp_path / "models" / "gap-x.joblib", None)
    )
    training.train(project, tmp_path / "models", tmp_path / "cache")
    train_command, crossval_command = commands
    nlu = [str(tmp_path / "data/nlu/bank.yml"), str(tmp_path / "data/nlu/extra/more.yml")]
    data = train_command[train_command.index("--data") + 1 :]
    assert data[:3] == [*nlu, "data/rules"]
    given = crossval_command[crossval_command.index("--nlu") + 1 :]
    assert given[: given.index("--out")] == nlu
    assert not any("drafts" in part for part in train_command + crossval_command)
