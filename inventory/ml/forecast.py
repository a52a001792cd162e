"""Demand forecasting core: many daily series at once, a model chosen per series by rolling-origin backtest.

No Django here (STYLE.md §7): plain numpy arrays in, `SeriesForecast` records out.

How one series is forecast
--------------------------
1. Stock-out days are censored demand (nothing could be sold), so they are not zeros: each is replaced by the
   mean of the in-stock days of the 28 days before it (`clean_history`), and velocity counts in-stock days only.
2. Every candidate model (`candidate_models`: AutoETS, seasonal naive, seasonal exponential smoothing, a 28-day
   moving average, and the intermittent-demand models CrostonSBA, TSB and ADIDA, all from statsforecast) is
   backtested on `folds` windows of `horizon` days ending at the series' last day, refitting at each origin.
   The forecast is the mean of the three models with the lowest mean squared error over those windows (COMBINE).
3. Prediction intervals are the empirical quantiles of that combination's backtest errors (actual - forecast),
   added to its forecast: a split-conformal interval, so its width is what the model really missed by on this series,
   whatever the model's own distributional assumptions. The lower bound is clipped at 0 (demand is never negative).
4. A series too short for one backtest window (a young product) gets its velocity as a flat forecast and a Poisson
   interval around it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

SEASON = 7
DEFAULT_HORIZON = 28
DEFAULT_LEVEL = 80
DEFAULT_FOLDS = 3
VELOCITY_WINDOW = 28
MIN_TRAIN_DAYS = 56
# The forecast is the mean of the 3 best models by backtest. Chosen by looking at both evaluation sets (README):
# against the single winner, on CDNOW weighted RMSSE 0.474 -> 0.438 and 80% coverage 77.1% -> 82.7%; on the demo
# store 0.626 -> 0.636 (slightly worse) but coverage 85.4% -> 78.1% and the store total's RMSSE 0.947 -> 0.887.
COMBINE = 3  # the shortest training window a backtest fold may have (eight weeks)

FULL_MODELS = ("AutoETS", "SeasonalNaive", "SeasonalES", "Velocity28", "CrostonSBA", "TSB", "ADIDA")
FAST_MODELS = tuple(m for m in FULL_MODELS if m != "AutoETS")


def candidate_models(names: Sequence[str] = FULL_MODELS, *, season_length: int = SEASON) -> list:
    """statsforecast model objects for `names` (aliases as in FULL_MODELS)."""
    from statsforecast.models import (
        ADIDA,
        TSB,
        AutoETS,
        CrostonSBA,
        SeasonalExponentialSmoothingOptimized,
        SeasonalNaive,
        WindowAverage,
    )

    factories = {
        "AutoETS": lambda: AutoETS(season_length=season_length, alias="AutoETS"),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season_length, alias="SeasonalNaive"),
        "SeasonalES": lambda: SeasonalExponentialSmoothingOptimized(season_length=season_length, alias="SeasonalES"),
        "Velocity28": lambda: WindowAverage(window_size=VELOCITY_WINDOW, alias="Velocity28"),
        "CrostonSBA": lambda: CrostonSBA(alias="CrostonSBA"),
        "TSB": lambda: TSB(alpha_d=0.1, alpha_p=0.1, alias="TSB"),
        "ADIDA": lambda: ADIDA(alias="ADIDA"),
    }
    unknown = [n for n in names if n not in factories]
    if unknown:
        raise ValueError(f"Unknown model(s) {', '.join(unknown)}; known: {', '.join(factories)}")
    return [factories[n]() for n in names]


@dataclass
class SeriesInput:
    key: str
    y: np.ndarray  # units per day, oldest first; the forecast starts the day after the last value
    in_stock: np.ndarray | None = None  # per day; False marks a stock-out day (censored demand)


@dataclass
class SeriesForecast:
    key: str
    model: str
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    velocity: float  # mean units per in-stock day over the last VELOCITY_WINDOW days
    stockout_days: int  # stock-out days in the history (excluded from velocity and imputed for the models)
    method: str  # "backtest" | "short-history"
    scores: dict[str, float] = field(default_factory=dict)  # backtest MSE per candidate
    folds: int = 0


def clean_history(y: np.ndarray, in_stock: np.ndarray | None) -> tuple[np.ndarray, int]:
    """(history with stock-out days imputed, number of stock-out days)."""
    y = np.asarray(y, dtype=float)
    if in_stock is None:
        return y.copy(), 0
    in_stock = np.asarray(in_stock, dtype=bool)
    if in_stock.shape != y.shape:
        raise ValueError("in_stock must have one flag per day of y")
    out = y.copy()
    missing = np.flatnonzero(~in_stock)
    if len(missing) == 0:
        return out, 0
    overall = float(y[in_stock].mean()) if in_stock.any() else 0.0
    for i in missing:
        lo = max(0, i - VELOCITY_WINDOW)
        window = y[lo:i][in_stock[lo:i]]
        out[i] = float(window.mean()) if len(window) else overall
    return out, int(len(missing))


def velocity(y: np.ndarray, in_stock: np.ndarray | None = None, *, window: int = VELOCITY_WINDOW) -> float:
    """Units per in-stock day over the last `window` days (what a spreadsheet's sales velocity should be)."""
    y = np.asarray(y, dtype=float)[-window:]
    if in_stock is None:
        return float(y.mean()) if len(y) else 0.0
    flags = np.asarray(in_stock, dtype=bool)[-window:]
    return float(y[flags].mean()) if flags.any() else 0.0


def usable_folds(n_days: int, *, horizon: int, folds: int) -> int:
    return max(0, min(folds, (n_days - MIN_TRAIN_DAYS) // horizon))


def _z(level: int) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 200)


def poisson_interval(rate: float, horizon: int, level: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import poisson

    alpha = (100 - level) / 200
    lo = float(poisson.ppf(alpha, rate)) if rate > 0 else 0.0
    hi = float(poisson.ppf(1 - alpha, rate)) if rate > 0 else 0.0
    return np.full(horizon, lo), np.full(horizon, max(hi, rate))


def _short_history(item: SeriesInput, clean: np.ndarray, stockouts: int, *, horizon: int, level: int) -> SeriesForecast:
    rate = velocity(item.y, item.in_stock)
    lo, hi = poisson_interval(rate, horizon, level)
    return SeriesForecast(key=item.key, model="Velocity28", mean=np.full(horizon, rate), lo=lo, hi=hi, velocity=rate,
                          stockout_days=stockouts, method="short-history")


def _frame(keys: list[str], arrays: list[np.ndarray]):
    import pandas as pd

    lengths = [len(a) for a in arrays]
    return pd.DataFrame({
        "unique_id": np.repeat(np.asarray(keys, dtype=object), lengths),
        "ds": np.concatenate([np.arange(n) for n in lengths]),
        "y": np.concatenate(arrays),
    })


def _select(
    item: SeriesInput, clean: np.ndarray, stockouts: int, *, actual: np.ndarray, backtest: dict[str, np.ndarray],
    future, horizon: int, level: int, folds: int, combine: int = COMBINE,
) -> SeriesForecast:
    """Pick the lowest backtest MSE, forecast with it, and put the conformal interval around that forecast.

    With combine > 1 the forecast is the mean of the `combine` best models (and so are the backtest errors the
    interval comes from): a combination is steadier than one winner picked on a few noisy windows."""
    names = list(backtest)
    scores = {}
    for name in names:
        mse = float(np.mean((actual - backtest[name]) ** 2))
        scores[name] = mse if math.isfinite(mse) else math.inf
    ranked = sorted(names, key=lambda n: (scores[n], names.index(n)))
    top = [n for n in ranked[:combine] if math.isfinite(scores[n])] or ranked[:1]
    best = top[0] if len(top) == 1 else "+".join(top)
    mean = np.mean([np.asarray(future(n), dtype=float) for n in top], axis=0)
    fitted = np.mean([backtest[n] for n in top], axis=0)
    if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(fitted)):
        return _short_history(item, clean, stockouts, horizon=horizon, level=level)
    alpha = (100 - level) / 200
    mean = np.clip(mean, 0.0, None)
    q_lo, q_hi = np.quantile(actual - fitted, [alpha, 1 - alpha])
    lo = np.clip(mean + min(q_lo, 0.0), 0.0, None)
    hi = np.maximum(mean + max(q_hi, 0.0), mean)
    return SeriesForecast(key=item.key, model=best, mean=mean, lo=lo, hi=hi, velocity=velocity(item.y, item.in_stock),
                          stockout_days=stockouts, method="backtest", scores=scores, folds=folds)


def _forecast_group_statsforecast(
    items: list[tuple[SeriesInput, np.ndarray, int]], *, horizon: int, level: int, folds: int, models: Sequence[str],
    n_jobs: int, combine: int = COMBINE,
) -> list[SeriesForecast]:
    """The backtest and forecast through StatsForecast.cross_validation / forecast over all series at once."""
    from statsforecast import StatsForecast

    frame = _frame([item.key for item, _, _ in items], [clean for _, clean, _ in items])
    sf = StatsForecast(models=candidate_models(models), freq=1, n_jobs=n_jobs)
    cv = sf.cross_validation(df=frame, h=horizon, step_size=horizon, n_windows=folds, refit=True)
    future = sf.forecast(df=frame, h=horizon)
    cv_groups = dict(tuple(cv.sort_values(["unique_id", "cutoff", "ds"]).groupby("unique_id", sort=False)))
    fut_groups = dict(tuple(future.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=False)))
    out = []
    for item, clean, stockouts in items:
        g, fut = cv_groups[item.key], fut_groups[item.key]
        out.append(_select(item, clean, stockouts, actual=g["y"].to_numpy(dtype=float),
                           backtest={n: g[n].to_numpy(dtype=float) for n in models},
                           future=lambda name, fut=fut: fut[name].to_numpy(dtype=float),
                           horizon=horizon, level=level, folds=folds, combine=combine))
    return out


def _forecast_group_loop(
    items: list[tuple[SeriesInput, np.ndarray, int]], *, horizon: int, level: int, folds: int, models: Sequence[str],
    n_jobs: int = 1, combine: int = COMBINE,
) -> list[SeriesForecast]:
    """The same backtest with one `model.forecast()` call per series, model and window (no data frames)."""
    objects = dict(zip(models, candidate_models(models), strict=True))
    out = []
    for item, clean, stockouts in items:
        n = len(clean)
        cuts = [n - (folds - f) * horizon for f in range(folds)]
        actual = np.concatenate([clean[c : c + horizon] for c in cuts])
        backtest = {name: np.concatenate([m.forecast(y=clean[:c], h=horizon)["mean"] for c in cuts])
                    for name, m in objects.items()}
        out.append(_select(item, clean, stockouts, actual=actual, backtest=backtest,
                           future=lambda name, clean=clean: objects[name].forecast(y=clean, h=horizon)["mean"],
                           horizon=horizon, level=level, folds=folds, combine=combine))
    return out


ENGINES = {"loop": _forecast_group_loop, "statsforecast": _forecast_group_statsforecast}


def forecast_many(
    series: Sequence[SeriesInput],
    *,
    horizon: int = DEFAULT_HORIZON,
    level: int = DEFAULT_LEVEL,
    folds: int = DEFAULT_FOLDS,
    models: Sequence[str] = FULL_MODELS,
    n_jobs: int = 1,
    chunk_size: int = 1000,
    ets_max_adi: float | None = 1.32,
    engine: str = "loop",
    combine: int = COMBINE,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[SeriesForecast]:
    """Forecast every series `horizon` days ahead; results in the order of `series`.

    `ets_max_adi`: series whose average demand interval (days per selling day) is above it are intermittent
    (Syntetos & Boylan's 1.32 cut-off) and are not offered AutoETS: it is the slowest candidate by far and the
    intermittent models are the ones built for them. None offers it to every series.
    `combine`: how many of the best backtested models are averaged (1: the single winner).
    `engine`: "loop" calls each statsforecast model once per series and window; "statsforecast" hands all series
    to StatsForecast.cross_validation (n_jobs processes). Same models, windows and choice; bench/forecast.py measured
    the loop faster on our 2-core machines (the data-frame and process-pool overhead outweighs the work).
    `on_progress(done, total)` is called after each chunk of `chunk_size` series (the job's live progress)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
    if horizon < 1 or folds < 1:
        raise ValueError("horizon and folds must be at least 1")
    if not 50 <= level < 100:
        raise ValueError("level must be between 50 and 99")
    results: dict[str, SeriesForecast] = {}
    prepared = []
    for item in series:
        clean, stockouts = clean_history(item.y, item.in_stock)
        prepared.append((item, clean, stockouts))
    total = len(prepared)
    done = 0
    for start in range(0, total, chunk_size):
        chunk = prepared[start : start + chunk_size]
        groups: dict[tuple[int, tuple[str, ...]], list] = {}
        for entry in chunk:
            clean = entry[1]
            k = usable_folds(len(clean), horizon=horizon, folds=folds)
            selling = int(np.count_nonzero(clean > 0))
            if k == 0 or selling == 0:
                results[entry[0].key] = _short_history(*entry, horizon=horizon, level=level)
                continue
            names = tuple(models)
            if ets_max_adi is not None and len(clean) / selling > ets_max_adi:
                names = tuple(m for m in names if m != "AutoETS") or tuple(models)
            groups.setdefault((k, names), []).append(entry)
        for (k, names), group in groups.items():
            for fc in ENGINES[engine](group, horizon=horizon, level=level, folds=k, models=names, n_jobs=n_jobs,
                                      combine=combine):
                results[fc.key] = fc
        done += len(chunk)
        if on_progress is not None:
            on_progress(done, total)
    return [results[item.key] for item in series]


@dataclass
class AggregateForecast:
    key: str
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    members: int


def reconcile_bottom_up(forecasts: Sequence[SeriesForecast], groups: dict[str, list[str]]) -> list[AggregateForecast]:
    """Category / store totals as the sum of their products' forecasts (bottom-up, so the levels always agree).

    The interval of a total takes the products' interval half-widths as independent (root of the sum of squares,
    each side separately): summing the bounds themselves would claim every product is extreme on the same day."""
    by_key = {f.key: f for f in forecasts}
    out = []
    for key, members in groups.items():
        rows = [by_key[m] for m in members if m in by_key]
        if not rows:
            continue
        mean = np.sum([r.mean for r in rows], axis=0)
        down = np.sqrt(np.sum([(r.mean - r.lo) ** 2 for r in rows], axis=0))
        up = np.sqrt(np.sum([(r.hi - r.mean) ** 2 for r in rows], axis=0))
        out.append(AggregateForecast(key=key, mean=mean, lo=np.clip(mean - down, 0.0, None), hi=mean + up,
                                     members=len(rows)))
    return out


def timed_forecast(series: Sequence[SeriesInput], **kwargs) -> tuple[list[SeriesForecast], float]:
    started = time.perf_counter()
    result = forecast_many(series, **kwargs)
    return result, time.perf_counter() - started
