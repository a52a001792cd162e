"""Binary-relevance ranking metrics for the search evaluation."""

from __future__ import annotations

import math
from collections.abc import Sequence


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked_relevant: Sequence[bool], n_relevant: int, k: int = 10) -> float:
    """nDCG@k with gain 1 for a relevant result; the ideal ranking puts min(n_relevant, k) relevant ones first."""
    if n_relevant <= 0:
        return 0.0
    ideal = dcg([1.0] * min(n_relevant, k))
    return dcg([1.0 if r else 0.0 for r in ranked_relevant[:k]]) / ideal


def recall_at_k(ranked_relevant: Sequence[bool], n_relevant: int, k: int = 10) -> float:
    """Share of all relevant products found in the top k."""
    return sum(ranked_relevant[:k]) / n_relevant if n_relevant else 0.0


def capped_recall_at_k(ranked_relevant: Sequence[bool], n_relevant: int, k: int = 10) -> float:
    """Relevant results in the top k over min(k, n_relevant) (BEIR's R_cap): 1.0 when the page is as full of
    relevant products as it can be, also for queries with hundreds of relevant products."""
    return sum(ranked_relevant[:k]) / min(k, n_relevant) if n_relevant else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
