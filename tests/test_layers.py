"""The layer contract: which of gapdesk's packages may import which.

    actions/, console/  ->  gapdesk/  ->  gapmodel/        bot/ (Rasa's env) -> gapmodel.redaction

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
INFRASTRUCTURE = ("sqlalchemy", "alembic", "psycopg2", "redis", "httpx", "requests", "aiohttp")
INFRASTRUCTURE += ("starlette", "fastapi", "sanic", "uvicorn", "rasa_sdk", "rasa", "argon2", "jwt")
INFRASTRUCTURE += ("matplotlib", "pandas", "dotenv")
FORBIDDEN = {
    "gapmodel": {"gapdesk", "actions", "console", "bot", *INFRASTRUCTURE},
    # Only bot/ runs inside Rasa's environment: nothing else may import rasa.
    "gapdesk": {"actions", "console", "bot", "rasa"},
    "actions": {"console", "bot", "rasa"},
    "console": {"actions", "bot", "rasa"},
    "bot": {"gapmodel", "gapdesk", "actions", "console"},
}
# The exceptions, by full module name. bot/ runs inside Rasa's environment (CPython
# 3.10, Rasa's pins), which has none of gapdesk's dependencies. gapmodel.redaction is
# standard library only (checked below), so Rasa can mask personal data with the very
# patterns gapdesk's database is masked with, instead of a copy that drifts apart.
ALLOWED = {"bot": {"gapmodel.redaction"}}
# Top-level folders of Python that no layer rule needs to cover.
UNLAYERED = {"tests"}


def imported_modules(source: str) -> set[str]:
    """Full names of every module a source file imports, by statement or by
    ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and _imports_by_name(node.func) and node.args:
            name = node.args[0]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                found.add(name.value)
    return found


def _imports_by_name(function: ast.expr) -> bool:
    if isinstance(function, ast.Name):
        return function.id in ("__import__", "import_module")
    return isinstance(function, ast.Attribute) and function.attr == "import_module"


def violations(root: Path) -> list[str]:
    """Each forbidden import under ``root`` as 'file imports package'."""
    found = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            modules = imported_modules(path.read_text(encoding="utf-8"))
            for name in sorted(modules - ALLOWED.get(package, set())):
                if name.split(".")[0] in forbidden:
                    found.append(f"{path.relative_to(root)} imports {name}")
    return found


def test_every_package_imports_only_the_layers_below_it() -> None:
    assert violations(ROOT) == []


def test_every_top_level_package_has_a_layer() -> None:
    # A new folder of code outside the rules could import both actions and console.
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    folders = {path.split("/")[0] for path in tracked if "/" in path}
    assert folders <= set(FORBIDDEN) | UNLAYERED


@pytest.mark.parametrize(
    ("package", "line"),
    [
        ("gapmodel", "from gapdesk.settings import Settings"),
        ("gapmodel", "    import sqlalchemy  # even inside a function"),
        ("gapdesk", "from console.app import create_app"),
        ("actions", "import console.casework"),
        ("console", "from actions.answer import ActionGapAnswer"),
        ("bot", "from gapmodel import redact"),  # gapmodel/__init__ could load anything
        ("bot", "from gapmodel.model import GapModel"),
        ("bot", "import gapdesk.settings"),
        ("gapmodel", "importlib.import_module('gapdesk.settings')"),
        ("gapmodel", "__import__('sqlalchemy')"),
        ("gapmodel", "import requests"),
        ("console", "from rasa.core.agent import Agent"),
    ],
)
def test_a_wrong_import_is_caught(tmp_path: Path, package: str, line: str) -> None:
    (tmp_path / package).mkdir()
    body = f"def f():\n{line}\n" if line.startswith(" ") else f"{line}\n"
    (tmp_path / package / "module.py").write_text(body, encoding="utf-8")
    assert len(violations(tmp_path)) == 1


@pytest.mark.parametrize(
    "line", ["from gapmodel.redaction import MASKS, redact", "import gapmodel.redaction"]
)
def test_bot_may_import_the_redaction_module(tmp_path: Path, line: str) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "module.py").write_text(f"{line}\n", encoding="utf-8")
    assert violations(tmp_path) == []


def test_redaction_imports_only_the_standard_library() -> None:
    # Rasa's environment loads it (bot/tracker_store.py, bot/log_redaction.py); importing
    # it runs gapmodel/__init__.py too, which loads its other modules only when asked.
    source = (ROOT / "gapmodel" / "redaction.py").read_text(encoding="utf-8")
    assert {name.split(".")[0] for name in imported_modules(source)} <= sys.stdlib_module_names
    check = """
import sys
before = set(sys.modules)
import gapmodel.redaction
new = set(sys.modules) - before
ours = {name for name in new if name.split(".")[0] == "gapmodel"}
assert ours == {"gapmodel", "gapmodel.redaction"}, ours
assert {name.split(".")[0] for name in new - ours} <= sys.stdlib_module_names, new
"""
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True)


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
