"""The layer contract: which of gapdesk's packages may import which.

    actions/, console/  ->  gapdesk/  ->  gapmodel/        bot/ (Rasa's env) imports none

Every import counts, function-local ones too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("gapmodel", "gapdesk", "actions", "console", "bot")
# The model library is plain: no storage, HTTP, web, Rasa, accounts or plotting.
INFRASTRUCTURE = ("sqlalchemy", "alembic", "httpx", "starlette", "rasa_sdk", "rasa", "argon2")
INFRASTRUCTURE += ("jwt", "matplotlib", "uvicorn", "pandas")
FORBIDDEN = {
    "gapmodel": {"gapdesk", "actions", "console", "bot", *INFRASTRUCTURE},
    "gapdesk": {"actions", "console", "bot"},
    "actions": {"console", "bot"},
    "console": {"actions", "bot"},
    "bot": {"gapmodel", "gapdesk", "actions", "console"},
}


def imported_packages(source: str) -> set[str]:
    """Top-level names of every module a source file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def violations(root: Path) -> list[str]:
    """Each forbidden import under ``root`` as 'file imports package'."""
    found = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            for name in sorted(imported_packages(path.read_text(encoding="utf-8")) & forbidden):
                found.append(f"{path.relative_to(root)} imports {name}")
    return found


def test_every_package_imports_only_the_layers_below_it() -> None:
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    ("package", "line"),
    [
        ("gapmodel", "from gapdesk.settings import Settings"),
        ("gapmodel", "    import sqlalchemy  # even inside a function"),
        ("gapdesk", "from console.app import create_app"),
        ("actions", "import console.casework"),
        ("console", "from actions.answer import ActionGapAnswer"),
        ("bot", "from gapmodel.redaction import redact"),
    ],
)
def test_a_wrong_import_is_caught(tmp_path: Path, package: str, line: str) -> None:
    (tmp_path / package).mkdir()
    body = f"def f():\n{line}\n" if line.startswith(" ") else f"{line}\n"
    (tmp_path / package / "module.py").write_text(body, encoding="utf-8")
    assert len(violations(tmp_path)) == 1


@pytest.mark.parametrize(
    "module", ["gapmodel", "gapmodel.costs", "gapmodel.decision", "gapdesk.supervisor"]
)
def test_light_modules_do_not_load_the_machine_learning_stack(module: str) -> None:
    # A fresh interpreter: this test process has long imported scikit-learn.
    check = f"import {module}, sys; assert 'sklearn' not in sys.modules, {module!r}"
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True)


def test_the_lazy_exports_of_gapmodel_are_all_there() -> None:
    import gapmodel

    for name in gapmodel.__all__:
        assert getattr(gapmodel, name) is not None
