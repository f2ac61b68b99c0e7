"""The answer knowledge base: one answer per answerable intent (data/knowledge_base).

Every ``*.yml`` file in the folder contributes answers; a file with
``offer_in_clarification: false`` (small talk) is answered but never offered as a
"did you mean" option. An answer with ``start_flow`` hands over to that Rasa form.
One file may describe the business (``business: {name, topics}``): the name the
widget shows and the topics the bot says it can help with when it has no answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from gapmodel.errors import ConfigurationError

DEFAULT_PATH = Path("data/knowledge_base")
# Topics a clarification offers (besides "Talk to a person").
CLARIFICATION_OPTIONS = 3


@dataclass(frozen=True)
class Answer:
    intent: str
    title: str
    text: str
    offer_in_clarification: bool = True
    start_flow: str | None = None  # a form that takes over after this answer


@dataclass(frozen=True)
class Business:
    name: str = ""
    topics: str = ""  # "your cards, top-ups, transfers, payments and account"


class KnowledgeBase:
    """Answers by intent, read once from YAML."""

    def __init__(self, answers: dict[str, Answer], business: Business = Business()) -> None:
        self.answers = answers
        self.business = business

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> KnowledgeBase:
        """Answers from a YAML file, or from every YAML file in a folder."""
        path = Path(path)
        files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
        answers: dict[str, Answer] = {}
        business = Business()
        for file in files:
            try:
                document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ConfigurationError(f"cannot read the knowledge base {file}: {exc}") from exc
            if "business" in document:
                about = document["business"]
                if not isinstance(about, dict) or business != Business():
                    raise ConfigurationError(
                        f"{file}: 'business' must be one mapping (name, topics), in one file"
                    )
                business = Business(str(about.get("name", "")), str(about.get("topics", "")))
            offer = bool(document.get("offer_in_clarification", True))
            for intent, entry in (document.get("answers") or {}).items():
                text = " ".join(str(entry["text"]).split())
                answers[intent] = Answer(
                    intent, str(entry["title"]), text, offer, entry.get("start_flow")
                )
        if not answers:
            raise ConfigurationError(f"the knowledge base {path} has no answers")
        return cls(answers, business)

    def get(self, intent: str | None) -> Answer | None:
        return self.answers.get(intent or "")

    def __contains__(self, intent: object) -> bool:
        return intent in self.answers

    def clarification_options(self, ranking: Sequence[tuple[str, float]]) -> list[Answer]:
        """The topics a clarification offers: the likeliest intents of the ranking that
        have an answer which may be offered (the action asks with these; training
        measures how often they include the right topic)."""
        answers = [self.answers.get(intent) for intent, _ in ranking]
        offerable = [a for a in answers if a is not None and a.offer_in_clarification]
        return offerable[:CLARIFICATION_OPTIONS]
