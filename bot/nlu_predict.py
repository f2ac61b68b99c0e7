"""NLU predictions for training the gap model, computed inside the Rasa environment.

The gap model learns from the NLU's own mistakes, so it needs the intent ranking Rasa
gives on messages the NLU did not train on. This script (run with .venv-rasa's
Python; gapdesk's library never imports rasa) writes one JSON line per message:
``{"text", "label", "fold", "ranking": [[intent, confidence], ...]}``.

    crossval: k-fold over the training NLU data; each fold's messages are parsed by
              an NLU model trained on the other folds.
    predict:  train once on the training NLU data (or load --model) and parse the
              messages of a labelled JSONL file ({"text", "label"} per line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger("gapdesk.nlu_predict")


def _load_nlu(paths: list[str]):  # -> TrainingData
    from rasa.shared.nlu.training_data.loading import load_data

    first, *rest = [load_data(path) for path in paths]
    return first.merge(*rest)


def _stratified_folds(labels: list[str], folds: int, seed: int) -> list[int]:
    """Fold number per example, each intent spread evenly over the folds."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    assignment = [0] * len(labels)
    for indices in by_label.values():
        rng.shuffle(indices)
        for position, index in enumerate(indices):
            assignment[index] = position % folds
    return assignment


def _train(config: str, training_data, workdir: Path, name: str) -> str:
    from rasa.model_training import train_nlu

    data_file = workdir / f"{name}.yml"
    data_file.write_text(training_data.nlu_as_yaml(), encoding="utf-8")
    started = time.monotonic()
    model = train_nlu(config, str(data_file), str(workdir), fixed_model_name=name)
    if model is None:
        raise SystemExit(f"NLU training failed for {name}")
    logger.info("trained %s in %.0f s", name, time.monotonic() - started)
    return model


async def _parse_all(model_path: str, texts: Iterable[str]) -> list[list[list]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    rankings = []
    for text in texts:
        parsed = await agent.parse_message(text)
        ranking = parsed.get("intent_ranking") or [parsed.get("intent") or {}]
        rankings.append(
            [[item.get("name"), float(item.get("confidence") or 0.0)] for item in ranking]
        )
    return rankings


def _write(out: Path, rows: list[dict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out)


def _read_messages(path: Path | None) -> list[dict]:
    if path is None:
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _unknown_intents(labels: list[str], folds: int, share: float, seed: int) -> list[set]:
    """For each fold, a disjoint set of intents (``share`` of them) its model never sees."""
    intents = sorted(set(labels))
    random.Random(seed + 1).shuffle(intents)
    per_fold = min(int(round(share * len(intents))), len(intents) // folds)
    return [set(intents[f * per_fold : (f + 1) * per_fold]) for f in range(folds)]


def crossval(
    config: str,
    nlu: list[str],
    folds: int,
    out: Path,
    seed: int,
    extra: Path | None,
    unknown_share: float,
) -> None:
    """k-fold predictions on the training data.

    Each fold's model also never sees a few whole intents (``unknown_share`` of them):
    its messages of those intents are labelled out of scope, which is exactly what a
    question the bot has no intent for looks like to the NLU. --extra messages (never
    trained on) go round-robin to folds.
    """
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = _load_nlu(nlu)
    extra_items = _read_messages(extra)
    examples = [m for m in data.intent_examples if m.get("text")]
    labels = [m.get("intent") for m in examples]
    fold_of = _stratified_folds(labels, folds, seed)
    unknown = _unknown_intents(labels, folds, unknown_share, seed)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gapdesk-cv-") as tmp:
        for fold in range(folds):
            train_part = [
                m
                for m, f in zip(examples, fold_of, strict=True)
                if f != fold and m.get("intent") not in unknown[fold]
            ]
            held_out = [m for m, f in zip(examples, fold_of, strict=True) if f == fold]
            fold_data = TrainingData(
                training_examples=train_part, regex_features=data.regex_features
            )
            model = _train(config, fold_data, Path(tmp), f"fold{fold}")
            held_out_items = [_held_out_item(m, unknown[fold]) for m in held_out]
            held_out_items += extra_items[fold::folds]
            rankings = asyncio.run(_parse_all(model, [i["text"] for i in held_out_items]))
            for item, ranking in zip(held_out_items, rankings, strict=True):
                rows.append({**item, "fold": fold, "ranking": ranking})
    _write(out, rows)


def _held_out_item(message, unknown: set) -> dict:  # message: rasa Message
    intent = message.get("intent")
    if intent in unknown:
        return {"text": message.get("text"), "label": "oos", "unknown_intent": intent}
    return {"text": message.get("text"), "label": intent}


def predict(config: str, nlu: list[str], messages: Path, out: Path, model: str | None) -> None:
    items = _read_messages(messages)
    with tempfile.TemporaryDirectory(prefix="gapdesk-nlu-") as tmp:
        if model is None:
            model = _train(config, _load_nlu(nlu), Path(tmp), "full")
        rankings = asyncio.run(_parse_all(model, [item["text"] for item in items]))
    _write(
        out,
        [
            {"text": i["text"], "label": i.get("label"), "fold": -1, "ranking": r}
            for i, r in zip(items, rankings, strict=True)
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["crossval", "predict"])
    parser.add_argument("--config", required=True, help="Rasa config.yml (pipeline)")
    parser.add_argument("--nlu", nargs="+", required=True, help="training NLU files/folders")
    parser.add_argument("--out", required=True, type=Path, help="JSONL file to write")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--messages", type=Path, help="predict: JSONL of {text, label}")
    parser.add_argument(
        "--extra", type=Path, help="crossval: JSONL of {text, label} to parse but never train on"
    )
    parser.add_argument(
        "--unknown-share",
        type=float,
        default=0.0,
        help="crossval: share of intents each fold's model never sees (their messages "
        "become out-of-scope examples)",
    )
    parser.add_argument("--model", help="predict: an existing model instead of training")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # otherwise every parse is logged at debug level
    for noisy in ("rasa", "tensorflow", "absl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.mode == "crossval":
        crossval(
            args.config, args.nlu, args.folds, args.out, args.seed, args.extra, args.unknown_share
        )
    else:
        if args.messages is None:
            parser.error("predict needs --messages")
        predict(args.config, args.nlu, args.messages, args.out, args.model)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
