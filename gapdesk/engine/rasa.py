"""Running Rasa, which lives in its own environment (.venv-rasa), as subprocesses.

gapdesk never imports rasa: training and NLU predictions run ``.venv-rasa``'s Python
as a subprocess, the way Rasa runs as its own process in production.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gapdesk.engine.project import Project
from gapdesk.errors import EngineError

logger = logging.getLogger(__name__)


def rasa_python(root: Path = Path(".")) -> Path:
    python = root / ".venv-rasa" / "bin" / "python"
    if not python.exists():
        raise EngineError(f"{python} not found: run `make install` to build the Rasa environment")
    return python


# Rasa's own loggers print every customer message, its parse and the slots at DEBUG;
# at INFO python-engineio prints every socket.io packet, messages included. So Rasa's
# loggers (LOG_LEVEL) never run below INFO, nor libraries' (LOG_LEVEL_LIBRARIES) below
# WARNING, whatever the environment says. bot/log_redaction.py masks what is left.
_LOUDEST_LEVELS = {
    "LOG_LEVEL": ("INFO", logging.INFO),
    "LOG_LEVEL_LIBRARIES": ("ERROR", logging.WARNING),
}


def quiet_enough(variable: str, value: str | None) -> str:
    """The level for Rasa's ``variable``: ``value`` if it is one at least as quiet as the
    loudest allowed, else that loudest one (unset: Rasa's default)."""
    default, loudest = _LOUDEST_LEVELS[variable]
    level = logging.getLevelName((value or default).upper())
    if isinstance(level, int) and level >= loudest:
        return str(logging.getLevelName(level))
    logger.warning(
        "%s=%s is not used for Rasa: louder than %s, it would print what customers write",
        variable,
        value,
        logging.getLevelName(loudest),
    )
    return str(logging.getLevelName(loudest))


def rasa_env() -> dict[str, str]:
    """Environment for Rasa subprocesses: quiet TensorFlow, no telemetry, one BLAS thread,
    logs that never print every message."""
    env = dict(os.environ)
    env.update(
        {
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONWARNINGS": "ignore",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }
    )
    for variable in _LOUDEST_LEVELS:
        env[variable] = quiet_enough(variable, env.get(variable))
    return env


def rasa_command(args: Sequence[str], root: Path = Path("."), module: str = "rasa") -> list[str]:
    """Run Rasa's command line (or ``module``, a launcher under ``bot/``) in Rasa's env."""
    return [str(rasa_python(root)), "-m", module, *args]


@dataclass
class Job:
    """A Rasa-side process running in the background, its output going to a log file."""

    what: str
    process: subprocess.Popen[bytes]
    log_path: Path


def run(command: Sequence[str], what: str, log_path: Path, root: Path = Path(".")) -> Job:
    """Start a Rasa-side job; Rasa's chatty output goes to ``log_path``, not the terminal."""
    logger.info("%s started (log: %s)", what, log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command), cwd=root, env=rasa_env(), stdout=log, stderr=subprocess.STDOUT
        )
    return Job(what, process, log_path)


def wait(job: Job) -> None:
    """Wait for the job; on failure raise with the end of its log."""
    if job.process.wait() != 0:
        tail = job.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise EngineError(
            f"{job.what} failed (exit code {job.process.returncode}); "
            f"end of {job.log_path}:\n" + "\n".join(tail)
        )
    logger.info("%s finished", job.what)


def wait_all(jobs: Sequence[Job]) -> None:
    """Wait for every job; if one fails, stop the others before raising."""
    try:
        for job in jobs:
            wait(job)
    finally:
        for job in jobs:
            if job.process.poll() is None:
                job.process.terminate()
                job.process.wait()


def train_bot_command(project: Project, out_dir: Path, name: str) -> list[str]:
    return rasa_command(
        [
            "train",
            "--config", str(project.config),
            "--domain", str(project.domain),
            # The NLU files, not the folder: Rasa would read its drafts too.
            "--data", *map(str, project.nlu_files()), str(project.rules), str(project.stories),
            "--out", str(out_dir),
            "--fixed-model-name", name,
        ],
        project.root,
    )  # fmt: skip


def nlu_predictions_command(
    mode: str, config: Path, nlu: Sequence[Path], out: Path, **options: str | Path | float
) -> list[str]:
    """Command for ``bot/nlu_predict.py`` (crossval or predict)."""
    command = [str(rasa_python()), "-m", "bot.nlu_predict", mode, "--config", str(config)]
    command += ["--nlu", *map(str, nlu), "--out", str(out)]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    return command
