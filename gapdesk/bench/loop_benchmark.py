"""``gapdesk benchmark loop``: does the bot get better from what people tell it?

A replay of real traffic the bot has never seen, in two halves:

1. Train the bot (NLU and gap model) on TRAIN, as ``gapdesk benchmark`` does.
2. Replay the first half of TRAFFIC through the bot's own decision
   (:func:`gapdesk.evaluation.judge`, the bot's costs).
3. A simulated agent labels ``budget`` of those turns, chosen the way the product puts
   them in front of people: the escalations first (oldest first, as the queue is
   worked), then the rest ranked by gap probability (the review inbox). The labels
   are TRAFFIC's true ones: the right intent, or out of scope.
4. Learn from them as ``gapdesk retrain`` does: the labelled turns go into a database
   like the bot's, :func:`gapdesk.retraining.plan` gathers and splits them, its NLU
   examples and live gap rows train a candidate, and the promotion rule judges the
   candidate on the held-out newest labels.
5. Replay the second half with both versions and compare their figures, also handled
   by rank alone at the current version's hand-over and answer counts, so that only
   the versions' ordering of the turns differs.
6. Two controls, learned the same way: as many labels of first-half turns drawn at
   random, and as many out-of-scope turns drawn at random as the agent's labels held.
   Beside the agent's, they say how much the choice of turns limits the lesson.

What the retrain does besides (training Rasa's dialogue model, the registry) does not
change these figures and is left out, which keeps a run within minutes per budget.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gapdesk.bench.gap_benchmark import (
    GENERIC_OUT_OF_SCOPE,
    nlu_predictions,
    read_all,
    split_train,
)
from gapdesk.bench.report import write_report
from gapdesk.datasets import LabelledText
from gapdesk.evaluation import (
    FIGURES,
    JudgedTurn,
    LabelledTurn,
    PromotionRule,
    at_counts,
    at_handover_count,
    figures,
    judge,
)
from gapdesk.labels import OUT_OF_SCOPE
from gapdesk.retraining import Lessons, labelled_turn, plan
from gapdesk.settings import Settings
from gapdesk.storage.migrate import upgrade
from gapdesk.storage.models import Label, Turn
from gapdesk.storage.recorder import new_record
from gapdesk.storage.store import Store, make_engine
from gapmodel.costs import ANSWER, ESCALATE
from gapmodel.fitting import OOS_LABEL, fit_gap_model
from gapmodel.model import GapModel
from gapmodel.redaction import redact

logger = logging.getLogger(__name__)

BUDGETS = (0, 50, 100, 200, 400)
AGENT = "simulated-agent"
Ranking = list[tuple[str, float]]


@dataclass
class BotVersion:
    """One trained bot: its gap model and its NLU's ranking of every traffic message."""

    model: GapModel
    rankings: list[Ranking]  # in TRAFFIC's order


@dataclass
class Replay:
    """The traffic, split in the half the bot learns from and the half it is judged on."""

    first: list[LabelledTurn]
    second: list[LabelledTurn]

    @classmethod
    def of(cls, traffic: Sequence[LabelledText]) -> Replay:
        turns = [LabelledTurn(row.text, row.label, True) for row in traffic]
        half = len(turns) // 2
        return cls(turns[:half], turns[half:])


def run(
    train_paths: Sequence[Path],
    traffic_paths: Sequence[Path],
    settings: Settings,
    oos_label: str = "oos",
    budget: int = 200,
    out: Path | None = None,
    shuffle_seed: int | None = None,
    budgets: Sequence[int] = BUDGETS,
    config: Path = Path("config.yml"),
    folds: int = 3,
    generic_out_of_scope: Path | None = GENERIC_OUT_OF_SCOPE,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train on TRAIN, replay TRAFFIC, learn from ``budget`` labels; the report."""
    started = time.monotonic()
    in_scope, out_of_scope = split_train(read_all(train_paths, oos_label), generic_out_of_scope)
    traffic = read_all(traffic_paths, oos_label)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(traffic)
    replay = Replay.of(traffic)
    texts = [row.text for row in traffic]

    def fit(nlu: list[LabelledText], oos: list[str], lessons: Lessons | None) -> BotVersion:
        return _fit(config, nlu, oos, texts, lessons, folds, settings)

    with tempfile.TemporaryDirectory(prefix="gapdesk-loop-") as tmp:
        work = Path(tmp)
        progress(f"training the bot on TRAIN ({len(in_scope)} examples)")
        before = fit(in_scope, out_of_scope, None)
        first = judge(replay.first, before.rankings[: len(replay.first)], before.model, settings)
        judged_before = _second_half(replay, before, settings)

        def learn(chosen: list[int], name: str) -> dict[str, Any]:
            """Label ``chosen`` turns of the first half, retrain, judge the second half."""
            store, index_of = _store_with_labels(
                work / f"{name}.db", replay.first, before.rankings, first, chosen
            )
            lessons = plan(store, in_scope, None, settings.retrain_held_out_share)
            candidate = fit(
                in_scope + lessons.examples.intent_examples,
                out_of_scope + lessons.examples.out_of_scope,
                lessons,
            )
            return _compare(judged_before, _second_half(replay, candidate, settings)) | {
                "labels": len(chosen),
                "labelled": labelled_kinds(replay.first, first, chosen),
                "learned": lessons.summary(),
                "promotion": _promotion(lessons, index_of, before, candidate, settings),
            }

        picks = agent_picks(first)
        runs: dict[str, dict[str, Any]] = {}
        for size in sorted({*budgets, budget}):
            chosen = picks[:size]
            if not chosen:
                runs[str(size)] = _compare(judged_before, judged_before) | {"labels": 0}
                continue
            progress(f"budget {size}: the agent labels {len(chosen)} turns; retraining")
            runs[str(size)] = learn(chosen, f"budget-{size}")
        controls: dict[str, dict[str, Any]] = {}
        for name, drawn in _control_draws(replay.first, picks[:budget], shuffle_seed or 0).items():
            progress(f"control {name}: {len(drawn)} turns of the first half; retraining")
            nothing = _compare(judged_before, judged_before) | {"labels": 0}
            controls[name] = learn(drawn, name) if drawn else nothing
    chosen_run = runs[str(budget)]
    report: dict[str, Any] = {
        "budget": budget,
        "before": chosen_run["before"],
        "after": chosen_run["after"],
        "after_at_before_handover_rate": chosen_run["after_at_before_handover_rate"],
        "budgets": {size: run["after"] for size, run in runs.items()},
        "promotion": chosen_run.get("promotion"),
        "ranked_at_before_counts": chosen_run["ranked_at_before_counts"],
        "controls": controls,
        "runs": runs,
        "agent_queue": {
            "escalations": sum(t.handling == ESCALATE for t in first),
            "first_half": len(first),
        },
        "train": {
            "paths": [str(p) for p in train_paths],
            "in_scope_examples": len(in_scope),
            "out_of_scope_examples": len(out_of_scope),
        },  # fmt: skip
        "traffic": {
            "paths": [str(p) for p in traffic_paths],
            "n": len(traffic),
            "shuffle_seed": shuffle_seed,
        },  # fmt: skip
        "seconds": round(time.monotonic() - started, 1),
    }
    if out is not None:
        write_report(out, report, markdown(report))
        write_budget_plot(out, report)
    return report


def agent_picks(first: Sequence[JudgedTurn]) -> list[int]:
    """The order an agent gets to the first half's turns: the escalation queue oldest
    first, then the review inbox, highest gap probability first."""
    escalated = [index for index, turn in enumerate(first) if turn.handling == ESCALATE]
    others = [index for index, turn in enumerate(first) if turn.handling != ESCALATE]
    others.sort(key=lambda index: -first[index].probability)
    return escalated + others


def labelled_kinds(
    turns: Sequence[LabelledTurn], judged: Sequence[JudgedTurn], chosen: Sequence[int]
) -> dict[str, Any]:
    """What the chosen turns were, and how sure of a gap the bot already was of them."""
    kinds = {"out_of_scope": 0, "wrong_intent": 0, "no_gap": 0}
    for index in chosen:
        if turns[index].right_intent == OOS_LABEL:
            kinds["out_of_scope"] += 1
        else:
            kinds["wrong_intent" if judged[index].is_gap else "no_gap"] += 1
    probabilities = [judged[index].probability for index in chosen]
    mean = round(sum(probabilities) / len(probabilities), 3) if probabilities else None
    return kinds | {"mean_gap_probability_before": mean}


def _fit(
    config: Path,
    nlu: list[LabelledText],
    out_of_scope: list[str],
    texts: list[str],
    lessons: Lessons | None,
    folds: int,
    settings: Settings,
) -> BotVersion:
    """An NLU model and a gap model trained as ``gapdesk train`` trains them, with the
    live rows of ``lessons`` under their weights."""
    with tempfile.TemporaryDirectory(prefix="gapdesk-loop-fit-") as tmp:
        unseen = [LabelledText(text, "unknown") for text in texts]
        cv, predicted = nlu_predictions(config, nlu, unseen, out_of_scope, Path(tmp), folds)
    live = [row.as_example() for row in lessons.train_rows] if lessons else []
    model = fit_gap_model(
        cv,
        [row.text for row in nlu],
        [row.label for row in nlu],
        {"version": "loop-benchmark"},
        settings.semantic_features == "on",
        settings.spacy_model,
        live=live,
    )
    return BotVersion(model, [list(p.ranking) for p in predicted])


def _store_with_labels(
    path: Path,
    turns: Sequence[LabelledTurn],
    rankings: Sequence[Ranking],
    judged: Sequence[JudgedTurn],
    chosen: list[int],
) -> tuple[Store, dict[int, int]]:
    """A database like the bot's holding the chosen turns as the bot served them
    (redacted, with their rankings and decisions, a second apart in replay order) and
    the agent's label on each; and each stored turn's index in the replay."""
    url = f"sqlite:///{path}"
    upgrade(url)
    store = Store(make_engine(url))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    uids = {}
    for index in sorted(chosen):
        ranking = rankings[index]
        intent = ranking[0][0] if ranking else None
        record = new_record(
            "turn", f"replay-{index}", customer_text=redact(turns[index].text),
            intent=intent, intent_ranking=ranking,
            decision=str(judged[index].handling), answer_intent=intent,
            created_at=(start + timedelta(seconds=index)).isoformat(),
        )  # fmt: skip
        store.apply(record)
        uids[record["uid"]] = index
    index_of = {}
    with store.session() as session:
        for turn_id, uid in session.execute(select(Turn.id, Turn.uid)).all():
            index = index_of[turn_id] = uids[uid]
            truth = turns[index].right_intent
            right = OUT_OF_SCOPE if truth == OOS_LABEL else truth
            answered = rankings[index][0][0] if rankings[index] else None
            created = start + timedelta(seconds=index, milliseconds=500)
            session.add(Label(turn_id=turn_id, author=AGENT, is_gap=right != answered,
                              correct_intent=right, created_at=created))  # fmt: skip
    return store, index_of


def _second_half(replay: Replay, version: BotVersion, settings: Settings) -> list[JudgedTurn]:
    offset = len(replay.first)
    return judge(replay.second, version.rankings[offset:], version.model, settings)


def _compare(old: list[JudgedTurn], new: list[JudgedTurn]) -> dict[str, Any]:
    """Both versions' figures on the second half; the candidate's at the current
    version's hand-over count; and both handled by rank alone at the current version's
    hand-over and answer counts (:func:`gapdesk.evaluation.at_counts`)."""
    handed = sum(turn.handling == ESCALATE for turn in old)
    answered = sum(turn.handling == ANSWER for turn in old)
    return {
        "before": figures(old),
        "after": figures(new),
        "after_at_before_handover_rate": figures(at_handover_count(new, handed)),
        "ranked_at_before_counts": {
            "before": figures(at_counts(old, handed, answered)),
            "after": figures(at_counts(new, handed, answered)),
        },
    }


def _promotion(
    lessons: Lessons,
    index_of: dict[int, int],
    before: BotVersion,
    candidate: BotVersion,
    settings: Settings,
) -> dict[str, Any]:
    """What the product's promotion rule says of the candidate, judged on the held-out
    newest labels as ``gapdesk retrain`` judges it."""
    turns = [labelled_turn(row) for row in lessons.held_out]
    indexes = [index_of[row.turn_id] for row in lessons.held_out]
    old = judge(turns, [before.rankings[i] for i in indexes], before.model, settings)
    new = judge(turns, [candidate.rankings[i] for i in indexes], candidate.model, settings)
    current, new_figures = figures(old), figures(new)
    promoted, reason = PromotionRule.of(settings).verdict(current, new_figures)
    return {"promoted": promoted, "reason": reason, "held_out": len(turns)}


# -- the report --------------------------------------------------------------------------

ROWS = (
    ("gap AUROC", "auroc"),
    ("expected calibration error", "ece"),
    ("missed gaps (gaps answered)", "missed_gaps"),
    ("best possible missed gaps, answering as many turns", "best_possible_missed_gaps"),
    ("missed gaps above the best possible", "missed_gaps_above_best_possible"),
    ("needless hand-overs", "needless_handovers"),
    ("escalation precision", "escalation_precision"),
    ("containment (answered and right)", "containment"),
    ("hand-over rate", "handover_rate"),
    ("clarification rate", "clarification_rate"),
    ("cost per turn", "cost_per_turn"),
    ("NLU accuracy on the named intents", "nlu_accuracy_on_named_intents"),
    ("turns", "n"),
)


def markdown(report: dict[str, Any]) -> str:
    before, after, same = (report["before"], report["after"],
                           report["after_at_before_handover_rate"])  # fmt: skip
    promotion = report.get("promotion") or {}
    lines = [
        f"Second half of the traffic ({before['n']} turns), before and after learning from "
        f"{report['budget']} labels of the first half:",
        "",
        "| | before | after | after, at before's hand-over rate |",
        "|---|---|---|---|",
        *(
            f"| {label} | {before.get(key)} | {after.get(key)} | {same.get(key)} |"
            for label, key in ROWS
        ),  # fmt: skip
        "",
        f"Promotion rule on the {promotion.get('held_out', 0)} held-out labels: "
        f"{'promoted' if promotion.get('promoted') else 'refused'} ({promotion.get('reason')}).",
        "",
        *_ranked_and_controls(report),
        "",
        "| labels | " + " | ".join(key for key in FIGURES) + " |",
        "|---|" + "---|" * len(FIGURES),
        *(
            f"| {size} | " + " | ".join(str(f.get(key)) for key in FIGURES) + " |"
            for size, f in report["budgets"].items()
        ),  # fmt: skip
    ]
    return "\n".join(lines) + "\n"


def _ranked_and_controls(report: dict[str, Any]) -> list[str]:
    """The ranking compared where the bot draws its lines, beside the two controls."""
    arms = {
        "before": report["runs"]["0"],
        f"after {report['budget']} from the queue": report["runs"][str(report["budget"])],
        **{f"after {name.replace('_', ' ')}": arm for name, arm in report["controls"].items()},
    }
    ranked = {
        name: arm["ranked_at_before_counts"]["before" if name == "before" else "after"]
        for name, arm in arms.items()
    }
    rows = (
        ("gap AUROC", "auroc"),
        ("missed gaps", "missed_gaps"),
        ("needless hand-overs", "needless_handovers"),
        ("cost per turn", "cost_per_turn"),
    )
    return [
        "Handled by rank alone at before's hand-over and answer counts (only the ordering "
        "differs), beside the controls: as many labels of first-half turns drawn at random, "
        "and as many out-of-scope turns drawn at random as the queue's labels hold:",
        "",
        "| | " + " | ".join(arms) + " |",
        "|---|" + "---|" * len(arms),
        "| labelled | " + " | ".join(_kinds(arm.get("labelled")) for arm in arms.values()) + " |",
        *(
            f"| {label} | " + " | ".join(str(f.get(key)) for f in ranked.values()) + " |"
            for label, key in rows
        ),
    ]


def _kinds(labelled: dict[str, Any] | None) -> str:
    if not labelled:
        return "none"
    mean = labelled["mean_gap_probability_before"]
    return (
        f"{labelled['out_of_scope']} out of scope, {labelled['wrong_intent']} wrong intent, "
        f"{labelled['no_gap']} no gap; mean gap probability {mean}"
    )


def _control_draws(
    turns: Sequence[LabelledTurn], picks: Sequence[int], seed: int
) -> dict[str, list[int]]:
    """The controls' turns: as many as the agent labelled, drawn at random from the
    first half; and as many out-of-scope turns as those labels held, drawn at random
    from the first half's out-of-scope turns (which no queue can pick: nobody knows
    which they are before a person looks)."""
    out_of_scope = [i for i, turn in enumerate(turns) if turn.right_intent == OOS_LABEL]
    picked_out_of_scope = sum(turns[i].right_intent == OOS_LABEL for i in picks)
    return {
        "random_turns": random.Random(seed).sample(range(len(turns)), len(picks)),
        "random_out_of_scope_turns": random.Random(seed).sample(out_of_scope, picked_out_of_scope),
    }


def write_budget_plot(out: Path, report: dict[str, Any]) -> None:
    """AUROC, cost per turn and missed gaps against the number of labels."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    sizes = [int(size) for size in report["budgets"]]
    panels = (("gap AUROC", "auroc"), ("cost per turn", "cost_per_turn"),
              ("missed gaps", "missed_gaps"))  # fmt: skip
    figure, axes = plt.subplots(1, len(panels), figsize=(12, 3.8))
    for axis, (title, key) in zip(axes, panels, strict=True):
        values = [report["budgets"][str(size)][key] for size in sizes]
        axis.plot(sizes, values, marker="o")
        axis.set(title=title, xlabel="labels given by agents")
    figure.tight_layout()
    figure.savefig(out / "learning_curve.png", dpi=110)
    plt.close(figure)
