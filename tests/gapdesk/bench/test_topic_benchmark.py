"""The topic benchmark's figures and its reading of the true topics, on hand-made data."""

from __future__ import annotations

import numpy as np
import pytest

from gapdesk.bench.topic_benchmark import agreement


def test_purity_and_share_are_those_of_the_ten_largest_clusters() -> None:
    # Twelve clusters: the ten largest have 3 members (two of one true topic, one
    # other); the two smallest have 2 and are pure; 4 messages are unclustered.
    labels, truth = [], []
    for cluster in range(10):
        labels += [cluster] * 3
        truth += [f"t{cluster}", f"t{cluster}", "other"]
    labels += [10, 10, 11, 11, -1, -1, -1, -1]
    truth += ["a", "a", "b", "b", "c", "d", "e", "f"]
    scores = agreement(np.array(labels), truth)
    assert scores["topics"] == 12
    assert scores["purity_top10"] == pytest.approx(20 / 30, abs=1e-4)
    assert scores["share_top10"] == pytest.approx(30 / 38, abs=1e-4)
    assert scores["unclustered_share"] == pytest.approx(4 / 38, abs=1e-4)


def test_unclustered_messages_count_as_singletons_in_the_rand_index() -> None:
    truth = ["a", "a", "a", "b", "b", "b"]
    perfect = agreement(np.array([0, 0, 0, 1, 1, 1]), truth)
    assert perfect["ari"] == perfect["ari_clustered_only"] == 1.0
    # Leaving messages out costs agreement; lumping them into one "noise" cluster
    # would have counted them as one more (wrong) cluster instead.
    left_out = agreement(np.array([0, 0, -1, 1, 1, -1]), truth)
    assert left_out["ari_clustered_only"] == 1.0
    assert 0 < left_out["ari"] < 1.0
    nothing = agreement(np.array([-1] * 6), truth)
    assert nothing["topics"] == 0 and nothing["purity_top10"] is None
    assert nothing["ari_clustered_only"] is None and nothing["share_top10"] == 0.0
