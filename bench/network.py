"""Benchmark: simulated link-ticks per second, vectorised engine vs the per-link Python loop, memory, and the
time-series write path.

    OMP_NUM_THREADS=1 DATABASE_URL=postgres://... .venv/bin/python bench/network.py [--json out.json]
        [--sizes 1000,10000,100000] [--ticks 20] [--loop-links 1000] [--write-links 1000] [--write-ticks 20]
        [--no-traffic] [--no-write]

Traffic models are on by default (network/sim/traffic.py): every link carries the default mix of a site kind
(50 % stores, 20 % warehouses, 10 % edge servers, 10 % device clusters, 10 % pick-up points) plus a random traffic
profile, so all five models (bulk, video, interactive, IoT, POS) run; the per-link loop runs the same mix.
Rates are given per wall-clock second and per CPU-second (time.process_time of this process: what one idle
core would do; the machine may be shared). JSON keys: links_<N>.link_ticks_per_cpu_s / .link_ticks_per_s,
reference.link_ticks_per_s, traffic_models.

Topology: 19 n78 UMa cells on a 500 m hexagonal grid (2 rings); links dropped uniformly, 70 % static (half
indoor), 20 % pedestrian, 10 % vehicular (in a car). One core: BLAS/OpenMP threads are pinned to 1.
The per-link loop (network/sim/reference.py, the same model in scalar Python) runs on `--loop-links` links;
its figures for larger N are extrapolated linearly from that measurement and labelled so.
Write path: a throwaway store with `--write-links` sites advanced one tick at a time through the real service
(`simulation_advance`: simulate, bulk INSERT of the 1 s points, roll-ups, health, alerts, state save,
broadcast) against the configured database. Goal: >= 1,000,000 link-ticks/s; the write path under 1 s per tick.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# Not bench/ itself on the path: bench/http.py would shadow the standard library's http (Django imports it).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network.sim.calibration import hex_sites  # noqa: E402
from network.sim.constants import BANDS  # noqa: E402
from network.sim.engine import Cells, Faults, Links, LinkSimulator, SimParams  # noqa: E402
from network.sim.reference import plain, state_as_lists, tick_loop  # noqa: E402
from network.sim.traffic import PROFILE_MIX, TrafficMix, site_mix  # noqa: E402

SITE_KINDS = (("store", 0.5), ("warehouse", 0.2), ("edge_server", 0.1), ("device_cluster", 0.1), ("pickup_point", 0.1))


def bench_traffic(n: int, seed: int = 0) -> TrafficMix:
    rng = np.random.default_rng([seed, 15])
    kinds = rng.choice([k for k, _ in SITE_KINDS], n, p=[p for _, p in SITE_KINDS])
    profiles = rng.choice(sorted(PROFILE_MIX), n)
    return TrafficMix.build([site_mix(str(k), str(p)) for k, p in zip(kinds, profiles, strict=True)])


def bench_cells() -> Cells:
    pts = hex_sites(500.0, rings=2)
    n, _band = len(pts), BANDS["n78"]
    return Cells.build(x=[p[0] for p in pts], y=[p[1] for p in pts], height=[25.0] * n, tx_power_dbm=[49.0] * n,
                       antenna_gain_dbi=[24.0] * n, carrier_ghz=[3.5] * n, n_prb=[273] * n, numerology=[1] * n,
                       overhead=[0.14] * n, noise_figure_db=[7.0] * n, scenario=[0] * n, base_load=[0.5] * n,
                       background_users=[3.0] * n, max_layers=[4] * n, data_gain_db=[9.0] * n)


def bench_links(n: int, seed: int = 0) -> Links:
    rng = np.random.default_rng(seed)
    r = 1100.0 * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * np.pi
    kind = rng.random(n)
    static, ped = kind < 0.7, (kind >= 0.7) & (kind < 0.9)
    veh = ~static & ~ped
    return Links.build(center_x=r * np.cos(a), center_y=r * np.sin(a),
                       route_radius=np.where(static, 0.0, np.where(ped, 40.0, 400.0)),
                       speed_mps=np.where(static, 0.0, np.where(ped, 1.4, 11.0)), phase=rng.random(n) * 2 * np.pi,
                       height=np.full(n, 1.5), indoor=static & (rng.random(n) < 0.5), in_car=veh,
                       endpoint_edge=rng.random(n) < 0.2, backhaul_ms=np.full(n, 2.0))


def bench_vectorised(n: int, ticks: int, traffic: bool = True) -> dict:
    cells, links = bench_cells(), bench_links(n)
    mix = bench_traffic(n) if traffic else None
    sim = LinkSimulator(cells, links, seed=1, params=SimParams(), traffic=mix)
    state = sim.initial_state()
    faults = Faults.none(len(cells), n)
    sim.tick(state, faults)  # warm-up (fills the geometry cache)
    times, cpu = [], []
    for _ in range(ticks):
        t0, c0 = time.perf_counter(), time.process_time()
        sim.tick(state, faults)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    # Memory in a separate pass: tracemalloc hooks every allocation and would slow the timed ticks down.
    tracemalloc.start()
    sim = LinkSimulator(cells, links, seed=1, params=SimParams(), traffic=mix)
    state = sim.initial_state()
    sim.tick(state, faults)
    sim.tick(state, faults)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    state_bytes = sum(v.nbytes for v in state.to_arrays().values() if isinstance(v, np.ndarray))
    per_tick = statistics.median(times)
    # Per CPU-second over all timed ticks (process_time has a coarse clock on some systems: a sum is steadier).
    return {"links": n, "cells": len(cells), "ticks": ticks, "ms_per_tick": per_tick * 1e3,
            "cpu_ms_per_tick": 1e3 * sum(cpu) / ticks, "traffic_models": traffic,
            "link_ticks_per_s": n / per_tick, "link_ticks_per_cpu_s": n * ticks / max(sum(cpu), 1e-9),
            "peak_traced_mb": peak / 2**20, "state_mb": state_bytes / 2**20}


def bench_loop(n: int, ticks: int, traffic: bool = True) -> dict:
    cells, links = bench_cells(), bench_links(n)
    mix = bench_traffic(n) if traffic else None
    sim = LinkSimulator(cells, links, seed=1, params=SimParams(), traffic=mix)
    state = sim.initial_state()
    loop_state, pc, pl, pf = state_as_lists(state), plain(cells), plain(links), plain(Faults.none(len(cells), n))
    times, cpu = [], []
    for t in range(ticks):
        noise = sim.noise(t + 1)
        t0, c0 = time.perf_counter(), time.process_time()
        tick_loop(pc, pl, loop_state, pf, noise, sim.params, traffic=mix)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    per_tick = statistics.median(times)
    return {"links": n, "ms_per_tick": per_tick * 1e3, "link_ticks_per_s": n / per_tick,
            "link_ticks_per_cpu_s": n * ticks / max(sum(cpu), 1e-9), "traffic_models": traffic}


def bench_write_path(n_links: int, ticks: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings.local")
    import django

    django.setup()
    from datetime import timedelta

    from django.db import connection

    from ecomops.models import Store
    from network.models import KpiSample, Link, NetworkSimulation, Resolution, Site
    from network.services.simulation import simulation_advance, simulation_for_store
    from network.services.topology import cell_create

    Store.objects.filter(slug="bench-network").delete()
    store = Store.objects.create(slug="bench-network", name="Network benchmark")
    try:
        cells = bench_cells()
        for i in range(len(cells)):
            cell_create(store=store, name=f"cell-{i}", band="n78", x_m=float(cells.x[i]), y_m=float(cells.y[i]))
        links = bench_links(n_links, seed=3)
        sites = Site.objects.bulk_create([
            Site(store=store, name=f"site-{i}", x_m=float(links.center_x[i]), y_m=float(links.center_y[i]),
                 indoor=bool(links.indoor[i]), mobility="static" if links.route_radius[i] == 0 else
                 ("pedestrian" if links.route_radius[i] < 100 else "vehicular"),
                 route_radius_m=float(links.route_radius[i]), speed_kmh=float(links.speed_mps[i] * 3.6),
                 sla_latency_p95_ms=50.0) for i in range(n_links)])
        Link.objects.bulk_create([Link(store=store, site=s, name=f"{s.name} uplink") for s in sites])
        sim = simulation_for_store(store)
        NetworkSimulation.objects.filter(pk=sim.pk).update(topology_version=sim.topology_version + 1)
        sim.refresh_from_db()
        now = sim.last_advanced_at
        simulation_advance(store_id=store.pk, now=now + timedelta(seconds=1))  # warm-up: topology + state
        now += timedelta(seconds=1)
        step_times = []
        for _ in range(ticks):
            now += timedelta(seconds=1)
            t0 = time.perf_counter()
            result = simulation_advance(store_id=store.pk, now=now)
            step_times.append(time.perf_counter() - t0)
            assert result["ticks"] == 1, result
        rows = KpiSample.objects.for_store(store).filter(resolution=Resolution.RAW).count()
        # The bulk INSERT alone, for the same 1,000 rows a tick writes.
        sample = list(KpiSample.objects.for_store(store).filter(resolution=Resolution.RAW)[:n_links])
        for obj in sample:
            obj.pk = None
            obj.ts = obj.ts + timedelta(days=365)
        t0 = time.perf_counter()
        KpiSample.objects.bulk_create(sample, batch_size=5000)
        insert_s = time.perf_counter() - t0
        return {"links": n_links, "ticks": ticks, "database": connection.vendor, "rows_written": rows,
                "step_ms_median": statistics.median(step_times) * 1e3,
                "step_ms_p95": float(np.percentile(step_times, 95)) * 1e3,
                "bulk_insert_ms": insert_s * 1e3, "keeps_up_at_1hz": statistics.median(step_times) < 1.0}
    finally:
        Store.objects.filter(slug="bench-network").delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--loop-links", type=int, default=1000)
    parser.add_argument("--loop-ticks", type=int, default=3)
    parser.add_argument("--write-links", type=int, default=1000)
    parser.add_argument("--write-ticks", type=int, default=20)
    parser.add_argument("--no-write", action="store_true", help="skip the database write path")
    parser.add_argument("--no-traffic", action="store_true", help="radio only (throughput = capacity)")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()

    sizes = [int(s) for s in args.sizes.split(",")]
    traffic = not args.no_traffic
    loop = bench_loop(args.loop_links, args.loop_ticks, traffic)
    rows = []
    for n in sizes:
        vec = bench_vectorised(n, args.ticks, traffic)
        measured = n <= args.loop_links
        loop_rate = loop["link_ticks_per_s"]
        rows.append({**vec, "loop_link_ticks_per_s": loop_rate,
                     "loop_basis": "measured" if n == args.loop_links else f"extrapolated from {args.loop_links} links",
                     "speedup": vec["link_ticks_per_s"] / loop_rate, "loop_measured": measured})
    write = None if args.no_write else bench_write_path(args.write_links, args.write_ticks)
    load = os.getloadavg()
    report = {"machine": {"python": platform.python_version(), "numpy": np.__version__, "cpu": platform.processor(),
                          "cores_visible": os.cpu_count(), "load_avg_1m": load[0], "threads": 1},
              "engine": rows, "loop": loop, "write_path": write,
              "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "goal": {"link_ticks_per_cpu_s": 1_000_000, "at_links": 10_000}, "traffic_models": traffic,
              "reference": {k: loop[k] for k in ("links", "link_ticks_per_s", "link_ticks_per_cpu_s", "ms_per_tick")}}
    for r in rows:
        report[f"links_{r['links']}"] = {k: r[k] for k in ("link_ticks_per_s", "link_ticks_per_cpu_s", "ms_per_tick",
                                                          "cpu_ms_per_tick", "speedup")}

    print(f"Link simulator, one core, traffic models {'ON' if traffic else 'off'} "
          f"(load average {load[0]:.1f} on {os.cpu_count()} cores while running)")
    print("link-ticks/s: wall clock; per CPU-s: divided by this process's CPU time (what one idle core would do)")
    print(f"{'links':>8} {'ms/tick':>9} {'vectorised':>14} {'per CPU-s':>12} {'per-link loop':>14} {'loop basis':<28} "
          f"{'speed-up':>9} {'peak MB':>8} {'state MB':>9}")
    for r in rows:
        print(f"{r['links']:>8,} {r['ms_per_tick']:>9.1f} {r['link_ticks_per_s']:>14,.0f} {r['link_ticks_per_cpu_s']:>12,.0f} "
              f"{r['loop_link_ticks_per_s']:>14,.0f} {r['loop_basis']:<28} {r['speedup']:>8.0f}x "
              f"{r['peak_traced_mb']:>8.1f} {r['state_mb']:>9.1f}")
    at10k = report.get("links_10000")
    if at10k:
        rate = at10k["link_ticks_per_cpu_s"]
        print(f"Goal >= 1,000,000 link-ticks per CPU-second at 10,000 links: {'met' if rate >= 1e6 else 'NOT met'} "
              f"({rate:,.0f}; wall clock {at10k['link_ticks_per_s']:,.0f}). Per-link loop: "
              f"{loop['link_ticks_per_s']:,.0f} link-ticks/s ({loop['link_ticks_per_cpu_s']:,.0f} per CPU-s).")
    if write:
        print()
        print(f"Write path, {write['links']:,} links at 1 Hz on {write['database']} ({write['ticks']} ticks): "
              f"step median {write['step_ms_median']:.0f} ms, p95 {write['step_ms_p95']:.0f} ms "
              f"(bulk INSERT of {write['links']:,} points alone {write['bulk_insert_ms']:.0f} ms) -> "
              f"{'keeps up' if write['keeps_up_at_1hz'] else 'does NOT keep up'} with 1 Hz.")
    print(f"Max RSS {report['max_rss_mb']:.0f} MB")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(report, indent=2))
        print(f"Wrote {args.json_path}")


if __name__ == "__main__":
    main()
