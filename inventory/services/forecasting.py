"""Training demand forecasts into a new ForecastVersion: products, then categories and the store bottom-up."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ecomops.models import Store
from inventory import selectors
from inventory.ml.forecast import FAST_MODELS, FULL_MODELS, SeriesInput, forecast_many, reconcile_bottom_up
from inventory.models import DemandForecast, ForecastScope, ForecastStatus, ForecastVersion

FORECAST_KIND = "inventory_forecast"
HISTORY_DAYS = 365
CHART_HISTORY_DAYS = 90
MODEL_SETS = {"full": FULL_MODELS, "fast": FAST_MODELS}
# "auto": AutoETS is ~100x slower than the other candidates (bench/forecast.py: ~1.4 series/s with it on the shared
# 2-core machine, ~340 without), so only catalogues up to this many products get the full set.
AUTO_FULL_MAX_PRODUCTS = 1000
MODEL_CHOICES = ("auto", *MODEL_SETS)


def forecast_start(*, store: Store, created_by=None, params: dict | None = None):
    """Queue a forecast job (validated against the kind's declared parameters by the jobs API and the task)."""
    from ecomops.services.jobs import job_create

    return job_create(store=store, kind=FORECAST_KIND, params=params or {}, created_by=created_by)


def _round(values) -> list[float]:
    return [round(float(v), 3) for v in values]


def forecast_train(
    *, store: Store, job=None, horizon: int | None = None, models: str = "auto", history_days: int = HISTORY_DAYS,
    created_by=None, on_progress: Callable[[int, str], None] | None = None,
) -> ForecastVersion:
    """Forecast every product of the store from its order history up to yesterday, into a new version.

    Progress 0-85 is the products (statsforecast, in chunks), 85-95 the bottom-up totals, 95-100 the KPI check."""
    config = selectors.settings_for(store)
    horizon = horizon or config.horizon_days
    if models not in MODEL_CHOICES:
        raise ValueError(f"models must be one of {', '.join(MODEL_CHOICES)}")
    end = selectors.store_today(store) - timedelta(days=1)
    with transaction.atomic():
        number = (ForecastVersion.objects.for_store(store).aggregate(m=Max("version"))["m"] or 0) + 1
        version = ForecastVersion.objects.create(
            store=store, version=number, status=ForecastStatus.TRAINING, horizon_days=horizon, level=80,
            history_end=end, history_start=end - timedelta(days=history_days - 1), job=job, created_by=created_by,
            params={"models": models, "history_days": history_days},
        )
    report = on_progress or (lambda pct, msg: None)
    started = time.perf_counter()
    try:
        history = selectors.demand_history(store, end=end, days=history_days)
        if models == "auto":
            models = "full" if len(history.products) <= AUTO_FULL_MAX_PRODUCTS else "fast"
            ForecastVersion.objects.filter(pk=version.pk).update(params={**version.params, "models": models})
        report(2, f"{len(history.products)} products, {history.days} days of history")
        inputs = []
        for i, product in enumerate(history.products):
            sold = np.flatnonzero(history.units[i] > 0)
            # A product's history starts at its first sale: the zeros before it were not demand (not yet listed).
            first = int(sold[0]) if len(sold) else history.days - 1
            inputs.append(SeriesInput(key=product.sku, y=history.units[i, first:], in_stock=history.in_stock[i, first:]))
        results = forecast_many(
            inputs, horizon=horizon, level=version.level, models=MODEL_SETS[models],
            n_jobs=getattr(settings, "INVENTORY_FORECAST_N_JOBS", 1), chunk_size=200,
            on_progress=lambda done, total: report(2 + 83 * done // max(total, 1), f"forecast {done}/{total} products"),
        )
        start_date = end + timedelta(days=1)
        rows = []
        for i, (product, fc) in enumerate(zip(history.products, results, strict=True)):
            rows.append(DemandForecast(
                store=store, version=version, scope=ForecastScope.PRODUCT, key=product.sku, product=product,
                model_name=fc.model, method=fc.method, start_date=start_date, mean=_round(fc.mean), lo=_round(fc.lo),
                hi=_round(fc.hi), velocity=round(fc.velocity, 4), stockout_days=fc.stockout_days,
                history=_round(history.units[i, -CHART_HISTORY_DAYS:]),
            ))
        groups: dict[str, list[str]] = {}
        for product in history.products:
            groups.setdefault(product.category or "(no category)", []).append(product.sku)
        totals = reconcile_bottom_up(results, groups)
        store_total = reconcile_bottom_up(results, {"store": [p.sku for p in history.products]})
        report(90, "category and store totals")
        sums = {key: history.units[[i for i, p in enumerate(history.products) if p.sku in set(members)]].sum(axis=0)
                for key, members in groups.items()}
        for agg in totals:
            rows.append(DemandForecast(store=store, version=version, scope=ForecastScope.CATEGORY, key=agg.key[:300],
                                       model_name="bottom-up", method="bottom-up", start_date=start_date,
                                       mean=_round(agg.mean), lo=_round(agg.lo), hi=_round(agg.hi),
                                       history=_round(sums[agg.key][-CHART_HISTORY_DAYS:])))
        for agg in store_total:
            rows.append(DemandForecast(store=store, version=version, scope=ForecastScope.STORE, key="store",
                                       model_name="bottom-up", method="bottom-up", start_date=start_date,
                                       mean=_round(agg.mean), lo=_round(agg.lo), hi=_round(agg.hi),
                                       history=_round(history.units.sum(axis=0)[-CHART_HISTORY_DAYS:])))
        DemandForecast.objects.bulk_create(rows, batch_size=500)
        report(95, "KPI anomaly check")
        from inventory.services.anomalies import kpi_anomalies_check

        anomalies = kpi_anomalies_check(store=store, version=version, models=MODEL_SETS[models])
        version.status = ForecastStatus.READY
        version.trained_at = timezone.now()
        version.stats = {
            "series": len(results), "models_chosen": dict(Counter(m for f in results for m in f.model.split("+")).most_common()),
            "stockout_days": int(sum(f.stockout_days for f in results)), "categories": len(totals),
            "seconds": round(time.perf_counter() - started, 2), "anomalies": len(anomalies),
        }
        version.save(update_fields=["status", "trained_at", "stats"])
        report(100, "ready")
    except Exception as exc:
        ForecastVersion.objects.filter(pk=version.pk).update(status=ForecastStatus.FAILED, error=str(exc)[:2000])
        raise
    return version
