"""Rolling-origin evaluation of the forecaster against seasonal naive and naive velocity (no Django).

Outer folds: `folds` origins, `horizon` days apart, the last one `horizon` days before the end of the data. At each
origin every method sees only the days before it; ours runs its own inner backtest (model choice and intervals)
inside that training part, so nothing of the test window leaks into it.

Per series and fold (stock-out days of the test window are left out of every error):
  MASE  = mean |error| / mean |day-to-day change| of the training part
  RMSSE = sqrt(mean error^2 / mean squared day-to-day change of the training part)        (M5's scale)
Weighted score (WRMSSE-style, M5): sum over series of weight x RMSSE, weights = each series' share of revenue
(or units) over the last `horizon` days of the training part; averaged over folds. Lower is better.
Coverage: the share of test days whose actual value lies inside the method's 80% interval.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from inventory.ml.forecast import FULL_MODELS, SEASON, SeriesInput, clean_history, forecast_many, velocity


@dataclass
class EvalSeries:
    key: str
    units: np.ndarray  # per day
    revenue: np.ndarray | None = None  # per day, for revenue weights
    in_stock: np.ndarray | None = None


METHODS = ("ours", "seasonal_naive", "naive_velocity")


def _seasonal_naive(train: np.ndarray, horizon: int, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from statsforecast.models import SeasonalNaive

    out = SeasonalNaive(season_length=SEASON).forecast(y=train, h=horizon, level=[level])
    return out["mean"], np.clip(out[f"lo-{level}"], 0, None), out[f"hi-{level}"]


def rolling_origin_report(
    series: Sequence[EvalSeries],
    *,
    horizon: int = 28,
    folds: int = 4,
    level: int = 80,
    weights: str = "revenue",
    models: Sequence[str] = FULL_MODELS,
    inner_folds: int = 3,
    n_jobs: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    if weights not in ("revenue", "units"):
        raise ValueError("weights must be 'revenue' or 'units'")
    n_days = max(len(s.units) for s in series)
    if n_days < folds * horizon + 2 * SEASON:
        raise ValueError(f"{n_days} days of history are too few for {folds} folds of {horizon} days")
    started = time.perf_counter()
    per_fold = {m: [] for m in METHODS}
    errors = {m: {"mase": [], "rmsse": []} for m in METHODS}
    covered = {"ours": [0, 0], "seasonal_naive": [0, 0]}
    total_rmsse = {m: [] for m in METHODS}
    chosen: Counter = Counter()
    for fold in range(folds):
        origin = n_days - (folds - fold) * horizon
        inputs, tests, w_raw, scales = [], [], [], []
        for s in series:
            offset = n_days - len(s.units)  # series are aligned on their last day
            cut = origin - offset
            if cut < 2 * SEASON:
                continue
            flags = s.in_stock if s.in_stock is not None else np.ones(len(s.units), dtype=bool)
            train, train_flags = s.units[:cut], flags[:cut]
            test, test_flags = s.units[cut : cut + horizon], flags[cut : cut + horizon]
            clean, _ = clean_history(train, train_flags)
            diffs = np.diff(clean)
            scale_abs, scale_sq = float(np.mean(np.abs(diffs))), float(np.mean(diffs**2))
            if scale_sq <= 0:
                continue
            basis = s.revenue if weights == "revenue" and s.revenue is not None else s.units
            w_raw.append(float(np.sum(basis[:cut][-horizon:])))
            inputs.append(SeriesInput(key=s.key, y=train, in_stock=train_flags))
            tests.append((test, test_flags, clean))
            scales.append((scale_abs, scale_sq))
        if not inputs:
            continue
        w = np.asarray(w_raw)
        w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))
        ours = forecast_many(inputs, horizon=horizon, level=level, folds=inner_folds, models=models, n_jobs=n_jobs)
        chosen.update(m for f in ours for m in f.model.split("+"))  # how often each model is used
        fold_scores = {m: 0.0 for m in METHODS}
        sums = {m: np.zeros(horizon) for m in METHODS}
        actual_sum = np.zeros(horizon)
        for i, (inp, fc) in enumerate(zip(inputs, ours, strict=True)):
            test, test_flags, clean = tests[i]
            sn_mean, sn_lo, sn_hi = _seasonal_naive(clean, horizon, level)
            vel = np.full(horizon, velocity(inp.y, inp.in_stock))
            preds = {
                "ours": (fc.mean, fc.lo, fc.hi),
                "seasonal_naive": (sn_mean, sn_lo, sn_hi),
                "naive_velocity": (vel, None, None),
            }
            k = len(test)
            mask = test_flags[:k]
            scale_abs, scale_sq = scales[i]
            actual_sum[:k] += np.where(mask, test, 0)
            for m, (mean, lo, hi) in preds.items():
                sums[m][:k] += np.where(mask, mean[:k], 0)
                if not mask.any():
                    continue
                err = test[mask] - mean[:k][mask]
                rmsse = float(np.sqrt(np.mean(err**2) / scale_sq))
                mase = float(np.mean(np.abs(err)) / scale_abs) if scale_abs > 0 else float("nan")
                errors[m]["rmsse"].append(rmsse)
                errors[m]["mase"].append(mase)
                fold_scores[m] += w[i] * rmsse
                if lo is not None:
                    inside = (test[mask] >= lo[:k][mask] - 1e-9) & (test[mask] <= hi[:k][mask] + 1e-9)
                    covered[m][0] += int(inside.sum())
                    covered[m][1] += int(mask.sum())
        # The store (or dataset) total, bottom-up: scaled by the total's own training history.
        totals_train = np.sum([t[2][-horizon * 4 :] for t in tests if len(t[2]) >= horizon * 4], axis=0) \
            if any(len(t[2]) >= horizon * 4 for t in tests) else None
        if totals_train is not None:
            scale = float(np.mean(np.diff(totals_train) ** 2))
            if scale > 0:
                for m in METHODS:
                    total_rmsse[m].append(float(np.sqrt(np.mean((actual_sum - sums[m]) ** 2) / scale)))
        for m in METHODS:
            per_fold[m].append(fold_scores[m])
        if on_progress is not None:
            on_progress(fold + 1, folds)

    def summary(m: str) -> dict:
        out = {
            "weighted_score": float(np.mean(per_fold[m])) if per_fold[m] else None,
            "fold_scores": [round(x, 4) for x in per_fold[m]],
            "mase": float(np.nanmean(errors[m]["mase"])) if errors[m]["mase"] else None,
            "rmsse": float(np.mean(errors[m]["rmsse"])) if errors[m]["rmsse"] else None,
            "total_rmsse": float(np.mean(total_rmsse[m])) if total_rmsse[m] else None,
            "coverage_80": None,
        }
        if m in covered and covered[m][1]:
            out["coverage_80"] = covered[m][0] / covered[m][1]
        return out

    report = {m: summary(m) for m in METHODS}
    report["ours"]["models_chosen"] = dict(chosen.most_common())
    ours, sn = report["ours"]["weighted_score"], report["seasonal_naive"]["weighted_score"]
    improvement = (1 - ours / sn) if ours is not None and sn else None
    report.update(
        n_series=len(series), n_days=n_days, horizon=horizon, folds=folds, level=level, weights=weights,
        models=list(models), improvement_vs_seasonal_naive=improvement,
        goals={
            "beats_seasonal_naive_by_15pct": improvement is not None and improvement >= 0.15,
            "coverage_80_in_75_85": report["ours"]["coverage_80"] is not None
            and 0.75 <= report["ours"]["coverage_80"] <= 0.85,
        },
        seconds=round(time.perf_counter() - started, 2),
    )
    return report
