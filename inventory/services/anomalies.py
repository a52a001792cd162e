"""KPI anomaly alerts: revenue, orders and conversion per day against their forecast intervals, with hysteresis.

The check fits the forecaster on each KPI's daily history up to `check_days` days ago and forecasts those days
with 80% intervals, then `detect_anomalies` (inventory.ml.anomaly) decides which days are alerts. New alerts are
stored (one per metric and day) and broadcast to the store's live group as `inventory.anomaly`.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from ecomops.models import Store
from ecomops.realtime import store_broadcast
from ecomops.selectors.overview import daily_series
from inventory import selectors
from inventory.ml.anomaly import detect_anomalies
from inventory.ml.forecast import FULL_MODELS, SeriesInput, forecast_many
from inventory.models import DemandForecast, ForecastScope, ForecastVersion, KpiAnomaly, KpiMetric

CHECK_DAYS = 14
KPI_HISTORY_DAYS = 365


def kpi_series(store: Store, *, end, days: int = KPI_HISTORY_DAYS) -> dict[str, np.ndarray]:
    start = end - timedelta(days=days - 1)
    rows = daily_series(store, start, end)
    dates = [start + timedelta(days=i) for i in range(days)]
    revenue = np.array([float(rows.get(d, {}).get("revenue") or 0) for d in dates])
    orders = np.array([float(rows.get(d, {}).get("orders") or 0) for d in dates])
    sessions = np.array([float(rows.get(d, {}).get("sessions") or 0) for d in dates])
    converted = np.array([float(rows.get(d, {}).get("converted_sessions") or 0) for d in dates])
    conversion = np.divide(converted, sessions, out=np.zeros_like(converted), where=sessions > 0)
    # The store's history starts at its first active day.
    active = np.flatnonzero((orders > 0) | (sessions > 0))
    first = int(active[0]) if len(active) else days
    return {KpiMetric.REVENUE: revenue[first:], KpiMetric.ORDERS: orders[first:], KpiMetric.CONVERSION: conversion[first:]}


def anomaly_payload(anomaly: KpiAnomaly) -> dict:
    return {
        "metric": anomaly.metric, "date": anomaly.date.isoformat(), "direction": anomaly.direction,
        "actual": anomaly.actual, "expected": anomaly.expected, "lo": anomaly.lo, "hi": anomaly.hi,
        "size": anomaly.size, "reason": anomaly.reason,
    }


def kpi_anomalies_check(*, store: Store, version: ForecastVersion | None = None, check_days: int = CHECK_DAYS,
                        end=None, models=FULL_MODELS) -> list[KpiAnomaly]:
    """Check the last `check_days` complete days (up to yesterday, or `end`); returns the new anomalies."""
    end = end or selectors.store_today(store) - timedelta(days=1)
    series = kpi_series(store, end=end)
    check_start = end - timedelta(days=check_days - 1)
    inputs = [SeriesInput(key=m, y=y[:-check_days]) for m, y in series.items() if len(y) > check_days]
    if not inputs:
        return []
    forecasts = forecast_many(inputs, horizon=check_days, folds=3, models=models, ets_max_adi=None)
    created = []
    for fc in forecasts:
        actual = series[fc.key][-check_days:]
        if version is not None:
            DemandForecast.objects.update_or_create(
                store=store, version=version, scope=ForecastScope.KPI, key=fc.key,
                defaults={"model_name": fc.model, "method": "kpi-check", "start_date": check_start,
                          "mean": [round(float(v), 4) for v in fc.mean], "lo": [round(float(v), 4) for v in fc.lo],
                          "hi": [round(float(v), 4) for v in fc.hi],
                          "history": [round(float(v), 4) for v in series[fc.key][-90:]]},
            )
        for exc in detect_anomalies(actual, fc.mean, fc.lo, fc.hi):
            day = check_start + timedelta(days=exc.index)
            anomaly, was_created = KpiAnomaly.objects.get_or_create(
                store=store, metric=fc.key, date=day,
                defaults={"direction": exc.direction, "actual": exc.actual, "expected": exc.expected, "lo": exc.lo,
                          "hi": exc.hi, "size": exc.size, "reason": exc.reason},
            )
            if was_created:
                created.append(anomaly)
                store_broadcast(store.pk, "inventory.anomaly", {"anomaly": anomaly_payload(anomaly)})
    return created
