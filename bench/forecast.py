"""Benchmark: forecasting many daily demand series in one job vs a per-series Python loop of the same models.

    .venv/bin/python bench/forecast.py [--series 2000] [--days 365] [--horizon 28] [--folds 3]
                                       [--n-jobs 2] [--models fast|full] [--json out.json]

No database. Series are synthetic daily unit sales: a third regular weekly-seasonal sellers (Poisson, 2-20/day), two
thirds intermittent (0.05-0.8/day), the mix of a typical catalogue. Each series gets the full treatment the
forecast job gives a product: every candidate model backtested on `--folds` windows of `--horizon` days, the best
kept, its forecast and a conformal 80% interval.

Rows, side by side in the same run, all through inventory.ml.forecast.forecast_many (identical models, windows,
choices and intervals; only the engine differs):
  first fit      import of statsforecast + the first forecast of one series in a fresh process (statsforecast 2.x
                 has no numba JIT any more; this is the one-off start-up a worker pays once)
  statsforecast  StatsForecast.cross_validation/forecast over all series at once (data frames), n_jobs processes
  loop           one `model.forecast()` call per series, model and window: what the forecast job uses
Goal: 10,000 series in < 5 minutes on 2 cores. When --series is below 10,000 the 10k time is extrapolated from the
measured series/s and the table says so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# Not bench/ itself on the path: bench/http.py would shadow the standard library's http (torch, Django import it).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inventory.ml.forecast import (  # noqa: E402
    FAST_MODELS,
    FULL_MODELS,
    SeriesInput,
    forecast_many,
)

GOAL_SERIES, GOAL_SECONDS = 10_000, 300.0


def synthetic_series(n: int, days: int, seed: int = 0) -> list[SeriesInput]:
    rng = np.random.default_rng(seed)
    week = 1 + 0.4 * np.sin(np.arange(days) * 2 * np.pi / 7)
    out = []
    for i in range(n):
        rate = rng.uniform(2, 20) if i % 3 == 0 else rng.uniform(0.05, 0.8)
        trend = 1 + rng.uniform(-0.3, 0.3) * np.arange(days) / days
        out.append(SeriesInput(key=f"s{i}", y=rng.poisson(rate * week * trend).astype(float)))
    return out


def first_fit_seconds() -> float:
    code = (
        "import time; t=time.perf_counter();"
        "import numpy as np; from inventory.ml.forecast import forecast_many, SeriesInput, FULL_MODELS;"
        "forecast_many([SeriesInput('a', np.random.default_rng(0).poisson(3, 200).astype(float))], horizon=28,"
        " models=FULL_MODELS, ets_max_adi=None);"
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "PYTHONPATH": "."})
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--models", choices=["fast", "full"], default="fast")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    names = FAST_MODELS if args.models == "fast" else FULL_MODELS

    first = first_fit_seconds()
    series = synthetic_series(args.series, args.days)
    forecast_many(series[:20], horizon=args.horizon, folds=args.folds, models=names)  # warm this process
    common = dict(horizon=args.horizon, folds=args.folds, models=names, chunk_size=max(500, args.series // 4))
    rows, results = [], None
    runs = [("statsforecast, n_jobs=1", "statsforecast", 1, args.series),
            (f"statsforecast, n_jobs={args.n_jobs}", "statsforecast", args.n_jobs, args.series),
            ("per-series loop (the job's)", "loop", 1, args.series)]
    for name, engine, n_jobs, n in runs:
        t0 = time.perf_counter()
        out = forecast_many(series[:n], engine=engine, n_jobs=n_jobs, **common)
        seconds = time.perf_counter() - t0
        rows.append({"name": name, "engine": engine, "n_jobs": n_jobs, "series": n, "seconds": seconds,
                     "series_per_s": n / seconds})
        if engine == "loop":
            results = out
    rows.insert(0, {"name": "first fit (fresh process)", "series": 1, "seconds": first, "series_per_s": None})
    loop_rate = rows[-1]["series_per_s"]
    vec_rate = max(r["series_per_s"] for r in rows[1:-1])
    extrapolated = args.series < GOAL_SERIES
    job_10k = GOAL_SERIES / loop_rate
    chosen: dict[str, int] = {}
    for r in results:
        for m in r.model.split("+"):  # each model of the series' 3-best combination
            chosen[m] = chosen.get(m, 0) + 1
    print(f"{args.series} synthetic daily series x {args.days} days; horizon {args.horizon}, {args.folds} backtest "
          f"folds, models {args.models} ({', '.join(names)}); cpus={os.cpu_count()} (shared machine: timings noisy)")
    print(f"{'run':<28}{'series':>8}{'seconds':>10}{'series/s':>10}")
    for row in rows:
        rate = "-" if row["series_per_s"] is None else f"{row['series_per_s']:.1f}"
        print(f"{row['name']:<28}{row['series']:>8}{row['seconds']:>10.2f}{rate:>10}")
    print(f"per-series loop vs best statsforecast run: {loop_rate / vec_rate:.2f}x series/s")
    verdict = "met" if job_10k < GOAL_SECONDS else "NOT met"
    print(f"10,000 series in one job (the loop engine, one process): {job_10k:.0f} s{' (extrapolated from the measured rate)' if extrapolated else ''}"
          f" -> goal < {GOAL_SECONDS:.0f} s {verdict}")
    print(f"models used in the combinations: {chosen}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({
            "series": args.series, "days": args.days, "horizon": args.horizon, "folds": args.folds,
            "n_jobs": args.n_jobs, "models": list(names), "rows": rows, "first_fit_seconds": first,
            "statsforecast_series_per_s": vec_rate, "loop_series_per_s": loop_rate, "loop_speedup": loop_rate / vec_rate,
            "seconds_for_10k": job_10k, "seconds_for_10k_extrapolated": extrapolated,
            "goal_met": job_10k < GOAL_SECONDS, "models_chosen": chosen, "cpu_count": os.cpu_count(),
        }, indent=2))
        print(f"Wrote {args.json_path}")


if __name__ == "__main__":
    main()
