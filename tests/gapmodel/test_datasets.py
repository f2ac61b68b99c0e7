"""Unit tests of gapmodel.datasets: reading labelled texts, writing Rasa YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gapmodel.datasets import (
    LabelledText,
    group_by_label,
    read_labelled,
    read_rasa_nlu,
    strip_annotations,
    write_answer_rules,
    write_domain_intents,
    write_rasa_nlu,
)
from gapmodel.errors import ConfigurationError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_labelled_csv_with_text_and_category(tmp_path: Path) -> None:
    csv_file = _write(
        tmp_path / "data.csv",
        'text,category\nWhere is   my card?,card_arrival\n"Freeze it, now", freeze \n',
    )
    assert read_labelled(csv_file) == [
        LabelledText("Where is my card?", "card_arrival"),
        LabelledText("Freeze it, now", "freeze"),
    ]


def test_read_labelled_csv_with_sentence_and_label(tmp_path: Path) -> None:
    csv_file = _write(tmp_path / "data.csv", "id,sentence,label\n1,top up failed,top_up\n")
    assert read_labelled(csv_file) == [LabelledText("top up failed", "top_up")]


def test_read_labelled_csv_skips_rows_without_text_or_label(tmp_path: Path) -> None:
    csv_file = _write(tmp_path / "data.csv", "text,label\n,top_up\nhello,\n  ,x\nhi,greet\n")
    assert read_labelled(csv_file) == [LabelledText("hi", "greet")]


def test_read_labelled_seq_folder(tmp_path: Path) -> None:
    _write(tmp_path / "seq.in", "where is my card\nexchange rate please\n")
    _write(tmp_path / "label", "card_arrival\nexchange_rate\n")
    assert read_labelled(tmp_path) == [
        LabelledText("where is my card", "card_arrival"),
        LabelledText("exchange rate please", "exchange_rate"),
    ]


def test_read_labelled_seq_folder_with_mismatched_lines_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "seq.in", "one\ntwo\nthree\n")
    _write(tmp_path / "label", "a\nb\n")
    with pytest.raises(ConfigurationError, match="3 lines"):
        read_labelled(tmp_path)


def test_read_labelled_csv_without_label_column_is_an_error(tmp_path: Path) -> None:
    csv_file = _write(tmp_path / "data.csv", "text,intent\nhello,greet\n")
    with pytest.raises(ConfigurationError, match="label"):
        read_labelled(csv_file)


def test_read_labelled_csv_without_text_column_is_an_error(tmp_path: Path) -> None:
    csv_file = _write(tmp_path / "data.csv", "message,label\nhello,greet\n")
    with pytest.raises(ConfigurationError, match="text"):
        read_labelled(csv_file)


def test_read_labelled_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        read_labelled(tmp_path / "absent.csv")


def test_group_by_label_drops_duplicates_across_labels_ignoring_case() -> None:
    rows = [
        LabelledText("Lost card", "lost"),
        LabelledText("lost CARD", "stolen"),
        LabelledText("card stolen", "stolen"),
        LabelledText("LOST card", "lost"),
    ]
    assert group_by_label(rows) == {"lost": ["Lost card"], "stolen": ["card stolen"]}


def test_group_by_label_keeps_first_seen_label_order() -> None:
    rows = [LabelledText("b1", "b"), LabelledText("a1", "a"), LabelledText("b2", "b")]
    assert list(group_by_label(rows)) == ["b", "a"]


def test_rasa_nlu_round_trips_texts_and_labels(tmp_path: Path) -> None:
    groups = {"card_arrival": ["where is my card?", "card not here"], "top_up": ["top up: failed"]}
    path = tmp_path / "nlu" / "imported.yml"
    write_rasa_nlu(groups, path, "imported\nfrom a test")
    assert read_rasa_nlu([tmp_path / "nlu"]) == [
        LabelledText("where is my card?", "card_arrival"),
        LabelledText("card not here", "card_arrival"),
        LabelledText("top up: failed", "top_up"),
    ]


def test_rasa_nlu_file_is_valid_yaml_with_source_note_as_comment(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    write_rasa_nlu({"greet": ["hi"]}, path, "made by a test")
    assert path.read_text(encoding="utf-8").startswith("# made by a test\n")
    assert [block["intent"] for block in yaml.safe_load(path.read_text())["nlu"]] == ["greet"]


def test_written_brackets_do_not_become_an_entity_annotation(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    write_rasa_nlu({"other": ["see [x](y) here"]}, path, "note")
    written = path.read_text(encoding="utf-8")
    assert "[x](y)" not in written
    (row,) = read_rasa_nlu([path])
    assert row.text == strip_annotations(row.text)
    assert "x" in row.text


def test_strip_annotations_keeps_the_annotated_value() -> None:
    assert strip_annotations("freeze [4821](card_last_four) now") == "freeze 4821 now"


def test_strip_annotations_handles_the_dict_form() -> None:
    text = 'pay [10]{"entity": "amount"} to [Ann](person)'
    assert strip_annotations(text) == "pay 10 to Ann"


def test_strip_annotations_leaves_plain_text_alone() -> None:
    assert strip_annotations("brackets [alone] and (alone)") == "brackets [alone] and (alone)"


def test_answer_rules_are_yaml_with_one_rule_per_intent(tmp_path: Path) -> None:
    path = tmp_path / "rules" / "answers.yml"
    write_answer_rules(["card_arrival", "top_up"], path)
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]
    assert [rule["steps"][0]["intent"] for rule in rules] == ["card_arrival", "top_up"]
    assert len({rule["steps"][1]["action"] for rule in rules}) == 1


def test_domain_intents_are_yaml_listing_the_intents(tmp_path: Path) -> None:
    path = tmp_path / "domain" / "intents.yml"
    write_domain_intents(["card_arrival", "top_up"], path)
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["intents"] == [
        "card_arrival",
        "top_up",
    ]
