"""The demo store's network topology: a few n78 macro cells, one n257 mmWave small cell and typical sites.

Registered with seed_demo's extension hook (ecomops.services.demo_data.register_demo_seeder) when it exists;
`manage.py seed_network --store <slug>` runs the same function for any store.
"""

from __future__ import annotations

import random

from django.db import transaction

from ecomops.models import Store
from network.models import Cell, Site
from network.services.simulation import simulation_for_store
from network.services.topology import cell_create, site_create

DEMO_CELLS = (
    {"name": "gNB-North", "band": "n78", "x_m": 0.0, "y_m": 600.0},
    {"name": "gNB-SouthWest", "band": "n78", "x_m": -520.0, "y_m": -300.0},
    {"name": "gNB-SouthEast", "band": "n78", "x_m": 520.0, "y_m": -300.0},
    {"name": "mmW-Warehouse", "band": "n257", "scenario": "UMi-Street-Canyon", "bandwidth_mhz": 200,
     "x_m": 420.0, "y_m": 80.0, "height_m": 10.0, "base_load": 0.2},
)
DEMO_SITES = (
    {"name": "Flagship store", "kind": "store", "x_m": -80.0, "y_m": 120.0, "indoor": True,
     "sla_latency_p95_ms": 60.0},
    {"name": "Central warehouse", "kind": "warehouse", "x_m": 380.0, "y_m": 40.0, "indoor": False,
     "traffic_profile": "bulk", "sla_throughput_mbps": 50.0},
    {"name": "Edge inference node", "kind": "edge_server", "x_m": 60.0, "y_m": -60.0, "indoor": True,
     "traffic_profile": "inference", "sla_latency_p95_ms": 20.0, "backhaul_ms": 1.0},
    {"name": "Pick-up point Station St", "kind": "pickup_point", "x_m": -400.0, "y_m": -120.0, "indoor": True},
    {"name": "Delivery van fleet", "kind": "device_cluster", "x_m": 0.0, "y_m": 0.0, "indoor": False,
     "mobility": "vehicular", "route_radius_m": 450.0, "speed_kmh": 35.0, "traffic_profile": "iot"},
    {"name": "Warehouse handhelds", "kind": "device_cluster", "x_m": 400.0, "y_m": 60.0, "indoor": False,
     "mobility": "pedestrian", "route_radius_m": 40.0, "speed_kmh": 4.0, "traffic_profile": "pos"},
)


def network_demo_seed(store: Store, rng: random.Random | None = None) -> dict:
    """Create the demo topology once (idempotent: existing cells/sites with these names are kept)."""
    created = {"cells": 0, "sites": 0}
    with transaction.atomic():
        sim = simulation_for_store(store)
        if rng is not None and sim.tick == 0:
            sim.seed = rng.randrange(2**31)
            sim.save(update_fields=["seed"])
        for spec in DEMO_CELLS:
            if not Cell.objects.for_store(store).filter(name=spec["name"]).exists():
                cell_create(store=store, **spec)
                created["cells"] += 1
        for spec in DEMO_SITES:
            if not Site.objects.for_store(store).filter(name=spec["name"]).exists():
                site_create(store=store, **spec)
                created["sites"] += 1
    return created


try:  # the seed_demo extension hook (ecomops.services.demo_data) — optional
    from ecomops.services.demo_data import register_demo_seeder
except ImportError:  # pragma: no cover - older foundation without the hook
    register_demo_seeder = None

if register_demo_seeder is not None:
    register_demo_seeder(network_demo_seed, name="network.demo_topology")
