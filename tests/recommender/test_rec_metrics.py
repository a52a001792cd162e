"""Metrics against hand-computed cases, and the leave-last-out split never leaking future events."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.ml.data import interactions_from_records, leave_last_out
from recommender.ml.metrics import (
    catalogue_coverage,
    mrr,
    ndcg_at_k,
    popular_share,
    recall_at_k,
    target_ranks,
    top_k,
)

pytestmark = pytest.mark.quick


def test_ranks_and_metrics_by_hand():
    scores = np.array([
        [0.9, 0.1, 0.5, 0.3],   # target 2 -> one item above -> rank 1
        [0.2, 0.2, 0.2, 0.2],   # all tied, target 3 -> three lower-index ties before it -> rank 3
        [0.0, 1.0, -np.inf, 0.5],  # target 1 -> rank 0
    ])
    ranks = target_ranks(scores, np.array([2, 3, 1]))
    assert ranks.tolist() == [1, 3, 0]
    assert recall_at_k(ranks, 1) == pytest.approx(1 / 3)
    assert recall_at_k(ranks, 2) == pytest.approx(2 / 3)
    assert ndcg_at_k(ranks, 2) == pytest.approx((1 / math.log2(3) + 0 + 1.0) / 3)
    assert ndcg_at_k(ranks, 10) == pytest.approx((1 / math.log2(3) + 1 / math.log2(5) + 1.0) / 3)
    assert mrr(ranks) == pytest.approx((1 / 2 + 1 / 4 + 1) / 3)


def test_top_k_coverage_and_popular_share():
    scores = np.array([[0.1, 0.9, 0.5, 0.5], [1.0, 0.0, 0.2, 0.3]])
    tops = top_k(scores, 2)
    assert tops.tolist() == [[1, 2], [0, 3]]  # the 0.5 tie goes to the lower index
    assert catalogue_coverage(tops, 8) == pytest.approx(4 / 8)
    popularity = np.array([100.0] + [1.0] * 99)  # 100 items: the top 1% is item 0
    assert popular_share(np.array([[0, 5], [7, 0]]), popularity) == pytest.approx(0.5)


def test_split_holds_out_the_last_new_item_per_user():
    data = interactions_from_records(
        ["a", "a", "a", "b", "b", "c"], ["x", "y", "x", "y", "z", "x"], [1, 2, 3, 5, 4, 9],
        ["view", "view", "purchase", "view", "view", "view"],
    )
    split = leave_last_out(data)
    held = {data.user_ids[u]: data.item_ids[i] for u, i in zip(split.test_users, split.test_items, strict=True)}
    # a: x (t1), y (t2), x again collapses onto t1 -> last new item is y; b: z (t4) then y (t5) -> y; c has one event.
    assert held == {"a": "y", "b": "y"}
    assert len(split.train) == 3


@pytest.mark.parametrize("seed", range(25))
def test_split_never_leaks_future_events(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    users = rng.integers(0, 15, n)
    items = rng.integers(0, 30, n)
    times = rng.integers(0, 50, n)  # many same-time ties on purpose
    data = interactions_from_records(users, items, times)
    split = leave_last_out(data)
    train = split.train
    for u, item, ts in zip(split.test_users, split.test_items, split.test_ts, strict=True):
        mine = train.user == u
        assert mine.any()
        assert (train.ts[mine] <= ts).all(), "a training event is later than the held-out one"
        assert item not in set(train.item[mine]), "the held-out item leaks into training"
    # Every interaction is either in train or held out, never both.
    assert len(train) + len(split.test_users) == len(data)
