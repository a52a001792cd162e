"""The classic recommenders: popularity (all-time and trending), item-item kNN, EASE and implicit ALS.

Every model scores *histories* (each a user's item indices, oldest first), not user ids. That makes fold-in
the normal path: a customer's new events change their recommendations at the next request, no retrain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from .data import Interactions

EpochCallback = Callable[[dict[str, Any]], None]


def histories_matrix(histories: list[np.ndarray], n_items: int) -> sp.csr_matrix:
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories]) if histories else np.array([], np.int64)
    data = np.ones(len(cols), dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(len(histories), n_items))
    m.data[:] = 1.0  # duplicates collapse to a binary indicator
    return m


class Recommender:
    """Base: `fit` on interactions, `score` histories -> (n, n_items) float32 scores (higher is better)."""

    name = "base"
    default_params: dict[str, Any] = {}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.default_params)
        if unknown:
            raise ValueError(f"{self.name}: unknown parameters {sorted(unknown)}")
        self.params = {**self.default_params, **params}
        self.n_items = 0
        self.info: dict[str, Any] = {}

    def fit(self, data: Interactions, *, on_epoch: EpochCallback | None = None) -> Recommender:
        raise NotImplementedError

    def score(self, histories: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """Plain numpy/python state for the artifact (no pickled classes beyond this object)."""
        return self.__dict__

    def load_state(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class Popularity(Recommender):
    """All-time popularity, or trending: interactions within the last `window_days` of the training data."""

    name = "popularity"
    default_params = {"window_days": 0}

    def fit(self, data, *, on_epoch=None):
        self.n_items = data.n_items
        weights = np.bincount(data.item, minlength=data.n_items).astype(np.float64)
        window = float(self.params["window_days"] or 0)
        if window > 0 and len(data):
            cutoff = data.ts.max() - window * 86400
            recent = np.bincount(data.item[data.ts >= cutoff], minlength=data.n_items).astype(np.float64)
            # Trending first; all-time popularity only breaks ties between equally trending items.
            weights = recent + weights / (weights.max() + 1.0)
        self.scores_ = weights.astype(np.float32)
        return self

    def score(self, histories):
        return np.tile(self.scores_, (len(histories), 1))


class Trending(Popularity):
    name = "trending"
    default_params = {"window_days": 30}


class ItemKNN(Recommender):
    """Item-item cosine similarity over co-occurrence in users' histories, top-`neighbors` per item."""

    name = "itemknn"
    default_params = {"neighbors": 100, "shrink": 10.0}

    def fit(self, data, *, on_epoch=None):
        self.n_items = data.n_items
        x = data.matrix()
        x.data[:] = 1.0
        co = (x.T @ x).tocsr().astype(np.float32)
        co.setdiag(0)
        co.eliminate_zeros()
        norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel()).astype(np.float32)
        co = co.tocoo()
        vals = co.data / (norms[co.row] * norms[co.col] + float(self.params["shrink"]))
        sim = sp.csr_matrix((vals, (co.row, co.col)), shape=co.shape)
        self.sim_ = _keep_top_per_row(sim, int(self.params["neighbors"]))
        return self

    def score(self, histories):
        h = histories_matrix(histories, self.n_items)
        return np.asarray((h @ self.sim_).todense(), dtype=np.float32)

    def neighbours(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        row = self.sim_.getrow(item)
        order = np.argsort(-row.data, kind="stable")[:k]
        return row.indices[order], row.data[order]


def _keep_top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    m = m.tocsr()
    indptr, indices, data = [0], [], []
    for r in range(m.shape[0]):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        vals, cols = m.data[lo:hi], m.indices[lo:hi]
        if len(vals) > k:
            top = np.argpartition(-vals, k - 1)[:k]
            vals, cols = vals[top], cols[top]
        indices.append(cols)
        data.append(vals)
        indptr.append(indptr[-1] + len(vals))
    return sp.csr_matrix(
        (np.concatenate(data) if data else [], np.concatenate(indices) if indices else [], indptr), shape=m.shape
    )


class EASE(Recommender):
    """EASE (Steck 2019): B = I - P / diag(P), P = (XᵀX + λI)⁻¹.

    The inverse costs O(items³) time and O(items²) memory, so above `max_items` only the most popular
    `max_items` items are modelled (the rest rank last); `info["capped"]` says when that happened.
    """

    name = "ease"
    default_params = {"l2": 250.0, "max_items": 10000}

    def fit(self, data, *, on_epoch=None):
        self.n_items = data.n_items
        pop = data.popularity()
        max_items = int(self.params["max_items"])
        if data.n_items > max_items:
            kept = np.sort(np.argsort(-pop, kind="stable")[:max_items])
            self.info["capped"] = True
            self.info["note"] = f"EASE modelled the {max_items} most popular of {data.n_items} items"
        else:
            kept = np.arange(data.n_items)
            self.info["capped"] = False
        self.kept_ = kept
        x = data.matrix()[:, kept]
        x.data[:] = 1.0
        g = np.asarray((x.T @ x).todense(), dtype=np.float32)
        g[np.diag_indices_from(g)] += float(self.params["l2"])
        p = np.linalg.inv(g)
        b = p / (-np.diag(p))
        b[np.diag_indices_from(b)] = 0.0
        self.b_ = b.astype(np.float32)
        # Items outside the model rank below every modelled item, by popularity among themselves.
        self.floor_ = (pop / (pop.max() + 1.0) - 1e6).astype(np.float32)
        return self

    def score(self, histories):
        h = histories_matrix(histories, self.n_items)[:, self.kept_]
        out = np.tile(self.floor_, (len(histories), 1))
        out[:, self.kept_] = np.asarray(h @ self.b_, dtype=np.float32)
        return out


class ALS(Recommender):
    """Implicit-feedback ALS (Hu, Koren, Volinsky 2008) trained by the `implicit` package.

    Fold-in: a history's user vector is the exact ALS least-squares solution against the fixed item factors,
    so a new event changes the recommendations without retraining.
    """

    name = "als"
    default_params = {"factors": 64, "regularization": 0.05, "alpha": 10.0, "iterations": 15, "threads": 2, "seed": 7}

    def fit(self, data, *, on_epoch=None):
        from implicit.cpu.als import AlternatingLeastSquares

        self.n_items = data.n_items
        p = self.params
        model = AlternatingLeastSquares(
            factors=int(p["factors"]), regularization=float(p["regularization"]), alpha=float(p["alpha"]),
            iterations=int(p["iterations"]), num_threads=int(p["threads"]), random_state=int(p["seed"]),
            calculate_training_loss=on_epoch is not None,
        )
        started = time.monotonic()

        def callback(iteration, elapsed, loss):
            if on_epoch:
                on_epoch({"epoch": iteration + 1, "epochs": int(p["iterations"]), "loss": float(loss),
                          "seconds": time.monotonic() - started})

        model.fit(data.matrix(), show_progress=False, callback=callback)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        self.yty_ = self.item_factors_.T @ self.item_factors_
        return self

    def user_vectors(self, histories: list[np.ndarray]) -> np.ndarray:
        y = self.item_factors_
        f = y.shape[1]
        alpha, reg = float(self.params["alpha"]), float(self.params["regularization"])
        out = np.zeros((len(histories), f), dtype=np.float32)
        for n, hist in enumerate(histories):
            items = np.unique(np.asarray(hist, dtype=np.int64))
            if not len(items):
                continue
            yi = y[items]
            a = self.yty_ + (alpha - 1.0) * (yi.T @ yi) + reg * np.eye(f, dtype=np.float32)
            b = alpha * yi.sum(axis=0)
            out[n] = np.linalg.solve(a, b)
        return out

    def score(self, histories):
        return self.user_vectors(histories) @ self.item_factors_.T
