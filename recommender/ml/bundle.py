"""A trained, servable package: the model, the item-id map, item neighbours, co-purchases and popularity.

Saved atomically (temp file + fsync + rename) with a SHA-256 that the loader checks, so a half-written or
corrupted file is detected instead of served.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .baselines import ItemKNN, Recommender
from .registry import build_model

FORMAT_VERSION = 1


class ArtifactError(Exception):
    """The artifact is missing, truncated, corrupted or of an unknown format."""


def co_purchase_matrix(baskets: list[np.ndarray], n_items: int) -> sp.csr_matrix:
    """conf(j | i) = baskets with i and j / baskets with i ("frequently bought together")."""
    rows, cols = [], []
    for basket in baskets:
        items = np.unique(np.asarray(basket, dtype=np.int64))
        if len(items) < 2:
            continue
        a, b = np.meshgrid(items, items, indexing="ij")
        off = a != b
        rows.append(a[off])
        cols.append(b[off])
    counts = np.zeros(n_items, dtype=np.float32)
    for basket in baskets:
        counts[np.unique(np.asarray(basket, dtype=np.int64))] += 1
    if not rows:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    r, c = np.concatenate(rows), np.concatenate(cols)
    pairs = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(n_items, n_items))
    pairs.sum_duplicates()
    pairs = pairs.tocoo()
    conf = pairs.data / np.maximum(counts[pairs.row], 1.0)
    return sp.csr_matrix((conf.astype(np.float32), (pairs.row, pairs.col)), shape=(n_items, n_items))


@dataclass
class ModelBundle:
    algorithm: str
    model: Recommender
    item_keys: list  # the store's product ids, index -> key
    item_category: list[str]
    neighbours: ItemKNN
    together: sp.csr_matrix
    popularity: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {key: n for n, key in enumerate(self.item_keys)}
        self._outside_category: dict[str, np.ndarray] = {}

    def outside_category(self, category: str) -> np.ndarray:
        """Boolean mask of items whose category path does not start with `category` (cached per category)."""
        mask = self._outside_category.get(category)
        if mask is None:
            mask = np.array([not c.startswith(category) for c in self.item_category], dtype=bool)
            if len(self._outside_category) < 256:
                self._outside_category[category] = mask
        return mask

    @property
    def n_items(self) -> int:
        return len(self.item_keys)

    def indices_of(self, keys) -> np.ndarray:
        return np.array([self.index[k] for k in keys if k in self.index], dtype=np.int64)

    def explain(self, history: np.ndarray, item: int) -> int | None:
        """The history item most similar to `item` (by item-kNN), or None if none is related."""
        if not len(history):
            return None
        row = self.neighbours.sim_.getrow(item)
        sims = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
        best, best_sim = None, 0.0
        for h in history[::-1]:  # newest first: on a tie, the most recent event explains it
            s = sims.get(int(h), 0.0)
            if s > best_sim:
                best, best_sim = int(h), s
        return best

    # ---------------------------------------------------------------------------------------- persistence
    def to_bytes(self) -> bytes:
        payload = {
            "format": FORMAT_VERSION, "algorithm": self.algorithm, "params": self.model.params,
            "model_state": self.model.state(), "item_keys": self.item_keys, "item_category": self.item_category,
            "neighbours": self.neighbours.state(), "together": self.together, "popularity": self.popularity,
            "meta": self.meta,
        }
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, raw: bytes) -> ModelBundle:
        try:
            payload = pickle.loads(raw)  # noqa: S301 - our own artifact, checksum verified by the caller
        except Exception as exc:  # noqa: BLE001
            raise ArtifactError(f"artifact cannot be read: {exc.__class__.__name__}") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
            raise ArtifactError("artifact has an unknown format")
        model = build_model(payload["algorithm"], **payload["params"])
        model.load_state(payload["model_state"])
        knn = ItemKNN()
        knn.load_state(payload["neighbours"])
        return cls(payload["algorithm"], model, payload["item_keys"], payload["item_category"], knn,
                   payload["together"], payload["popularity"], payload["meta"])


def artifact_save(bundle: ModelBundle, path: Path) -> tuple[str, int]:
    """Write atomically; returns (sha256, size). A crash leaves either the old file or none, never half."""
    raw = bundle.to_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(raw).hexdigest(), len(raw)


def artifact_load(path: Path, sha256: str) -> ModelBundle:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ArtifactError(f"artifact missing or unreadable: {exc.strerror or exc}") from None
    if sha256 and hashlib.sha256(raw).hexdigest() != sha256:
        raise ArtifactError("artifact checksum mismatch (file corrupted or replaced)")
    return ModelBundle.from_bytes(raw)
