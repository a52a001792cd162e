"""Exact nearest neighbours over one store's unit vectors: a float32 matrix-vector product. 50,000 x 384 floats are
73 MiB; the product with one query vector takes a few milliseconds on one core."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class VectorIndex:
    ids: np.ndarray  # int64, one product id per row
    matrix: np.ndarray  # float32, (n, dim), unit rows

    @classmethod
    def from_rows(cls, rows: list[tuple[int, bytes]], dim: int) -> VectorIndex:
        ids, blobs = [], []
        for product_id, blob in rows:
            if blob is not None and len(blob) == dim * 4:
                ids.append(product_id)
                blobs.append(bytes(blob))
        if not ids:
            return cls(ids=np.zeros(0, dtype=np.int64), matrix=np.zeros((0, dim), dtype=np.float32))
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dim)
        return cls(ids=np.asarray(ids, dtype=np.int64), matrix=matrix)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def search(self, query: np.ndarray, *, top: int, allowed: np.ndarray | None = None,
               min_score: float = -1.0) -> list[tuple[int, float]]:
        """(product id, cosine) best first; `allowed` (product ids) restricts the candidates BEFORE the top is taken,
        so a filter never empties a page the unfiltered search would have filled."""
        if len(self) == 0:
            return []
        scores = self.matrix @ np.asarray(query, dtype=np.float32)
        if allowed is not None:
            mask = np.isin(self.ids, allowed, assume_unique=False)
            scores = np.where(mask, scores, -np.inf)
        top = min(top, len(self))
        part = np.argpartition(-scores, top - 1)[:top]
        order = part[np.argsort(-scores[part], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in order if scores[i] >= min_score and np.isfinite(scores[i])]
