"""``gapdesk benchmark topics``: do the unmet-needs topics match what customers asked?

MESSAGES are messages the bot cannot answer whose true topics are known, such as the
BANKING77-OOS id-oos split: questions of 27 banking intents the 50-intent bot was
never taught, each labelled with its hidden intent (in ``label_original``). They are
all unanswerable by construction, so all of them are clustered, with the product's
own :func:`gapdesk.topics.find_topics` and its defaults; the labels are only used
to score the topics:

* **purity of the ten largest topics** (the share of their messages that belong to
  each one's most common true topic) and the **share of all messages they hold**:
  a supervisor reads the largest topics first, and a draft intent is only useful if
  its messages ask one thing;
* **adjusted Rand index** against the true topics, with each unclustered message as
  its own singleton cluster (leaving a message out is neither rewarded nor hidden);
  the ARI of the clustered messages alone is given beside it;
* the same figures for **k-means on tf-idf/LSA vectors** with as many clusters as
  topics were found: what a plain bag-of-words clustering reaches.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from gapdesk import topics as topic_finder
from gapdesk.bench.report import write_report
from gapdesk.datasets import read_labelled

logger = logging.getLogger(__name__)

LARGEST = 10
TARGET_PURITY = 0.7
TARGET_SHARE = 0.3


def assignments(topics: Sequence[topic_finder.Topic], n: int) -> np.ndarray:
    """One topic number per message (its rank by size), -1 for the unclustered."""
    labels = np.full(n, topic_finder.UNCLUSTERED)
    for number, topic in enumerate(topics):
        labels[list(topic.members)] = number
    return labels


def agreement(labels: np.ndarray, truth: Sequence[str]) -> dict[str, Any]:
    """How clusters (-1: unclustered) agree with the true topics: see the module."""
    truth_array = np.asarray(truth)
    clustered = labels != topic_finder.UNCLUSTERED
    singletons = labels.copy()
    singletons[~clustered] = labels.max() + 1 + np.arange(int((~clustered).sum()))
    largest = _largest(labels, truth_array)
    held = sum(size for size, _ in largest)
    majority = sum(count for _, count in largest)
    return {
        "topics": len(set(labels[clustered].tolist())),
        "unclustered_share": round(float(1 - clustered.mean()), 4) if len(labels) else 0.0,
        "ari": round(float(adjusted_rand_score(truth_array, singletons)), 4),
        "ari_clustered_only": round(
            float(adjusted_rand_score(truth_array[clustered], labels[clustered])), 4
        )
        if clustered.any()
        else None,
        "purity_top10": round(majority / held, 4) if held else None,
        "share_top10": round(held / len(labels), 4) if len(labels) else 0.0,
    }


def _largest(labels: np.ndarray, truth: np.ndarray) -> list[tuple[int, int]]:
    """(size, count of its most common true topic) of the ten largest clusters."""
    sizes = Counter(labels[labels != topic_finder.UNCLUSTERED].tolist())
    found = []
    for number, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:LARGEST]:
        found.append((size, Counter(truth[labels == number].tolist()).most_common(1)[0][1]))
    return found


def describe_topics(
    topics: Sequence[topic_finder.Topic], truth: Sequence[str]
) -> list[dict[str, Any]]:
    """Each topic's name, size, most common true topic and purity, largest first."""
    rows = []
    for topic in topics:
        label, count = Counter(truth[i] for i in topic.members).most_common(1)[0]
        rows.append(
            {
                "name": topic.name,
                "size": topic.size,
                "true_topic": label,
                "purity": round(count / topic.size, 4),
                "examples": list(topic.examples),
            }
        )
    return rows


def kmeans_labels(texts: Sequence[str], k: int) -> np.ndarray:
    """k-means with ``k`` clusters on the tf-idf/LSA vectors: every message in one."""
    if k < 1 or len(texts) < k:
        return np.full(len(texts), topic_finder.UNCLUSTERED)
    vectors = topic_finder.lsa_vectors(texts)
    return np.asarray(KMeans(k, n_init=10, random_state=0).fit_predict(vectors))


def run(
    paths: Sequence[Path],
    label_file: str = "label",
    out: Path | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Cluster the messages of ``paths``, score the topics, return (and write) the report."""
    rows = [row for path in paths for row in read_labelled(path, label_file)]
    texts, truth = [r.text for r in rows], [r.label for r in rows]
    if len(set(truth)) < 2:
        progress(
            "warning: every message has the same label, so agreement means nothing "
            "(BANKING77-OOS id-oos: use --label-file label_original)"
        )
    started = time.monotonic()
    progress(f"embedding {len(texts)} messages")
    size = topic_finder.default_min_topic_size(len(texts))
    vectors, kind = topic_finder.message_vectors(texts, topic_finder.lsa_axes(len(texts), size))
    embedded = time.monotonic()
    progress(f"clustering (smallest topic: {size} messages)")
    topics = topic_finder.find_topics(texts, min_topic_size=size, vectors=vectors)
    clustered = time.monotonic()
    progress(f"{len(topics)} topics; k-means baseline on tf-idf/LSA with k = {len(topics)}")
    found = assignments(topics, len(texts))
    baseline = kmeans_labels(texts, len(topics))
    scores = agreement(found, truth)
    report: dict[str, Any] = {
        "n": len(texts),
        **scores,
        "target_met": _target_met(scores),
        "true_topics": len(set(truth)),
        "vectors": kind,
        "min_topic_size": size,
        "min_samples": topic_finder.MIN_SAMPLES,
        "ari_counts_unclustered_as_singletons": True,
        "kmeans_lsa": {"k": len(topics), **agreement(baseline, truth)},
        "by_topic": describe_topics(topics, truth),
        "seconds": {
            "embedding": round(embedded - started, 2),
            "clustering_and_naming": round(clustered - embedded, 2),
        },
        "messages": {"paths": [str(p) for p in paths], "label_file": label_file},
    }
    if out is not None:
        write_report(out, report, markdown(report))
        curves = {f"topics ({kind} + HDBSCAN)": found, "k-means on tf-idf/LSA": baseline}
        write_plot(out, curves, truth)
    return report


def _target_met(scores: dict[str, Any]) -> bool:
    purity = scores["purity_top10"]
    return purity is not None and purity >= TARGET_PURITY and scores["share_top10"] >= TARGET_SHARE


def write_plot(out: Path, curves: dict[str, np.ndarray], truth: Sequence[str]) -> None:
    """``topics.png``: purity against the share of messages held, clusters taken
    largest first, for each clustering; the target is marked."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    truth_array = np.asarray(truth)
    figure, axis = plt.subplots(figsize=(6, 4.5))
    for name, labels in curves.items():
        share, purity = _cumulative(labels, truth_array)
        axis.plot(share, purity, marker=".", label=name)
    axis.scatter([TARGET_SHARE], [TARGET_PURITY], marker="x", color="black", label="target")
    axis.axvline(TARGET_SHARE, color="grey", linewidth=0.5)
    axis.set(
        title="Clusters taken largest first",
        xlabel="share of all messages held",
        ylabel="purity",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    axis.legend(loc="best")
    figure.tight_layout()
    figure.savefig(out / "topics.png", dpi=110)
    plt.close(figure)


def _cumulative(labels: np.ndarray, truth: np.ndarray) -> tuple[list[float], list[float]]:
    """Share held and purity of the 1, 2, 3, ... largest clusters."""
    sizes = Counter(labels[labels != topic_finder.UNCLUSTERED].tolist())
    held = majority = 0
    share, purity = [], []
    for number, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        held += size
        majority += Counter(truth[labels == number].tolist()).most_common(1)[0][1]
        share.append(held / len(labels))
        purity.append(majority / held)
    return share, purity


def markdown(report: dict[str, Any]) -> str:
    """The report people read: headline figures, the baseline, and the topics."""
    base = report["kmeans_lsa"]
    lines = [
        f"n = {report['n']} messages, {report['true_topics']} true topics; vectors: "
        f"{report['vectors']}; smallest topic {report['min_topic_size']} messages.",
        "",
        "| | topics (HDBSCAN) | k-means on tf-idf/LSA |",
        "|---|---|---|",
        f"| clusters | {report['topics']} | {base['k']} |",
        f"| unclustered | {report['unclustered_share']:.1%} | {base['unclustered_share']:.1%} |",
        f"| adjusted Rand index | {report['ari']} | {base['ari']} |",
        f"| purity of the ten largest | {report['purity_top10']} | {base['purity_top10']} |",
        f"| share of messages they hold | {report['share_top10']:.1%} | "
        f"{base['share_top10']:.1%} |",
        "",
        "Unclustered messages count as singleton clusters in the adjusted Rand index "
        f"(clustered messages alone: {report['ari_clustered_only']}). Target: the ten "
        f"largest topics hold >= {TARGET_SHARE:.0%} of the messages at purity >= "
        f"{TARGET_PURITY}: {'met' if report['target_met'] else 'not met'}.",
        "",
        "| topic | size | purity | most common true topic |",
        "|---|---|---|---|",
        *(
            f"| {t['name']} | {t['size']} | {t['purity']} | {t['true_topic']} |"
            for t in report["by_topic"]
        ),
    ]
    return "\n".join(lines) + "\n"
