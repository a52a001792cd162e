"""Calibration of the simulator against measured traces (Raca et al. 2020): a static and a driving scenario
configured like the measurements, KPI percentiles side by side and the two-sample Kolmogorov-Smirnov distance.

The measurement setting (PROVENANCE.md of the dataset, and the MMSys'20 paper): a phone on a commercial
5G NSA network in a mid-sized European city (Cork), logging once per second. "Static" traces were taken
indoors at fixed spots; "driving" traces in a car at urban speeds (the traces' own speed column gives the
speed distribution we draw from). The calibration scenario is therefore: an urban macro (UMa) hexagonal
grid of 19 three-sector-equivalent sites at 3.5 GHz (n78, 100 MHz), UEs dropped uniformly in the inner 7
cells (the outer ring provides interference), static UEs 100 % indoor (O2I low-loss), driving UEs in a car
(car penetration loss) moving at speeds sampled from the traces. The physical parameters below are set once
for both scenarios (no per-file fitting); see the report of `calibrate_network` for how well they match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import ks_2samp

from .constants import BANDS, SCENARIO_CODE
from .engine import Cells, Faults, Links, LinkSimulator, SimParams

KPIS = ("rsrp", "rsrq", "sinr", "cqi", "throughput_mbps")
GOAL_KPIS = ("rsrp", "rsrq", "cqi", "throughput_mbps")
PERCENTILES = (5, 10, 25, 50, 75, 90, 95)


@dataclass
class CalibrationConfig:
    isd_m: float = 500.0  # inter-site distance, urban macro (TR 38.901 Table 7.2-1 UMa: 500 m)
    height_m: float = 25.0
    tx_power_dbm: float = 46.0  # per 100 MHz carrier
    antenna_gain_dbi: float = 15.0  # SSB beam gain incl. cable losses
    base_load: float = 0.8  # busy commercial network: RSRQ around -13 dB means a loaded anchor
    background_users: float = 16.0  # other active users at full load (a busy urban cell)
    users_sigma: float = 1.0  # second-to-second variability of the number of active users (bursty traffic)
    data_gain_db: float = 9.0  # PDSCH beamforming gain over the reference signals (massive MIMO)
    max_layers: int = 2  # 2x2/2x4 phones of 2019
    sectors: int = 3  # three-sector macro sites (the usual deployment); 1 = omnidirectional cells
    load_sigma: float = 0.2  # second-to-second variability of a cell's PRB load (bursty traffic)
    indoor_floors: bool = True  # static (indoor) UEs on floors per TR 38.901, not all at 1.5 m
    links: int = 300
    ticks: int = 240
    seed: int = 2020
    driving_speeds_kmh: list[float] = field(default_factory=lambda: [30.0])


def hex_sites(isd: float, rings: int = 2) -> list[tuple[float, float]]:
    """Hexagonal grid centres (axial coordinates), ring 0 first."""
    pts = []
    for q in range(-rings, rings + 1):
        for r in range(max(-rings, -q - rings), min(rings, -q + rings) + 1):
            x = isd * (q + r / 2.0)
            y = isd * (r * math.sqrt(3) / 2.0)
            pts.append((x, y))
    pts.sort(key=lambda p: math.hypot(*p))
    return pts


def calibration_cells(cfg: CalibrationConfig) -> Cells:
    sites = hex_sites(cfg.isd_m)
    band = BANDS["n78"]
    if cfg.sectors == 3:  # three 120-degree sectors per site, TR 38.901 antenna pattern
        pts = [p for p in sites for _ in range(3)]
        azimuth = [a for _ in sites for a in (30.0, 150.0, 270.0)]
    else:
        pts, azimuth = sites, [float("nan")] * len(sites)
    n = len(pts)
    return Cells.build(
        azimuth_deg=azimuth, x=[p[0] for p in pts], y=[p[1] for p in pts], height=[cfg.height_m] * n, tx_power_dbm=[cfg.tx_power_dbm] * n,
        antenna_gain_dbi=[cfg.antenna_gain_dbi] * n, carrier_ghz=[band.carrier_ghz] * n, n_prb=[band.n_prb(100)] * n,
        numerology=[band.numerology] * n, overhead=[band.overhead] * n, noise_figure_db=[band.noise_figure_db] * n,
        scenario=[SCENARIO_CODE["UMa"]] * n, base_load=[cfg.base_load] * n,
        background_users=[cfg.background_users] * n, max_layers=[cfg.max_layers] * n,
        data_gain_db=[cfg.data_gain_db] * n,
    )


def calibration_links(cfg: CalibrationConfig, scenario: str) -> Links:
    rng = np.random.default_rng([cfg.seed, 1 if scenario == "static" else 2])
    n = cfg.links
    inner = hex_sites(cfg.isd_m, rings=1)
    centre = np.array(inner)[rng.integers(0, len(inner), n)]
    r = cfg.isd_m / math.sqrt(3) * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * math.pi
    x, y = centre[:, 0] + r * np.cos(a), centre[:, 1] + r * np.sin(a)
    if scenario == "static":
        # Indoor UT height per TR 38.901 Table 7.2-1 (UMa): floor n_fl ~ U{1..N_fl}, N_fl ~ U{4..8},
        # h_UT = 3 (n_fl - 1) + 1.5 m.
        n_floors = rng.integers(4, 9, n)
        floor = np.floor(rng.random(n) * n_floors).astype(int) + 1
        height = 3.0 * (floor - 1) + 1.5 if cfg.indoor_floors else np.full(n, 1.5)
        return Links.build(center_x=x, center_y=y, route_radius=np.zeros(n), speed_mps=np.zeros(n),
                           phase=np.zeros(n), height=height, indoor=np.ones(n, bool),
                           in_car=np.zeros(n, bool), endpoint_edge=np.zeros(n, bool), backhaul_ms=np.full(n, 5.0))
    speeds = np.asarray(cfg.driving_speeds_kmh, float)
    speeds = speeds[speeds > 0] if np.any(speeds > 0) else np.array([30.0])
    speed = rng.choice(speeds, n) / 3.6
    return Links.build(center_x=x, center_y=y, route_radius=rng.uniform(200.0, 600.0, n), speed_mps=speed,
                       phase=rng.random(n) * 2 * math.pi, height=np.full(n, 1.5), indoor=np.zeros(n, bool),
                       in_car=np.ones(n, bool), endpoint_edge=np.zeros(n, bool), backhaul_ms=np.full(n, 5.0))


def simulate_scenario(cfg: CalibrationConfig, scenario: str, on_tick=None) -> dict[str, np.ndarray]:
    cells, links = calibration_cells(cfg), calibration_links(cfg, scenario)
    # Each simulated UE stands for one measurement phone: it shares its cell with the background users only.
    params = SimParams(users_sigma=cfg.users_sigma, load_sigma=cfg.load_sigma, share_with_own_links=False)
    sim = LinkSimulator(cells, links, seed=cfg.seed + (0 if scenario == "static" else 1), params=params)
    state = sim.initial_state()
    faults = Faults.none(len(cells), len(links))
    out = {k: [] for k in KPIS}
    for t in range(cfg.ticks):
        res = sim.tick(state, faults)
        ok = res.available
        out["rsrp"].append(res.rsrp[ok])
        out["rsrq"].append(res.rsrq[ok])
        out["sinr"].append(res.sinr[ok])
        out["cqi"].append(res.cqi[ok])
        out["throughput_mbps"].append(res.throughput_mbps[ok])
        if on_tick:
            on_tick(t)
    return {k: np.concatenate(v).astype(float) for k, v in out.items()}


def like_real(real: np.ndarray, sim: np.ndarray) -> np.ndarray:
    """The simulated values at the resolution the phone logged: G-NetTrack writes RSRP, RSRQ, SINR and CQI
    as whole numbers, so where every real value is whole the simulated ones are rounded too (otherwise a
    narrow distribution, one indoor spot's RSRP, differs by the rounding steps alone)."""
    if len(real) and len(sim) and np.all(real == np.round(real)):
        return np.round(sim)
    return sim


def compare(real: dict[str, list[float]], simulated: dict[str, np.ndarray]) -> dict[str, dict]:
    """Percentiles side by side and the KS distance for each KPI present in both."""
    result = {}
    for kpi in KPIS:
        r = np.asarray(real.get(kpi, []), float)
        s = np.asarray(simulated.get(kpi, []), float)
        if len(r) == 0 or len(s) == 0:
            result[kpi] = {"n_real": len(r), "n_sim": len(s), "ks": None}
            continue
        s = like_real(r, s)
        result[kpi] = {
            "n_real": int(len(r)), "n_sim": int(len(s)),
            "real": {str(p): float(np.percentile(r, p)) for p in PERCENTILES},
            "sim": {str(p): float(np.percentile(s, p)) for p in PERCENTILES},
            "ks": float(ks_2samp(r, s).statistic),
        }
    return result
