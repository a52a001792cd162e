"""Side-by-side offline evaluation: leave-last-out, tuned on a validation split, full ranking on test.

Protocol (no test leakage): the test split holds out each user's last interaction. Hyper-parameters are
chosen on a *validation* split carved from the training part only (each user's second-to-last interaction);
the chosen configuration is refitted on the whole training part and scored once on the test split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .baselines import Recommender
from .data import Interactions, leave_last_out
from .metrics import catalogue_coverage, mrr, ndcg_at_k, popular_share, recall_at_k, target_ranks, top_k
from .registry import TUNING_GRIDS, build_model

Progress = Callable[[str, dict[str, Any]], None]


def masked_scores(model: Recommender, histories: list[np.ndarray]) -> np.ndarray:
    scores = model.score(histories)
    for n, hist in enumerate(histories):
        if len(hist):
            scores[n, hist] = -np.inf  # never recommend what the user already has
    return scores


def ranks_for(model: Recommender, histories: list[np.ndarray], targets: np.ndarray, *, batch: int = 1024,
              top: int = 0) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    ranks = np.empty(len(targets), dtype=np.int64)
    tops = np.empty((len(targets), top), dtype=np.int64) if top else None
    for lo in range(0, len(targets), batch):
        scores = masked_scores(model, histories[lo:lo + batch])
        ranks[lo:lo + batch] = target_ranks(scores, targets[lo:lo + batch])
        if top:
            tops[lo:lo + batch] = top_k(scores, top)
    return (ranks, tops) if top else ranks


@dataclass
class ModelReport:
    model: str
    params: dict[str, Any]
    metrics: dict[str, float]
    train_seconds: float
    validation_ndcg10: float | None = None
    tried: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        return {"model": self.model, **{k: round(v, 5) for k, v in self.metrics.items()},
                "train_seconds": round(self.train_seconds, 2), "params": self.params,
                "validation_ndcg@10": None if self.validation_ndcg10 is None else round(self.validation_ndcg10, 5),
                "tried": self.tried, "notes": self.notes}


def test_metrics(model: Recommender, histories, targets, popularity: np.ndarray) -> dict[str, float]:
    ranks, tops = ranks_for(model, histories, targets, top=10)
    return {
        "recall@10": recall_at_k(ranks, 10), "recall@20": recall_at_k(ranks, 20),
        "ndcg@10": ndcg_at_k(ranks, 10), "ndcg@20": ndcg_at_k(ranks, 20), "mrr": mrr(ranks),
        "coverage": catalogue_coverage(tops, model.n_items),
        "top1pct_share": popular_share(tops, popularity, top_fraction=0.01),
    }


def _fit(name: str, params: dict, train: Interactions, on_epoch=None, validation=None) -> tuple[Recommender, float]:
    model = build_model(name, **params)
    started = time.monotonic()
    if name == "sasrec":
        model.fit(train, on_epoch=on_epoch, validation=validation)
    else:
        model.fit(train, on_epoch=on_epoch)
    return model, time.monotonic() - started


def evaluate_models(data: Interactions, names: list[str], *, tune: bool = True,
                    overrides: dict[str, dict] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Run every model on the same split. Returns {"dataset": {...}, "models": [row, ...]}."""
    overrides = overrides or {}
    say = progress or (lambda stage, info: None)
    split = leave_last_out(data)
    train = split.train
    test_hist_all = train.sequences()
    test_hist = [test_hist_all[u] for u in split.test_users]
    inner = leave_last_out(train)
    inner_hist_all = inner.train.sequences()
    val = ([inner_hist_all[u] for u in inner.test_users], inner.test_items)
    popularity = train.popularity()
    reports = []
    for name in names:
        grid = TUNING_GRIDS.get(name, [{}]) if tune else [{}]
        grid = [{**g, **overrides.get(name, {})} for g in grid]
        tried, best_params, best_val = [], grid[0], None
        if tune and (len(grid) > 1 or name == "sasrec"):
            for params in grid:
                say("tune", {"model": name, "params": params})
                model, seconds = _fit(name, params, inner.train, validation=val,
                                      on_epoch=(lambda r, n=name: say("epoch", {"model": n, **r})))
                score = ndcg_at_k(ranks_for(model, *val), 10)
                tried.append({"params": params, "val_ndcg@10": round(score, 5), "seconds": round(seconds, 1),
                              **({"best_epoch": model.info.get("best_epoch")} if name == "sasrec" else {})})
                if best_val is None or score > best_val:
                    best_val, best_params = score, dict(params)
                    if name == "sasrec":
                        best_params["epochs"] = model.info["best_epoch"]
        say("fit", {"model": name, "params": best_params})
        model, seconds = _fit(name, best_params, train,
                              on_epoch=(lambda r, n=name: say("epoch", {"model": n, **r})))
        say("score", {"model": name})
        metrics = test_metrics(model, test_hist, split.test_items, popularity)
        notes = [model.info["note"]] if model.info.get("note") else []
        reports.append(ModelReport(name, model.params, metrics, seconds, best_val, tried, notes))
        say("done", {"model": name, **metrics})
    return {
        "dataset": {"users": data.n_users, "items": data.n_items, "interactions": len(data),
                    "test_users": int(len(split.test_users)), "validation_users": int(len(inner.test_users)),
                    "protocol": "leave-last-out per user; tuned on second-to-last; full ranking over all items; "
                                "each user's training items excluded from the ranking"},
        "models": [r.as_row() for r in reports],
    }
