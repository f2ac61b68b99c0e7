"""The knowledge base: answers by intent, and the business they belong to."""

from __future__ import annotations

from pathlib import Path

import pytest

from gapmodel.errors import ConfigurationError
from gapmodel.knowledge import Business, KnowledgeBase


def test_the_shipped_knowledge_base_names_its_business() -> None:
    business = KnowledgeBase.load().business
    assert business.name == "Brightwater Bank"
    assert "cards" in business.topics


def test_a_business_is_optional(tmp_path: Path) -> None:
    (tmp_path / "answers.yml").write_text(
        "answers:\n  track_order:\n    title: Track an order\n    text: See Orders.\n", "utf-8"
    )
    knowledge_base = KnowledgeBase.load(tmp_path)
    assert knowledge_base.business == Business()
    assert knowledge_base.get("track_order").text == "See Orders."  # type: ignore[union-attr]


@pytest.mark.parametrize("second", ["business: Acme\n", "business:\n  name: Acme\n"])
def test_a_malformed_or_second_business_is_a_clear_error(tmp_path: Path, second: str) -> None:
    (tmp_path / "a.yml").write_text(
        "business:\n  name: Brightwater\nanswers:\n  x:\n    title: X\n    text: X.\n", "utf-8"
    )
    (tmp_path / "b.yml").write_text(second, "utf-8")
    with pytest.raises(ConfigurationError, match="b.yml: 'business' must be one mapping"):
        KnowledgeBase.load(tmp_path)
