"""Unit tests of gapdesk.datasets: reading labelled texts, writing Rasa YAML, held-out splits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gapdesk.cli import main
from gapdesk.datasets import (
    LabelledText,
    group_by_label,
    hold_out_intents,
    read_labelled,
    read_rasa_nlu,
    strip_annotations,
    write_answer_rules,
    write_domain_intents,
    write_labelled_csv,
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
    csv_file = _write(tmp_path / "data.csv", "text,tag\nhello,greet\n")
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


def test_read_labelled_prefers_an_intent_column_to_a_coarser_category(tmp_path: Path) -> None:
    csv_file = _write(
        tmp_path / "shop.csv", "instruction,category,intent\nwhere is my parcel,ORDER,track_order\n"
    )
    assert read_labelled(csv_file) == [LabelledText("where is my parcel", "track_order")]


def _intents(count: int, per_intent: int) -> list[LabelledText]:
    return [
        LabelledText(f"message {i} of {n}", f"intent_{n}")
        for n in range(count)
        for i in range(per_intent)
    ]


def test_hold_out_intents_makes_their_messages_out_of_scope_everywhere() -> None:
    rows = [*_intents(8, 10), LabelledText("what's the weather", "oos")]
    split = hold_out_intents(rows, share=0.25, test_share=0.3, seed=3)
    assert len(split.held_out) == 2
    kept = {r.label for r in split.train}
    assert not kept & set(split.held_out) and "oos" not in kept and len(kept) == 6
    assert {r.label for r in split.train_out_of_scope} == {"oos"}
    assert len(split.train_out_of_scope) == 2 * 7 + 1
    assert {r.label for r in split.test} == kept | {"oos"}
    assert sum(r.label == "oos" for r in split.test) == 2 * 3
    # Every message once, none both learned and tested.
    texts = [r.text for part in (split.train, split.train_out_of_scope, split.test) for r in part]
    assert sorted(texts) == sorted(r.text for r in rows)


def test_hold_out_intents_is_repeatable_by_seed() -> None:
    rows = _intents(12, 5)
    assert hold_out_intents(rows, seed=1) == hold_out_intents(rows, seed=1)
    assert hold_out_intents(rows, seed=1).held_out != hold_out_intents(rows, seed=2).held_out


def test_hold_out_intents_keeps_a_repeated_text_once_under_its_first_label() -> None:
    rows = [*_intents(8, 10), LabelledText("MESSAGE 0 OF 0", "intent_7")]
    split = hold_out_intents(rows, seed=3)
    kept = [r for part in (split.train, split.train_out_of_scope, split.test) for r in part]
    assert len(kept) == 80
    assert not any(r.text == "MESSAGE 0 OF 0" for r in kept)


def test_hold_out_intents_refuses_to_hold_out_none_or_leave_fewer_than_two() -> None:
    with pytest.raises(ConfigurationError, match="too few"):
        hold_out_intents(_intents(2, 5), share=0.5)
    with pytest.raises(ConfigurationError, match="rounds to none"):
        hold_out_intents(_intents(27, 2), share=0.01)
    with pytest.raises(ConfigurationError, match="between 0 and 1"):
        hold_out_intents(_intents(8, 5), share=1.0)


def test_the_hold_out_command_writes_the_three_files(tmp_path: Path) -> None:
    source = tmp_path / "bot.csv"
    write_labelled_csv([*_intents(8, 10), LabelledText("tell me a joke", "none")], source)
    out = tmp_path / "split"
    assert main(["data", "hold-out", str(source), "--out", str(out), "--oos-label", "none"]) == 0
    train = read_labelled(out / "train.csv")
    out_of_scope = read_labelled(out / "train_out_of_scope.csv")
    test = read_labelled(out / "test.csv")
    assert len(train) + len(out_of_scope) + len(test) == 81
    assert {r.label for r in out_of_scope} == {"none"}
    assert "none" not in {r.label for r in train}


def test_written_splits_read_back(tmp_path: Path) -> None:
    rows = [LabelledText('a "quoted", message', "intent_a"), LabelledText("b", "oos")]
    write_labelled_csv(rows, tmp_path / "out" / "train.csv")
    assert read_labelled(tmp_path / "out" / "train.csv") == rows


def test_a_seq_folder_can_take_its_true_topics_from_another_label_file(tmp_path: Path) -> None:
    (tmp_path / "seq.in").write_text("lost my card\n\nrate for  euros\n", encoding="utf-8")
    (tmp_path / "label").write_text("oos\noos\noos\n", encoding="utf-8")
    (tmp_path / "label_original").write_text("lost_card\nx\nexchange_rate\n", encoding="utf-8")
    assert {r.label for r in read_labelled(tmp_path)} == {"oos"}
    rows = read_labelled(tmp_path, "label_original")
    assert [(r.text, r.label) for r in rows] == [
        ("lost my card", "lost_card"),
        ("rate for euros", "exchange_rate"),
    ]


def test_a_label_file_that_does_not_fit_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "seq.in").write_text("a\nb\n", encoding="utf-8")
    (tmp_path / "label_original").write_text("x\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="2 lines but label_original has 1"):
        read_labelled(tmp_path, "label_original")
    with pytest.raises(ConfigurationError, match="expected the files seq.in and topic"):
        read_labelled(tmp_path, "topic")
    data = tmp_path / "messages.csv"
    data.write_text("text,label\nhello,greet\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="seq.in folders only"):
        read_labelled(data, "label_original")
