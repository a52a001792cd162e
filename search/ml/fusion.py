"""Reciprocal-rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): score(d) = sum over lists of 1 / (k + rank)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

RRF_K = 60


def reciprocal_rank_fusion(ranked_lists: Sequence[Sequence[Hashable]], *, k: int = RRF_K,
                           weights: Sequence[float] | None = None) -> list[tuple[Hashable, float]]:
    """Items of every list, best first, with their fused score. Ties keep the order of first appearance."""
    weights = weights or [1.0] * len(ranked_lists)
    scores: dict[Hashable, float] = {}
    for weight, ranked in zip(weights, ranked_lists, strict=True):
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
