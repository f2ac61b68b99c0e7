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
    # Draft intents from unmet-needs topics (`gapdesk needs draft`): inside the NLU folder
    # for a person to review, never trained on or hashed until moved out of it.
    drafts: Path = Path("data/nlu/drafts")

    def _files(self, *folders: Path) -> list[Path]:
        """Every file under ``folders``, sorted, except the drafts."""
        drafts = self.root / self.drafts
        found: list[Path] = []
        for folder in folders:
            files = (p for p in (self.root / folder).rglob("*") if p.is_file())
            found.extend(sorted(p for p in files if not p.is_relative_to(drafts)))
        return found

    def nlu_files(self) -> list[Path]:
        """The NLU training data: the YAML files of the NLU folder, drafts left out.

        Rasa and the gap model are given these files rather than the folder, which
        they would read whole, drafts included.
        """
        return [p for p in self._files(self.nlu) if p.suffix in (".yml", ".yaml")]

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
