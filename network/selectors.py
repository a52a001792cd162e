"""Reads of the network app, always scoped to a store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.cache import cache

from ecomops.models import Store
from network.models import (
    Cell,
    Incident,
    KpiSample,
    Link,
    NetworkSimulation,
    Resolution,
    ScenarioInjection,
    Site,
)
from network.sim.advisor import DEFAULT_FEATURES, DEFAULT_TRANSPORT, advise

WINDOWS = {"5m": timedelta(minutes=5), "15m": timedelta(minutes=15), "1h": timedelta(hours=1),
           "6h": timedelta(hours=6), "24h": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
KPI_FIELDS = ("rsrp", "rsrq", "sinr", "cqi", "throughput_mbps", "latency_p50_ms", "latency_p95_ms", "jitter_ms",
              "loss", "availability", "handovers")


def cells_for_store(store: Store):
    return Cell.objects.for_store(store).order_by("name")


def sites_for_store(store: Store):
    return Site.objects.for_store(store).order_by("name")


def links_for_store(store: Store):
    return Link.objects.for_store(store).select_related("site", "trace").order_by("kind", "name")


def incidents_for_store(store: Store, *, open_only: bool = False):
    qs = Incident.objects.for_store(store).select_related("link", "site", "acknowledged_by")
    return qs.filter(ended_at__isnull=True) if open_only else qs


def injections_for_store(store: Store):
    return ScenarioInjection.objects.for_store(store).select_related("cell", "site", "created_by")


def live_snapshot(store: Store) -> dict[str, Any]:
    """The last tick's per-link health (from the cache the simulation step writes), or an empty snapshot."""
    return cache.get(f"network:snapshot:{store.pk}") or {"tick": None, "sim_time": None, "links": []}


def default_resolution(window: timedelta) -> str:
    if window <= timedelta(hours=1):
        return Resolution.RAW
    if window <= timedelta(days=7):
        return Resolution.MINUTE
    return Resolution.HOUR


def link_kpi_series(store: Store, link: Link, *, window: str = "15m", resolution: str | None = None) -> dict[str, Any]:
    """A link's KPI series for the last `window` of simulated time, newest point last."""
    if window not in WINDOWS:
        raise ValueError(f"Unknown window {window!r}; choose one of {', '.join(WINDOWS)}.")
    span = WINDOWS[window]
    resolution = resolution or default_resolution(span)
    if resolution not in Resolution.values:
        raise ValueError(f"Unknown resolution {resolution!r}; choose one of {', '.join(Resolution.values)}.")
    qs = KpiSample.objects.for_store(store).filter(link=link, resolution=resolution)
    latest = qs.order_by("-ts").values_list("ts", flat=True).first()
    points = []
    if latest is not None:
        points = list(qs.filter(ts__gt=latest - span).order_by("ts").values("ts", *KPI_FIELDS)[:20000])
    return {"link": link.pk, "window": window, "resolution": resolution,
            "points": [{**p, "ts": p["ts"].isoformat()} for p in points]}


def simulation_settings(store: Store) -> NetworkSimulation | None:
    return NetworkSimulation.objects.for_store(store).first()


def advisor_for_store(store: Store) -> list[dict[str, Any]]:
    """Edge-or-cloud recommendation per site and AI feature from the live KPIs."""
    sim = simulation_settings(store)
    config = (sim.advisor if sim else {}) or {}
    features = config.get("features") or DEFAULT_FEATURES
    transport = {**DEFAULT_TRANSPORT, **(config.get("transport") or {})}
    out = []
    for link in links_for_store(store).filter(site__isnull=False):
        kpis = link.last_kpis or {}
        p50, thr = kpis.get("latency_p50_ms"), kpis.get("throughput_mbps")
        if p50 is None or not thr:
            out.append({"site": link.site.name, "site_id": link.site_id, "link": link.name, "available": False,
                        "advice": []})
            continue
        core = transport["edge_core_ms"] if link.endpoint == "edge" else transport["cloud_core_ms"]
        advice = advise(latency_p50_ms=p50, throughput_mbps=thr, link_core_ms=core, features=features,
                        transport=transport)
        out.append({"site": link.site.name, "site_id": link.site_id, "link": link.name, "available": True,
                    "latency_p50_ms": p50, "throughput_mbps": thr, "grade": link.grade,
                    "advice": [a.__dict__ for a in advice]})
    return out
