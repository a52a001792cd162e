"""Full-ranking metrics for a single held-out item per user (no sampled negatives).

A rank is 0-based: the number of candidate items ranked above the target. Ties are broken by item index
(the same order a stable sort of the scores gives), so a constant-score model is not rewarded for ties.
"""

from __future__ import annotations

import numpy as np


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Rank of each row's target among all columns. `scores` is users x items, excluded items at -inf."""
    rows = np.arange(len(targets))
    target_scores = scores[rows, targets][:, None]
    above = (scores > target_scores).sum(axis=1)
    cols = np.arange(scores.shape[1])[None, :]
    tied_before = ((scores == target_scores) & (cols < targets[:, None])).sum(axis=1)
    return (above + tied_before).astype(np.int64)


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    """With one relevant item per user, Recall@k is the share of users whose item made the top k."""
    ranks = np.asarray(ranks)
    return float((ranks < k).mean()) if len(ranks) else 0.0


def ndcg_at_k(ranks: np.ndarray, k: int) -> float:
    """One relevant item: DCG = 1/log2(rank+2) inside the top k, and the ideal DCG is 1."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if not len(ranks):
        return 0.0
    gains = np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(gains.mean())


def mrr(ranks: np.ndarray) -> float:
    ranks = np.asarray(ranks, dtype=np.float64)
    return float((1.0 / (ranks + 1.0)).mean()) if len(ranks) else 0.0


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best columns per row, best first, ties by lower index."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.tile(
        np.arange(scores.shape[1]), (scores.shape[0], 1)
    )
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1)


def catalogue_coverage(top_lists: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one recommendation list."""
    if n_items == 0 or top_lists.size == 0:
        return 0.0
    return float(len(np.unique(top_lists)) / n_items)


def popular_share(top_lists: np.ndarray, popularity: np.ndarray, *, top_fraction: float = 0.01) -> float:
    """Share of recommended slots filled by the top `top_fraction` most popular items (training counts)."""
    if top_lists.size == 0:
        return 0.0
    n_top = max(1, int(round(len(popularity) * top_fraction)))
    head = np.zeros(len(popularity), dtype=bool)
    head[np.argsort(-popularity, kind="stable")[:n_top]] = True
    return float(head[top_lists].mean())
