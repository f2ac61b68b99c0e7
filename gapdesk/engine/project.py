"""Where a bot's Rasa files are, and which of them each trained model depends on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    """Where a bot's Rasa files are, relative to the repository root."""

    root: Path = Path(".")
    config: Path = Path("config.yml")
    domain: Path = Path("bot/domain")
    nlu: Path = Path("data/nlu")
    rules: Path = Path("data/rules")
    stories: Path = Path("data/stories")
    knowledge_base: Path = Path("data/knowledge_base")
    out_of_scope: Path = Path("data/out_of_scope")
    live: Path = Path("data/live")  # live turns the gap model trains on (gapdesk retrain)

    def _files(self, *folders: Path) -> list[Path]:
        found: list[Path] = []
        for folder in folders:
            found.extend(sorted(p for p in (self.root / folder).rglob("*") if p.is_file()))
        return found

    def rasa_inputs(self) -> list[Path]:
        """Files whose change means a new Rasa model."""
        return [
            self.root / self.config,
            *self._files(self.domain, self.nlu, self.rules, self.stories),
            *sorted((self.root / "bot").glob("*.py")),
        ]

    def crossval_inputs(self) -> list[Path]:
        """Files whose change means new cross-validated NLU predictions."""
        return [
            self.root / self.config,
            *self._files(self.nlu, self.out_of_scope),
            self.root / "bot" / "nlu_predict.py",
        ]

    def knowledge_base_files(self) -> list[Path]:
        """The answers and what a clarification offers: data the gap model is fitted on."""
        return self._files(self.knowledge_base)
