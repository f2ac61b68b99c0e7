"""The answer knowledge base: one answer per answerable intent (data/knowledge_base)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from gapmodel.errors import ConfigurationError

DEFAULT_PATH = Path("data/knowledge_base/answers.yml")


@dataclass(frozen=True)
class Answer:
    intent: str
    title: str
    text: str


class KnowledgeBase:
    """Answers by intent, read once from YAML."""

    def __init__(self, answers: dict[str, Answer], bank_name: str = "") -> None:
        self.answers = answers
        self.bank_name = bank_name

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> KnowledgeBase:
        try:
            document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"cannot read the knowledge base {path}: {exc}") from exc
        answers = {
            intent: Answer(intent, str(entry["title"]), " ".join(str(entry["text"]).split()))
            for intent, entry in (document.get("answers") or {}).items()
        }
        if not answers:
            raise ConfigurationError(f"the knowledge base {path} has no answers")
        return cls(answers, str((document.get("bank") or {}).get("name", "")))

    def get(self, intent: str | None) -> Answer | None:
        return self.answers.get(intent or "")

    def __contains__(self, intent: object) -> bool:
        return intent in self.answers

    def __len__(self) -> int:
        return len(self.answers)
