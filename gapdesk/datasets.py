"""Reading labelled customer messages and writing them as Rasa training data.

Two input shapes are understood, so that any bot's data can be used:

* a CSV file with a header, the text in a column named ``sentence``, ``text``,
  ``utterance`` or ``instruction`` and the label in ``label``, ``intent`` or ``category``
  (the first of each that the file has);
* a folder in the BANKING77-OOS / CLINC style: line-aligned ``seq.in`` (texts) and
  ``label`` (labels) files.

The writers produce the Rasa 3.x YAML the bot trains on (``data/nlu``), the matching
intent list for the domain and one rule per answerable intent. :func:`hold_out_intents`
makes a gap benchmark out of a bot's data that has no out-of-scope questions.
"""

from __future__ import annotations

import csv
import random
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from gapmodel.errors import ConfigurationError

TEXT_COLUMNS = ("sentence", "text", "utterance", "instruction")
LABEL_COLUMNS = ("label", "intent", "category")
# For --help texts: what read_labelled understands.
LABELLED_DATA_HELP = (
    f"a CSV file (text column: {', '.join(TEXT_COLUMNS)}; label column: "
    f"{', '.join(LABEL_COLUMNS)}) or a seq.in/label folder"
)
ANSWER_ACTION = "action_gap_answer"

# Rasa reads "[value](entity)" or "[value]{...}" inside an example as an entity
# annotation; we strip the markup when reading and refuse to write it by accident.
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\(([^)]*)\)|\{[^}]*\})")


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str


def read_labelled(path: Path, label_file: str = "label") -> list[LabelledText]:
    """Read labelled texts from a CSV file or a ``seq.in``/``label`` folder.

    ``label_file`` names a folder's file of labels: BANKING77-OOS keeps each id-oos
    message's hidden intent in ``label_original`` (its ``label`` says only "oos").
    """
    path = Path(path)
    if path.is_dir():
        return _read_seq_folder(path, label_file)
    if label_file != "label":
        raise ConfigurationError(f"{path}: another label file applies to seq.in folders only")
    if not path.is_file():
        raise ConfigurationError(f"no such data file or folder: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: Excel's BOM
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        text_col = next((c for c in TEXT_COLUMNS if c in columns), None)
        label_col = next((c for c in LABEL_COLUMNS if c in columns), None)
        if text_col is None or label_col is None:
            raise ConfigurationError(
                f"{path}: needs a text column ({' or '.join(TEXT_COLUMNS)}) and a label "
                f"column ({' or '.join(LABEL_COLUMNS)}); found {columns}"
            )
        rows = [
            LabelledText(_clean(row[text_col]), row[label_col].strip())
            for row in reader
            if row.get(text_col) and row.get(label_col)
        ]
    return [row for row in rows if row.text]


def _read_seq_folder(folder: Path, label_file: str) -> list[LabelledText]:
    texts_file, labels_file = folder / "seq.in", folder / label_file
    if not texts_file.is_file() or not labels_file.is_file():
        raise ConfigurationError(f"{folder}: expected the files seq.in and {label_file}")
    texts = texts_file.read_text(encoding="utf-8").splitlines()
    labels = labels_file.read_text(encoding="utf-8").splitlines()
    if len(texts) != len(labels):
        raise ConfigurationError(
            f"{folder}: seq.in has {len(texts)} lines but {label_file} has {len(labels)}"
        )
    rows = [LabelledText(_clean(t), lab.strip()) for t, lab in zip(texts, labels, strict=True)]
    return [row for row in rows if row.text and row.label]


@dataclass(frozen=True)
class HeldOutSplit:
    """A gap benchmark made from labelled data: see :func:`hold_out_intents`."""

    train: list[LabelledText]  # the kept intents' training rows
    train_out_of_scope: list[LabelledText]  # the held-out intents' training rows, as oos
    test: list[LabelledText]  # every intent's test rows, the held-out ones as oos
    held_out: list[str]


def hold_out_intents(
    rows: Sequence[LabelledText],
    share: float = 0.25,
    test_share: float = 0.3,
    seed: int = 0,
    oos_label: str = "oos",
) -> HeldOutSplit:
    """Split a bot's labelled messages as BANKING77-OOS was made from BANKING77.

    ``share`` of the intents (chosen with ``seed``) are held out: the bot never learns
    them, so their messages are on-topic questions it has no answer for, the hardest
    out-of-scope kind. Every label's rows are split into train and test (``test_share``
    of them, rounded: a label with one row is never tested); the held-out intents'
    training rows are kept apart as the bot's own out-of-scope examples, to benchmark
    with them or without. Rows already labelled ``oos_label`` count as held out. A text
    repeated in ``rows`` is kept once, under its first label (:func:`group_by_label`),
    so that no text is both learned and tested.
    """
    if not 0 < share < 1 or not 0 < test_share < 1:
        raise ConfigurationError("the held-out and test shares must be between 0 and 1")
    intents = sorted({r.label for r in rows} - {oos_label})
    rng = random.Random(seed)
    held_out = sorted(rng.sample(intents, round(share * len(intents))))
    if not held_out:
        raise ConfigurationError(
            f"{share:.0%} of {len(intents)} intents rounds to none: hold out a larger share"
        )
    if len(intents) - len(held_out) < 2:
        raise ConfigurationError(
            f"{len(intents)} intents: too few to hold out {share:.0%} and keep two or more"
        )
    out_of_scope = {oos_label, *held_out}
    split = HeldOutSplit([], [], [], held_out)
    for label, texts in group_by_label(rows).items():
        rng.shuffle(texts)
        tested = round(test_share * len(texts))
        kept_label = oos_label if label in out_of_scope else label
        split.test.extend(LabelledText(t, kept_label) for t in texts[:tested])
        training = split.train_out_of_scope if label in out_of_scope else split.train
        training.extend(LabelledText(t, kept_label) for t in texts[tested:])
    return split


def write_labelled_csv(rows: Iterable[LabelledText], path: Path) -> None:
    """``text,label`` CSV, as :func:`read_labelled` reads it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows((r.text, r.label) for r in rows)


def read_lines(path: Path) -> list[str]:
    """One message per line; blank lines and ``#`` comments are skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [_clean(line) for line in lines if line.strip() and not line.startswith("#")]


def _clean(text: str) -> str:
    return " ".join(text.split())


def strip_annotations(text: str) -> str:
    """``"freeze [4821](card_last_four)"`` -> ``"freeze 4821"``."""
    return _ANNOTATION.sub(r"\1", text)


def read_rasa_nlu(paths: Iterable[Path]) -> list[LabelledText]:
    """Read intent examples (annotations stripped) from Rasa NLU YAML files or folders."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.rglob("*.yml")) if path.is_dir() else [path])
    rows: list[LabelledText] = []
    for file in files:
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for block in document.get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    rows.append(LabelledText(strip_annotations(line[2:].strip()), block["intent"]))
    return rows


def group_by_label(rows: Iterable[LabelledText]) -> OrderedDict[str, list[str]]:
    """Group texts by label; a text already seen under any label is dropped.

    Rasa refuses the same example under two intents, and duplicates only add weight.
    """
    groups: OrderedDict[str, list[str]] = OrderedDict()
    seen: set[str] = set()
    for row in rows:
        key = row.text.lower()
        if key in seen:
            continue
        seen.add(key)
        groups.setdefault(row.label, []).append(row.text)
    return groups


def write_rasa_nlu(groups: dict[str, list[str]], path: Path, source_note: str) -> None:
    """Write intents and their examples as Rasa 3.x NLU YAML."""
    lines = [f"# {line}" for line in source_note.splitlines()]
    lines += ['version: "3.1"', "nlu:"]
    for label, texts in groups.items():
        lines += [f"- intent: {label}", "  examples: |"]
        lines += [f"    - {_neutralise_annotations(text)}" for text in texts]
    write_lines(path, lines)


def _neutralise_annotations(text: str) -> str:
    # A literal "[x](y)" in a customer's message must not become an entity label.
    return _ANNOTATION.sub(lambda m: f"({m.group(1)})", text)


def write_answer_rules(intents: Iterable[str], path: Path) -> None:
    """One rule per answerable intent: the gap-scored answer action replies."""
    lines = [
        "# Generated by `gapdesk data import-intents`: every answerable intent is",
        f"# answered by {ANSWER_ACTION}, which scores the answer before sending it.",
        'version: "3.1"',
        "rules:",
    ]
    for intent in intents:
        lines += [
            f"- rule: answer {intent}",
            "  steps:",
            f"  - intent: {intent}",
            f"  - action: {ANSWER_ACTION}",
        ]
    write_lines(path, lines)


def write_domain_intents(intents: Iterable[str], path: Path) -> None:
    """The answerable intents as a domain fragment (Rasa merges a domain folder)."""
    lines = [
        "# Generated by `gapdesk data import-intents`: the answerable intents.",
        'version: "3.1"',
        "intents:",
    ]
    lines += [f"  - {intent}" for intent in intents]
    write_lines(path, lines)


def write_lines(path: Path, lines: list[str]) -> None:
    """One line each, the folder made if need be (read back with :func:`read_lines`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
