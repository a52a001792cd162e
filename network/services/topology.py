"""Topology writes: cells and sites (each site gets its simulated link), with the model-range validation."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from ecomops.models import Store
from network.models import Band, Cell, Endpoint, Link, LinkKind, Mobility, NetworkSimulation, Site, SiteKind
from network.sim.constants import BANDS, BS_HEIGHT_LIMITS, POSITION_LIMIT_M, SCENARIO_RANGES, SCENARIOS

CELL_FIELDS = ("name", "band", "bandwidth_mhz", "scenario", "x_m", "y_m", "height_m", "tx_power_dbm",
               "antenna_gain_dbi", "base_load", "background_users", "max_layers", "data_gain_db")
SITE_FIELDS = ("name", "kind", "x_m", "y_m", "height_m", "indoor", "mobility", "route_radius_m", "speed_kmh",
               "traffic_profile", "backhaul_ms", "sla_latency_p95_ms", "sla_throughput_mbps")
MOBILITY_DEFAULTS = {Mobility.PEDESTRIAN: (40.0, 5.0), Mobility.VEHICULAR: (400.0, 40.0)}
UT_HEIGHT_LIMITS = (1.0, 22.5)


def _check_range(errors: dict, field: str, value, lo: float, hi: float, why: str) -> None:
    if value is None:
        return
    if not isinstance(value, (int, float)) or math.isnan(float(value)) or not lo <= float(value) <= hi:
        errors.setdefault(field, []).append(f"{value} is outside {lo:g}..{hi:g} ({why}).")


def cell_validate(data: dict[str, Any]) -> None:
    """Raise ValidationError({field: [reason]}) when a cell is outside what the models support."""
    errors: dict[str, list[str]] = {}
    band = data.get("band")
    if band not in BANDS:
        errors["band"] = [f"Unknown band {band!r}; choose one of {', '.join(BANDS)}."]
    scenario = data.get("scenario")
    if scenario not in SCENARIOS:
        errors["scenario"] = [f"Unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}."]
    if band in BANDS:
        try:
            BANDS[band].n_prb(data.get("bandwidth_mhz"))
        except (ValueError, TypeError) as exc:
            errors["bandwidth_mhz"] = [str(exc)]
    for axis in ("x_m", "y_m"):
        _check_range(errors, axis, data.get(axis), -POSITION_LIMIT_M, POSITION_LIMIT_M, "the store's plane is +-20 km")
    if scenario in BS_HEIGHT_LIMITS:
        lo, hi = BS_HEIGHT_LIMITS[scenario]
        _check_range(errors, "height_m", data.get("height_m"), lo, hi, f"TR 38.901 {scenario} base-station height")
    _check_range(errors, "tx_power_dbm", data.get("tx_power_dbm"), 0.0, 60.0, "gNB transmit power")
    _check_range(errors, "antenna_gain_dbi", data.get("antenna_gain_dbi"), 0.0, 35.0, "antenna gain")
    _check_range(errors, "base_load", data.get("base_load"), 0.0, 1.0, "a fraction of the PRBs")
    _check_range(errors, "background_users", data.get("background_users"), 0.0, 500.0, "users per cell")
    _check_range(errors, "max_layers", data.get("max_layers"), 1, 8, "MIMO layers")
    _check_range(errors, "data_gain_db", data.get("data_gain_db"), 0.0, 30.0, "beamforming gain")
    if errors:
        raise ValidationError(errors)


def site_validate(data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if data.get("kind") not in SiteKind.values:
        errors["kind"] = [f"Unknown site kind {data.get('kind')!r}; choose one of {', '.join(SiteKind.values)}."]
    if data.get("mobility") not in Mobility.values:
        errors["mobility"] = [f"Unknown mobility {data.get('mobility')!r}; choose one of {', '.join(Mobility.values)}."]
    for axis in ("x_m", "y_m"):
        _check_range(errors, axis, data.get(axis), -POSITION_LIMIT_M, POSITION_LIMIT_M, "the store's plane is +-20 km")
    _check_range(errors, "height_m", data.get("height_m"), *UT_HEIGHT_LIMITS, "TR 38.901 UT height")
    _check_range(errors, "route_radius_m", data.get("route_radius_m"), 0.0, 5000.0, "route radius")
    _check_range(errors, "speed_kmh", data.get("speed_kmh"), 0.0, 250.0, "speed")
    _check_range(errors, "backhaul_ms", data.get("backhaul_ms"), 0.0, 1000.0, "backhaul latency")
    _check_range(errors, "sla_latency_p95_ms", data.get("sla_latency_p95_ms"), 0.1, 10_000.0, "SLA latency")
    _check_range(errors, "sla_throughput_mbps", data.get("sla_throughput_mbps"), 0.001, 100_000.0, "SLA throughput")
    if errors:
        raise ValidationError(errors)


def topology_warnings(store: Store) -> list[str]:
    """Sites whose distance to every cell lies outside the path-loss model's range: the simulator clamps them."""
    cells = list(Cell.objects.for_store(store))
    warnings = []
    for site in Site.objects.for_store(store):
        if not cells:
            break
        dists = [(math.hypot(site.x_m - c.x_m, site.y_m - c.y_m), c) for c in cells]
        d, cell = min(dists, key=lambda t: t[0])
        lo, hi = SCENARIO_RANGES[cell.scenario]["d2d"]
        if d < lo:
            warnings.append(f"{site.name} is {d:.0f} m from {cell.name}; the {cell.scenario} model starts at {lo:g} m, "
                            f"the distance is clamped to {lo:g} m.")
        elif d > hi:
            warnings.append(f"{site.name} is {d:.0f} m from the nearest cell {cell.name}; the {cell.scenario} model "
                            f"stops at {hi:g} m, the distance is clamped (expect no service).")
        ut_lo, ut_hi = SCENARIO_RANGES[cell.scenario]["h_ut"]
        if not ut_lo <= site.height_m <= ut_hi:
            warnings.append(f"{site.name}: height {site.height_m:g} m is outside {cell.scenario}'s UT range "
                            f"{ut_lo:g}..{ut_hi:g} m; formulas are extrapolated.")
    return warnings


def _bump_topology(store: Store) -> None:
    NetworkSimulation.objects.for_store(store).update(topology_version=F("topology_version") + 1)


def _cell_defaults(data: dict) -> dict:
    data = dict(data)
    band = data.setdefault("band", Band.N78)
    data.setdefault("bandwidth_mhz", 100)
    data.setdefault("scenario", "UMa" if band == Band.N78 else "UMi-Street-Canyon")
    defaults = {"UMa": 25.0, "UMi-Street-Canyon": 10.0, "RMa": 35.0, "InH": 3.0}
    data.setdefault("height_m", defaults.get(data["scenario"], 25.0))
    # Massive-MIMO macro at n78: 80 W per 100 MHz and ~24 dBi SSB beam gain; mmWave small cell: 2 W, 30 dBi.
    data.setdefault("tx_power_dbm", 49.0 if band == Band.N78 else 33.0)
    data.setdefault("antenna_gain_dbi", 24.0 if band == Band.N78 else 30.0)
    for key, value in (("x_m", 0.0), ("y_m", 0.0), ("base_load", 0.4), ("background_users", 3.0),
                       ("max_layers", 4 if band == Band.N78 else 2), ("data_gain_db", 9.0 if band == Band.N78 else 0.0)):
        data.setdefault(key, value)
    return data


@transaction.atomic
def cell_create(*, store: Store, **fields) -> Cell:
    data = _cell_defaults({k: v for k, v in fields.items() if k in CELL_FIELDS})
    cell_validate(data)
    cell = Cell.objects.create(store=store, **data)
    _bump_topology(store)
    return cell


@transaction.atomic
def cell_update(*, cell: Cell, **fields) -> Cell:
    data = {k: getattr(cell, k) for k in CELL_FIELDS}
    data.update({k: v for k, v in fields.items() if k in CELL_FIELDS})
    cell_validate(data)
    for key, value in data.items():
        setattr(cell, key, value)
    cell.save()
    _bump_topology(cell.store)
    return cell


@transaction.atomic
def cell_delete(*, cell: Cell) -> None:
    store = cell.store
    cell.delete()
    _bump_topology(store)


def _site_defaults(data: dict) -> dict:
    data = dict(data)
    data.setdefault("kind", SiteKind.STORE)
    data.setdefault("mobility", Mobility.STATIC)
    for key, value in (("x_m", 0.0), ("y_m", 0.0), ("height_m", 1.5), ("backhaul_ms", 2.0), ("traffic_profile", "pos")):
        data.setdefault(key, value)
    data.setdefault("indoor", data["kind"] not in (SiteKind.DEVICE_CLUSTER,) and data["mobility"] == Mobility.STATIC)
    if data["mobility"] in MOBILITY_DEFAULTS:
        radius, speed = MOBILITY_DEFAULTS[data["mobility"]]
        if not data.get("route_radius_m"):
            data["route_radius_m"] = radius
        if not data.get("speed_kmh"):
            data["speed_kmh"] = speed
    else:
        data["route_radius_m"], data["speed_kmh"] = 0.0, 0.0
    return data


@transaction.atomic
def site_create(*, store: Store, **fields) -> Site:
    """Create a site and its simulated link (edge servers reach the edge, everything else the cloud)."""
    data = _site_defaults({k: v for k, v in fields.items() if k in SITE_FIELDS})
    site_validate(data)
    site = Site.objects.create(store=store, **data)
    Link.objects.create(
        store=store, site=site, name=f"{site.name} uplink"[:120], kind=LinkKind.SIMULATED,
        endpoint=Endpoint.EDGE if site.kind == SiteKind.EDGE_SERVER else Endpoint.CLOUD,
    )
    _bump_topology(store)
    return site


@transaction.atomic
def site_update(*, site: Site, **fields) -> Site:
    data = {k: getattr(site, k) for k in SITE_FIELDS}
    data.update({k: v for k, v in fields.items() if k in SITE_FIELDS})
    data = _site_defaults(data)
    site_validate(data)
    for key, value in data.items():
        setattr(site, key, value)
    site.save()
    _bump_topology(site.store)
    return site


@transaction.atomic
def site_delete(*, site: Site) -> None:
    store = site.store
    site.delete()
    _bump_topology(store)
