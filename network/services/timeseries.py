"""The KPI time series: raw 1 s points written in bulk, rolled up into 1 min and 1 h points, bounded retention.

Retention (simulated time): raw points for 1 hour, minute points for 7 days, hour points kept (one row per
link per hour: ~8,800 rows per link per year). Roll-ups run when a tick crosses a minute or hour boundary.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ecomops.models import Store
from network.models import KpiSample, Link, Resolution

RAW_RETENTION = timedelta(hours=1)
MINUTE_RETENTION = timedelta(days=7)
FIELDS = ("rsrp", "rsrq", "sinr", "cqi", "throughput_mbps", "latency_p50_ms", "latency_p95_ms", "jitter_ms",
          "loss", "availability", "handovers", "samples")


def _f(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def kpi_write_raw(*, store: Store, links: list[Link], rows: list[dict[str, Any]]) -> int:
    """One bulk INSERT for every link x tick of this step."""
    objs = []
    for row in rows:
        v = row["values"]
        for j, link in enumerate(links):
            lat = _f(v["latency"][j])
            objs.append(KpiSample(
                store_id=store.pk, link_id=link.pk, resolution=Resolution.RAW, ts=row["ts"],
                rsrp=_f(v["rsrp"][j]), rsrq=_f(v["rsrq"][j]), sinr=_f(v["sinr"][j]), cqi=_f(v["cqi"][j]),
                throughput_mbps=_f(v["throughput"][j]), latency_p50_ms=lat, latency_p95_ms=lat, jitter_ms=None,
                loss=_f(v["loss"][j]), availability=_f(v["available"][j]),
                handovers=int(v["handover"][j]) if math.isfinite(float(v["handover"][j])) else 0, samples=1,
            ))
    KpiSample.objects.bulk_create(objs, batch_size=5000)
    return len(objs)


def _floor(ts: datetime, unit: timedelta) -> datetime:
    seconds = unit.total_seconds()
    epoch = ts.timestamp()
    return datetime.fromtimestamp(math.floor(epoch / seconds) * seconds, tz=ts.tzinfo)


def _aggregate(rows: list[tuple], *, from_raw: bool) -> dict[str, Any]:
    """rows: tuples in FIELDS order for one link and one bucket."""
    arr = np.array([[np.nan if x is None else x for x in r] for r in rows], dtype=float)
    col = {name: arr[:, i] for i, name in enumerate(FIELDS)}
    weights = col["samples"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)

        def wmean(x):
            ok = np.isfinite(x)
            return _f(np.sum(x[ok] * weights[ok]) / np.sum(weights[ok])) if ok.any() else None

        if from_raw:
            lat = col["latency_p50_ms"]
            ok = lat[np.isfinite(lat)]
            p50 = _f(np.percentile(ok, 50)) if len(ok) else None
            p95 = _f(np.percentile(ok, 95)) if len(ok) else None
            jitter = _f(np.mean(np.abs(np.diff(ok)))) if len(ok) > 1 else None
        else:
            # Hour points from minute points: median of minute medians, max of minute p95s (conservative).
            p50 = _f(np.nanmedian(col["latency_p50_ms"])) if np.isfinite(col["latency_p50_ms"]).any() else None
            p95 = _f(np.nanmax(col["latency_p95_ms"])) if np.isfinite(col["latency_p95_ms"]).any() else None
            jitter = wmean(col["jitter_ms"])
        return {
            "rsrp": wmean(col["rsrp"]), "rsrq": wmean(col["rsrq"]), "sinr": wmean(col["sinr"]), "cqi": wmean(col["cqi"]),
            "throughput_mbps": wmean(col["throughput_mbps"]), "latency_p50_ms": p50, "latency_p95_ms": p95,
            "jitter_ms": jitter, "loss": wmean(col["loss"]), "availability": wmean(col["availability"]),
            "handovers": int(np.nansum(col["handovers"])), "samples": int(np.nansum(weights)),
        }


def _rollup(store: Store, *, source: str, target: str, start: datetime, end: datetime) -> int:
    rows = (KpiSample.objects.for_store(store).filter(resolution=source, ts__gte=start, ts__lt=end)
            .order_by("link_id", "ts").values_list("link_id", *FIELDS))
    by_link: dict[int, list[tuple]] = {}
    for link_id, *values in rows:
        by_link.setdefault(link_id, []).append(tuple(values))
    objs = [KpiSample(store_id=store.pk, link_id=link_id, resolution=target, ts=start,
                      **_aggregate(values, from_raw=source == Resolution.RAW))
            for link_id, values in by_link.items()]
    KpiSample.objects.bulk_create(objs, ignore_conflicts=True)  # a re-run of the same bucket adds nothing
    return len(objs)


def kpi_rollup_due(*, store: Store, previous: datetime, current: datetime) -> int:
    """Roll up every minute and hour bucket that closed in (previous, current], then apply retention."""
    created = 0
    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    first = _floor(previous, minute)
    last = _floor(current, minute)
    bucket = first
    closed_minutes = 0
    while bucket < last and closed_minutes < 24 * 60:
        created += _rollup(store, source=Resolution.RAW, target=Resolution.MINUTE, start=bucket, end=bucket + minute)
        bucket += minute
        closed_minutes += 1
    h_first, h_last = _floor(previous, hour), _floor(current, hour)
    bucket = h_first
    while bucket < h_last:
        created += _rollup(store, source=Resolution.MINUTE, target=Resolution.HOUR, start=bucket, end=bucket + hour)
        bucket += hour
    if closed_minutes:
        kpi_apply_retention(store=store, now=current)
    return created


def kpi_apply_retention(*, store: Store, now: datetime) -> int:
    qs = KpiSample.objects.for_store(store)
    deleted, _ = qs.filter(resolution=Resolution.RAW, ts__lt=now - RAW_RETENTION).delete()
    deleted_m, _ = qs.filter(resolution=Resolution.MINUTE, ts__lt=now - MINUTE_RETENTION).delete()
    return deleted + deleted_m
