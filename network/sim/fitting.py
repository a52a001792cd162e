"""Calibration that is judged on traces it was not fitted to. No Django.

A *scenario* is (mobility, application) read from a trace's path: ``static_download``, ``driving_netflix``,
``static_amazon_prime``... (see traces.infer_context). Fitting uses only the ``fit`` traces:

- radio, per mobility (static / driving), pooled over the applications (the radio does not depend on the app):
  1. an RSRP level offset (antenna gain) in closed form (median to median), and an extra per-location loss spread
     (sigma added to the O2I / car penetration, from the inter-quartile ranges) when the real spread is wider;
  2. the cells' base load (PRB utilisation) on a grid, by KS of RSRQ + SINR;
  3. the data-channel gain over the reference signals on a grid, by KS of CQI;
- throughput: the cells' background users on a grid, by KS of the downlink throughput of every fit scenario,
  **each simulated with its application's traffic model** (traffic.app_model: a download is a greedy bulk
  transfer, a video service is the adaptive player with its on/off buffer), so the fitted capacity does not
  absorb the player's behaviour.

A held-out scenario is simulated with the radio fitted for its mobility (the other mobility's when the fit set
has none) and its own application's traffic model, and compared per KPI (two-sample KS distance) and in time
(lag-1 autocorrelation, outage run lengths). The model parameters of the traffic models are fixed defaults
(traffic.TrafficParams), never fitted.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy.stats import ks_2samp

from . import traffic as traffic_models
from .calibration import CalibrationConfig, calibration_cells, calibration_links, like_real
from .engine import Faults, LinkSimulator, SimParams
from .traces import Trace

KPIS = ("rsrp", "rsrq", "sinr", "cqi", "throughput_dl")
RADIO_KPIS = ("rsrp", "rsrq", "sinr", "cqi")
TEMPORAL_KPIS = ("rsrp", "sinr", "throughput_dl")
PERCENTILES = (5, 25, 50, 75, 95)
GOAL_KS = 0.2
WARMUP_TICKS = 10
LOAD_GRID = (0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
LOAD_SIGMA_GRID = (0.1, 0.2, 0.35, 0.5)
RSRQ_FADING_GRID = (0.0, 0.15, 0.3, 0.5)
GAIN_GRID = (0.0, 3.0, 6.0, 9.0, 12.0, 15.0)
USERS_GRID = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
_TRACE_COLUMN = {"rsrp": "rsrp", "rsrq": "rsrq", "sinr": "snr", "cqi": "cqi", "throughput_dl": "dl_kbps"}


def scenario_of(trace: Trace) -> str:
    return f"{trace.scenario or 'unknown'}_{trace.application or 'unknown'}"


@dataclass
class RealScenario:
    name: str
    mobility: str
    application: str
    values: dict[str, np.ndarray]  # pooled 5G samples per KPI
    series: list[dict[str, np.ndarray]]  # per trace: KPI series over the 5G rows (NaN = missing), "outage" flags
    speeds_kmh: list[float]


def group_traces(traces: list[Trace]) -> dict[str, RealScenario]:
    """Pool traces by scenario. KPI samples are the 5G rows (NSA anchor values), throughput in Mbit/s over
    every 5G row (what a monitor sees, idle seconds included); outage = a row not on 5G."""
    groups: dict[str, list[Trace]] = defaultdict(list)
    for t in traces:
        if t.scenario:
            groups[scenario_of(t)].append(t)
    out = {}
    for name, ts in sorted(groups.items()):
        values = {k: [] for k in KPIS}
        series = []
        for t in ts:
            five_g = np.array([m == "5G" for m in t.network_mode])
            one = {"outage": ~five_g}
            for kpi, col in _TRACE_COLUMN.items():
                col_values = np.array([np.nan if v is None else v for v in t.columns[col]], float)
                if kpi == "throughput_dl":
                    col_values = col_values / 1000.0
                x = col_values[five_g]
                one[kpi] = x
                values[kpi].append(x[np.isfinite(x)])
            series.append(one)
        speeds = [v for t in ts for v in t.columns["speed_kmh"] if v]
        out[name] = RealScenario(name, ts[0].scenario, ts[0].application,
                                 {k: np.concatenate(v) if v else np.zeros(0) for k, v in values.items()}, series, speeds)
    return out


@dataclass
class RadioFit:
    rsrp_offset_db: float = 0.0
    extra_sigma_db: float = 0.0
    base_load: float = 0.8
    data_gain_db: float = 9.0
    background_users: float = 16.0
    min_rsrp_dbm: float = -125.0  # below it the phone has no 5G leg (NSA: the network releases it)
    shadow_time_corr_s: float = 300.0  # how fast a fixed spot's surroundings change (static links)
    rsrp_meas_fading: float = 0.3  # share of the fast fading left in the reported wideband RSRP
    rsrq_offset_db: float = 0.0  # reported RSRQ (the LTE anchor's on NSA) minus the modelled one
    rsrq_meas_fading: float = 0.0  # share of the fast fading in the reported RSRQ
    load_sigma: float = 0.2  # second-to-second variability of the cells' PRB load (CalibrationConfig.load_sigma)


def sim_params(cfg: CalibrationConfig, fit: RadioFit) -> SimParams:
    return SimParams(users_sigma=cfg.users_sigma, load_sigma=fit.load_sigma, share_with_own_links=False,
                     min_rsrp_dbm=fit.min_rsrp_dbm, shadow_time_corr_s=fit.shadow_time_corr_s,
                     rsrp_meas_fading=fit.rsrp_meas_fading, rsrq_offset_db=fit.rsrq_offset_db,
                     rsrq_meas_fading=fit.rsrq_meas_fading)


def _config(base: CalibrationConfig, fit: RadioFit, *, links: int, ticks: int, seed: int, speeds) -> CalibrationConfig:
    return replace(base, antenna_gain_dbi=base.antenna_gain_dbi + fit.rsrp_offset_db, base_load=fit.base_load,
                   data_gain_db=fit.data_gain_db, background_users=fit.background_users, links=links, ticks=ticks,
                   seed=seed, driving_speeds_kmh=list(speeds) or [30.0])


def simulate(base: CalibrationConfig, fit: RadioFit, mobility: str, model: str, *, links: int, ticks: int, seed: int,
             speeds=()) -> dict[str, np.ndarray]:
    """ticks x links arrays of each KPI (NaN where the link had no service), plus 'outage' (bool)."""
    cfg = _config(base, fit, links=links, ticks=ticks, seed=seed, speeds=speeds)
    cells = calibration_cells(cfg)
    link_arrays = calibration_links(cfg, "static" if mobility == "static" else "driving")
    params = sim_params(cfg, fit)
    mix = traffic_models.TrafficMix.single(model, links)
    sim = LinkSimulator(cells, link_arrays, seed=seed, params=params, traffic=mix)
    state = sim.initial_state()
    if fit.extra_sigma_db > 0:
        z = np.random.default_rng([seed, 77]).standard_normal(links)
        state.penetration_db = state.penetration_db + fit.extra_sigma_db * z
        sim._rx_cache = None  # the static rows' cached power used the old penetration
    faults = Faults.none(len(cells), links)
    out = {k: np.full((ticks, links), np.nan) for k in KPIS}
    outage = np.zeros((ticks, links), bool)
    for t in range(ticks + WARMUP_TICKS):
        res = sim.tick(state, faults)
        if t < WARMUP_TICKS:
            continue
        ok = res.available
        row = t - WARMUP_TICKS
        for kpi, arr in (("rsrp", res.rsrp), ("rsrq", res.rsrq), ("sinr", res.sinr), ("cqi", res.cqi),
                         ("throughput_dl", res.throughput_mbps)):
            out[kpi][row] = np.where(ok, arr, np.nan)
        outage[row] = ~ok
    out["outage"] = outage
    return out


def _pooled(sim: dict[str, np.ndarray], kpi: str) -> np.ndarray:
    x = sim[kpi].ravel()
    return x[np.isfinite(x)]


def _rsrq_shift(real_rsrq: np.ndarray, sim_rsrq: np.ndarray) -> float:
    """The RSRQ offset in closed form: median to median (0 without samples)."""
    return float(np.median(real_rsrq) - np.median(sim_rsrq)) if len(real_rsrq) and len(sim_rsrq) else 0.0


def _percentiles(x: np.ndarray) -> dict[str, float]:
    return {str(p): float(np.percentile(x, p)) for p in PERCENTILES}


def ks(real: np.ndarray, sim: np.ndarray) -> float | None:
    if len(real) == 0 or len(sim) == 0:
        return None
    return float(ks_2samp(real, like_real(real, sim)).statistic)


def _iqr(x: np.ndarray) -> float:
    return float(np.subtract(*np.percentile(x, [75, 25]))) if len(x) else 0.0


def fit_mobility(base: CalibrationConfig, scenarios: list[RealScenario], *, links: int = 200, ticks: int = 120,
                 seed: int = 11, on_step=None) -> RadioFit:
    """Fit the radio and the cells' background users for one mobility on its fit scenarios (module docstring)."""
    mobility = scenarios[0].mobility
    speeds = [v for s in scenarios for v in s.speeds_kmh]
    real = {k: np.concatenate([s.values[k] for s in scenarios]) for k in RADIO_KPIS}
    fit = RadioFit(base_load=base.base_load, data_gain_db=base.data_gain_db, background_users=base.background_users)
    if mobility == "driving" and len(real["rsrp"]):
        # The weakest RSRP the network kept a 5G leg at, where the phone moves in and out of coverage (at a
        # fixed spot the few spots measured say nothing of where coverage ends).
        fit = replace(fit, min_rsrp_dbm=float(np.clip(np.percentile(real["rsrp"], 0.5), -125.0, -100.0)))

    def run(f: RadioFit, model: str = "bulk", *, n_links: int = links, n_ticks: int = ticks):
        if on_step:
            on_step()
        return simulate(base, f, mobility, model, links=n_links, ticks=n_ticks, seed=seed, speeds=speeds)

    # How a phone's RSRP moves from second to second (1 s changes) and, at a fixed spot, within ten minutes
    # (deviations from the window's median): the measurement's share of fast fading, and for static sites how
    # fast their surroundings change.
    # Sizes scale with the fitting runs' (defaults: 60 links x 600 s, ten-minute windows).
    t_links, t_ticks = min(TEMPORAL_LINKS, links), min(TEMPORAL_WINDOW_S, 5 * ticks)
    real_series = [x["rsrp"] for s in scenarios for x in s.series]
    real_diff, real_dev = one_second_changes(real_series), window_deviations(real_series, t_ticks)
    if len(real_diff) > 50:
        scored = []
        for tau in (TAU_GRID_S if mobility == "static" else (fit.shadow_time_corr_s,)):
            for share in MEAS_FADING_GRID:
                f = replace(fit, shadow_time_corr_s=tau, rsrp_meas_fading=share)
                sim = run(f, n_links=t_links, n_ticks=t_ticks)
                columns = [like_real(real["rsrp"], sim["rsrp"][:, j]) for j in range(sim["rsrp"].shape[1])]
                score = ks(real_diff, one_second_changes(columns)) or 1.0
                if mobility == "static" and len(real_dev):
                    score += ks(real_dev, window_deviations(columns, t_ticks)) or 1.0
                scored.append((score, tau, share))
        _, tau, share = min(scored)
        fit = replace(fit, shadow_time_corr_s=tau, rsrp_meas_fading=share)

    for _ in range(2):  # the offset moves links in / out of coverage: a second pass settles it
        sim = run(fit)
        s_rsrp = _pooled(sim, "rsrp")
        if len(s_rsrp) and len(real["rsrp"]):
            offset = float(np.median(real["rsrp"]) - np.median(s_rsrp))
            spread = max(_iqr(real["rsrp"]) ** 2 - _iqr(s_rsrp) ** 2, 0.0) ** 0.5 / 1.349
            fit = replace(fit, rsrp_offset_db=fit.rsrp_offset_db + offset,
                          extra_sigma_db=math.hypot(fit.extra_sigma_db, spread) if spread > 0.5 else fit.extra_sigma_db)

    def best(values, field: str, kpis: tuple[str, ...]):
        scored = []
        for v in values:
            f = replace(fit, **{field: v})
            sim = run(f)
            score = sum(ks(real[k], _pooled(sim, k)) or 1.0 for k in kpis)
            scored.append((score, v))
        return min(scored)[1]

    fit = best_load(fit, real, lambda f: run(f))
    fit = replace(fit, data_gain_db=best(GAIN_GRID, "data_gain_db", ("cqi",)))
    scored = []
    for users in USERS_GRID:
        f = replace(fit, background_users=users)
        total = 0.0
        for s in scenarios:
            sim = run(f, traffic_models.app_model(s.application))
            total += ks(s.values["throughput_dl"], _pooled(sim, "throughput_dl")) or 1.0
        scored.append((total, users))
    return replace(fit, background_users=min(scored)[1])


TEMPORAL_WINDOW_S = 600
TEMPORAL_LINKS = 60
TAU_GRID_S = (300.0, 1800.0, 7200.0, 36000.0)
MEAS_FADING_GRID = (0.0, 0.15, 0.3, 0.5, 0.8)


def one_second_changes(series: list[np.ndarray]) -> np.ndarray:
    """Pooled changes between consecutive samples (pairs with a gap skipped)."""
    out = []
    for x in series:
        x = np.asarray(x, float)
        d = np.diff(x)
        out.append(d[np.isfinite(d)])
    return np.concatenate(out) if out else np.zeros(0)


def window_deviations(series: list[np.ndarray], window: int) -> np.ndarray:
    """Pooled deviations of each sample from the median of its `window`-sample stretch (whole stretches only,
    at least 60 % of them valid): how much a fixed spot's level wanders within that time."""
    out = []
    for x in series:
        x = np.asarray(x, float)
        for start in range(0, len(x) - window + 1, window):
            w = x[start:start + window]
            w = w[np.isfinite(w)]
            if len(w) >= 0.6 * window:
                out.append(w - np.median(w))
    return np.concatenate(out) if out else np.zeros(0)


def best_load(fit: RadioFit, real: dict[str, np.ndarray], run) -> RadioFit:
    """The cells' base load on LOAD_GRID by KS of RSRQ + SINR, the RSRQ offset in closed form (median to
    median) for each candidate, so the load is chosen by the shape of RSRQ and SINR, not by RSRQ's level."""
    scored = []
    for load in LOAD_GRID:
        for sigma in LOAD_SIGMA_GRID:
            f = replace(fit, base_load=load, load_sigma=sigma)
            sim = run(f)
            s_rsrq = _pooled(sim, "rsrq")
            shift = _rsrq_shift(real["rsrq"], s_rsrq)
            score = (ks(real["rsrq"], s_rsrq + shift) or 1.0) + (ks(real["sinr"], _pooled(sim, "sinr")) or 1.0)
            scored.append((score, load, sigma, f.rsrq_offset_db + shift))
    _, load, sigma, offset = min(scored)
    fit = replace(fit, base_load=load, load_sigma=sigma, rsrq_offset_db=offset)
    scored = []
    for share in RSRQ_FADING_GRID:  # what the load does not explain of RSRQ's spread
        f = replace(fit, rsrq_meas_fading=share)
        s_rsrq = _pooled(run(f), "rsrq")
        shift = _rsrq_shift(real["rsrq"], s_rsrq)
        scored.append((ks(real["rsrq"], s_rsrq + shift) or 1.0, share, f.rsrq_offset_db + shift))
    _, share, offset = min(scored)
    return replace(fit, rsrq_meas_fading=share, rsrq_offset_db=offset)


def lag1(series: list[np.ndarray]) -> float | None:
    """Lag-1 autocorrelation pooled over series (deviations from each series' mean; NaN pairs skipped)."""
    num = den = 0.0
    for x in series:
        x = np.asarray(x, float)
        if len(x) < 3:
            continue
        finite = np.isfinite(x)
        if finite.sum() < 3:
            continue
        d = x - np.nanmean(x)
        pair = finite[1:] & finite[:-1]
        num += float(np.sum(d[1:][pair] * d[:-1][pair]))
        den += float(np.sum(d[finite] ** 2))
    return num / den if den > 0 else None


def run_lengths(flags: list[np.ndarray]) -> list[int]:
    runs = []
    for f in flags:
        f = np.asarray(f, bool)
        if not f.any():
            continue
        edges = np.diff(np.concatenate([[0], f.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        runs += (ends - starts).tolist()
    return runs


def _runs_summary(runs: list[int], n_samples: int) -> dict:
    return {"runs": len(runs), "mean_s": float(np.mean(runs)) if runs else 0.0,
            "p90_s": float(np.percentile(runs, 90)) if runs else 0.0,
            "fraction": float(sum(runs) / n_samples) if n_samples else 0.0}


def evaluate(real: RealScenario, sim: dict[str, np.ndarray]) -> dict:
    """KS and percentiles per KPI, and the temporal statistics, real vs simulated."""
    out = {}
    for kpi in KPIS:
        r, s = real.values[kpi], _pooled(sim, kpi)
        entry = {"ks": ks(r, s), "n_real": int(len(r)), "n_sim": int(len(s))}
        if len(r) and len(s):
            entry["real"] = _percentiles(r)
            entry["sim"] = _percentiles(s)
        out[kpi] = entry
    temporal = {}
    for kpi in TEMPORAL_KPIS:
        temporal[f"{kpi}_lag1"] = {"real": lag1([x[kpi] for x in real.series]),
                                   "sim": lag1([sim[kpi][:, j] for j in range(sim[kpi].shape[1])])}
    real_flags = [x["outage"] for x in real.series]
    sim_flags = [sim["outage"][:, j] for j in range(sim["outage"].shape[1])]
    temporal["outage"] = {"real": _runs_summary(run_lengths(real_flags), sum(len(f) for f in real_flags)),
                          "sim": _runs_summary(run_lengths(sim_flags), sim["outage"].size)}
    out["temporal"] = temporal
    return out


def fit_and_holdout(base: CalibrationConfig, fit_scenarios: dict[str, RealScenario],
                    holdout_scenarios: dict[str, RealScenario], *, fit_links: int = 200, fit_ticks: int = 120,
                    links: int = 300, ticks: int = 240, seed: int = 2020, on_step=None,
                    conditioned: bool = True) -> dict:
    """Fit on `fit_scenarios` only, evaluate every held-out scenario. Returns the report dict."""
    by_mobility: dict[str, list[RealScenario]] = defaultdict(list)
    for s in fit_scenarios.values():
        if s.mobility in ("static", "driving"):
            by_mobility[s.mobility].append(s)
    if not by_mobility:
        raise ValueError("no fit traces with a Static or Driving folder in their path")
    fits = {m: fit_mobility(base, ss, links=fit_links, ticks=fit_ticks, seed=seed + 101, on_step=on_step)
            for m, ss in sorted(by_mobility.items())}
    speeds = {m: [v for s in ss for v in s.speeds_kmh] for m, ss in by_mobility.items()}
    report = {"fit_scenarios": sorted(fit_scenarios), "fitted": {m: asdict(f) for m, f in fits.items()},
              "holdout": {}}
    for name, real in sorted(holdout_scenarios.items()):
        mobility = real.mobility if real.mobility in fits else next(iter(fits))
        model = traffic_models.app_model(real.application)
        # Held-out simulations use other seeds than the fit (no shared draws).
        sim = simulate(base, fits[mobility], real.mobility or mobility, model, links=links, ticks=ticks,
                       seed=seed + 7919, speeds=speeds.get(real.mobility) or speeds[mobility])
        result = evaluate(real, sim)
        result["radio_from"] = mobility
        result["traffic_model"] = model
        if real.mobility == "static":
            result["real_floor"] = real_floor(fit_scenarios, real)
            if conditioned and "static" in fits:
                result["conditioned"] = conditioned_holdout(
                    base, fits["static"], real, seed=seed + 31, on_step=on_step,
                    replicas=min(40, fit_links), fit_ticks=min(180, int(1.5 * fit_ticks)),
                    max_ticks=min(3600, 30 * fit_ticks))
        report["holdout"][name] = result
        if on_step:
            on_step()
    return report


def real_floor(fit_scenarios: dict[str, RealScenario], real: RealScenario) -> dict:
    """KS between the held-out traces and the fit traces of the same mobility, real against real. KS is a
    distance, so a simulation within e of its fit data is at least (this - e) from the held-out data: where
    this is above the goal, a population model can meet the goal on the held-out spots only by not fitting
    the spots it was fitted on."""
    same = [s for s in fit_scenarios.values() if s.mobility == real.mobility]
    if not same:
        return {}
    return {k: ks(real.values[k], np.concatenate([s.values[k] for s in same])) for k in KPIS}


CONDITION_SHARE = 0.3


def _part(real: RealScenario, series: dict[str, np.ndarray], lo: float, hi: float) -> RealScenario:
    n = len(series["rsrp"])
    a, b = int(n * lo), int(n * hi)
    one = {k: (v[a:b] if k != "outage" else v) for k, v in series.items()}
    values = {k: one[k][np.isfinite(one[k])] for k in KPIS}
    return RealScenario(real.name, real.mobility, real.application, values, [one], real.speeds_kmh)


def conditioned_holdout(base: CalibrationConfig, population: RadioFit, real: RealScenario, *, seed: int,
                        share: float = CONDITION_SHARE, on_step=None, replicas: int = 40, fit_ticks: int = 180,
                        max_ticks: int = 3600) -> dict:
    """Per-site conditioning judged on time it was not fitted to: every held-out static trace (one indoor spot)
    conditions its site (distance, location loss, load, gain, background users; fit_site) on its first `share` of
    seconds, starting from the population fitted on the fit traces; the conditioned site is then simulated
    and compared with the trace's remaining seconds. Sites are pooled like the real samples (each site's
    simulated values resampled to its trace's count), so a long trace weighs as much as in the real pool."""
    rng = np.random.default_rng(seed)
    real_rest = {k: [] for k in KPIS}
    sim_rest = {k: [] for k in KPIS}
    replay = {k: [] for k in KPIS}  # the peer: the first seconds replayed as the forecast of the rest
    rng_replay = np.random.default_rng([seed, 1])
    sites = []
    for i, series in enumerate(real.series):
        first, rest = _part(real, series, 0.0, share), _part(real, series, share, 1.0)
        if min(len(first.values["rsrp"]), len(rest.values["rsrp"])) < 20:
            continue
        site, fitted = fit_site(base, population, first, seed=seed + i, on_step=on_step, replicas=replicas,
                                ticks=fit_ticks)
        radio = RadioFit(**fitted["radio"])
        # As long as the seconds it is judged on (up to an hour): a spot's level wanders with time.
        sim = simulate_site(base, radio, distance_m=site.distance_m, offset_db=site.offset_db,
                            bearing_deg=site.bearing_deg, model=traffic_models.app_model(real.application),
                            replicas=min(12, replicas), ticks=int(min(len(rest.series[0]["rsrp"]), max_ticks)),
                            seed=seed + 1000 + i)
        for k in KPIS:
            r, x = rest.values[k], _pooled(sim, k)
            if len(r) == 0 or len(x) == 0:
                continue
            real_rest[k].append(r)
            sim_rest[k].append(rng.choice(x, len(r)))
            if len(first.values[k]):
                replay[k].append(rng_replay.choice(first.values[k], len(r)))
        sites.append({"trace": i, "fit_seconds": int(len(first.values["rsrp"])),
                      "test_seconds": int(len(rest.values["rsrp"])), **asdict(site)})
    out = {"condition_share": share, "sites": sites}
    for k in KPIS:
        r = np.concatenate(real_rest[k]) if real_rest[k] else np.zeros(0)
        x = np.concatenate(sim_rest[k]) if sim_rest[k] else np.zeros(0)
        y = np.concatenate(replay[k]) if replay[k] else np.zeros(0)
        out[k] = {"ks": ks(r, x), "n_real": int(len(r)), "replay_ks": ks(r, y)}
    return out


def conditioned_misses(holdout: dict) -> list[str] | None:
    """Goal misses of the conditioned static sites; None when no held-out scenario has them."""
    parts = {name: r["conditioned"] for name, r in holdout.items() if r.get("conditioned")}
    return goal_misses(parts) if parts else None


def mobility_steps(mobility: str, n_scenarios: int) -> int:
    """Simulation runs fit_mobility makes (for progress bars)."""
    temporal = len(MEAS_FADING_GRID) * (len(TAU_GRID_S) if mobility == "static" else 1)
    return (temporal + 2 + len(LOAD_GRID) * len(LOAD_SIGMA_GRID) + len(RSRQ_FADING_GRID) + len(GAIN_GRID)
            + len(USERS_GRID) * n_scenarios)


def site_steps() -> int:
    """Simulation runs fit_site makes (for progress bars)."""
    return (3 * len(DISTANCE_GRID_M) * len(BEARING_GRID_DEG) + len(LOAD_GRID) * len(LOAD_SIGMA_GRID) + len(RSRQ_FADING_GRID)
            + len(GAIN_GRID) + len(USERS_GRID))


def goal_misses(holdout: dict) -> list[str]:
    return [f"{name}/{kpi} (KS {r[kpi]['ks']:.4f})" if r[kpi]["ks"] is not None else f"{name}/{kpi} (no data)"
            for name, r in holdout.items() for kpi in KPIS
            if r[kpi]["ks"] is None or r[kpi]["ks"] > GOAL_KS]


# -- per-site conditioning --------------------------------------------------------------------------------
DISTANCE_GRID_M = (40.0, 80.0, 150.0, 250.0, 400.0)
BEARING_GRID_DEG = (0.0, 30.0, 55.0)  # off the sector's boresight (its edge is at 60)


def simulate_site(base: CalibrationConfig, fit: RadioFit, *, distance_m: float, offset_db: float, model: str,
                  bearing_deg: float = 0.0,
                  replicas: int = 40, ticks: int = 180, seed: int = 5) -> dict[str, np.ndarray]:
    """One static indoor site at `distance_m` from the centre site, `bearing_deg` off its first sector's boresight, with a fixed
    location loss `offset_db` (its shadowing + building loss), simulated as `replicas` independent phones at the
    same spot (same large-scale state, own fading, load and traffic draws)."""
    cfg = _config(base, fit, links=replicas, ticks=ticks, seed=seed, speeds=())
    cells = calibration_cells(cfg)
    links = calibration_links(cfg, "static")
    angle = math.radians(30.0 + bearing_deg)  # sector 0 boresight is 30 degrees (calibration_cells)
    links = replace(links, center_x=np.full(replicas, distance_m * math.cos(angle)),
                    center_y=np.full(replicas, distance_m * math.sin(angle)), height=np.full(replicas, 1.5))
    sim = LinkSimulator(cells, links, seed=seed, params=sim_params(cfg, fit),
                        traffic=traffic_models.TrafficMix.single(model, replicas))
    state = sim.initial_state()
    state.shadow[:] = 0.0  # the site's own shadowing and LOS state are in the fitted location loss:
    state.los_field[:] = np.inf  # NLOS to every cell (deterministic; the offset carries the level)
    state.penetration_db = np.full(replicas, offset_db)
    sim._rx_cache = None
    faults = Faults.none(len(cells), replicas)
    out = {k: np.full((ticks, replicas), np.nan) for k in KPIS}
    outage = np.zeros((ticks, replicas), bool)
    for t in range(ticks + WARMUP_TICKS):
        res = sim.tick(state, faults)
        if t < WARMUP_TICKS:
            continue
        ok = res.available
        for kpi, arr in (("rsrp", res.rsrp), ("rsrq", res.rsrq), ("sinr", res.sinr), ("cqi", res.cqi),
                         ("throughput_dl", res.throughput_mbps)):
            out[kpi][t - WARMUP_TICKS] = np.where(ok, arr, np.nan)
        outage[t - WARMUP_TICKS] = ~ok
    out["outage"] = outage
    return out


@dataclass
class SiteFit:
    distance_m: float
    offset_db: float
    base_load: float
    background_users: float
    bearing_deg: float = 0.0


def fit_site(base: CalibrationConfig, population: RadioFit, real: RealScenario, *, replicas: int = 40,
             ticks: int = 180, seed: int = 5, on_step=None) -> tuple[SiteFit, dict]:
    """Condition one static site on its trace: position in the cell (distance and bearing off the boresight, by
    SINR and RSRQ's shape), location loss (RSRP level, closed form), load and its variability (RSRQ / SINR),
    data-channel gain (CQI) and background users (throughput with the app's traffic model). Returns the fit
    and the evaluation of the conditioned site against the trace."""
    model = traffic_models.app_model(real.application)

    def run(f: RadioFit, d: float, off: float, b: float, m: str = "bulk"):
        if on_step:
            on_step()
        return simulate_site(base, f, distance_m=d, offset_db=off, model=m, replicas=replicas, ticks=ticks,
                             seed=seed, bearing_deg=b)

    def level(f: RadioFit, d: float, b: float) -> float:
        off = 0.0
        for _ in range(2):
            s = _pooled(run(f, d, off, b), "rsrp")
            if len(s) == 0:
                return off - 20.0
            off += float(np.median(s) - np.median(real.values["rsrp"]))
        return off

    fit = replace(population, extra_sigma_db=0.0)
    scored = []
    for b in BEARING_GRID_DEG:  # where in the cell: SINR's level and shape, RSRQ's shape (its level has an offset)
        for d in DISTANCE_GRID_M:
            off = level(fit, d, b)
            sim = run(fit, d, off, b)
            s_rsrq = _pooled(sim, "rsrq")
            shift = _rsrq_shift(real.values["rsrq"], s_rsrq)
            score = (ks(real.values["sinr"], _pooled(sim, "sinr")) or 1.0) + (ks(real.values["rsrq"], s_rsrq + shift) or 1.0)
            scored.append((score, d, off, b))
    _, distance, offset, bearing = min(scored)
    fit = best_load(fit, real.values, lambda f: run(f, distance, offset, bearing))
    scored = []
    for gain in GAIN_GRID:
        sim = run(replace(fit, data_gain_db=gain), distance, offset, bearing)
        scored.append((ks(real.values["cqi"], _pooled(sim, "cqi")) or 1.0, gain))
    fit = replace(fit, data_gain_db=min(scored)[1])
    if len(real.values["throughput_dl"]):
        scored = []
        for users in USERS_GRID:
            sim = run(replace(fit, background_users=users), distance, offset, bearing, model)
            scored.append((ks(real.values["throughput_dl"], _pooled(sim, "throughput_dl")) or 1.0, users))
        fit = replace(fit, background_users=min(scored)[1])
    final = simulate_site(base, fit, distance_m=distance, offset_db=offset, model=model, replicas=replicas,
                          ticks=ticks, seed=seed + 1000, bearing_deg=bearing)
    site = SiteFit(distance, offset, fit.base_load, fit.background_users, bearing)
    return site, {"site": asdict(site), "radio": asdict(fit), "traffic_model": model, **evaluate(real, final)}


# -- what if, for a conditioned site -------------------------------------------------------------------------
WHAT_IF_KEYS = {  # name -> (where it goes, lowest, highest)
    "load": ("base_load", 0.0, 1.0),
    "users": ("background_users", 0.0, 1000.0),
    "distance_m": ("distance_m", 10.0, 5000.0),
    "location_loss_db": ("offset_db", -60.0, 60.0),
    "bearing_deg": ("bearing_deg", -60.0, 60.0),
}


def parse_what_if(items: list[str]) -> dict[str, float]:
    """"load=0.95" ... -> {"load": 0.95}; ValueError naming the item for an unknown key or a value out of range."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in WHAT_IF_KEYS:
            raise ValueError(f"--what-if {item!r}: expected KEY=VALUE with KEY one of {', '.join(WHAT_IF_KEYS)}")
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"--what-if {item!r}: {raw!r} is not a number") from None
        _, lo, hi = WHAT_IF_KEYS[key]
        if not (lo <= value <= hi) or not math.isfinite(value):
            raise ValueError(f"--what-if {item!r}: {key} must be between {lo:g} and {hi:g}")
        out[key] = value
    return out


def what_if(base: CalibrationConfig, site: SiteFit, radio: RadioFit, model: str, changes: dict[str, float], *,
            replicas: int = 40, ticks: int = 180, seed: int = 7) -> dict:
    """The conditioned site simulated as fitted and with `changes` (WHAT_IF_KEYS), on the same random numbers,
    so the difference is the change's: percentiles per KPI, side by side, and the outage share."""
    def run(s: SiteFit, r: RadioFit):
        return simulate_site(base, r, distance_m=s.distance_m, offset_db=s.offset_db, bearing_deg=s.bearing_deg,
                             model=model, replicas=replicas, ticks=ticks, seed=seed)

    changed_site, changed_radio = site, radio
    for key, value in changes.items():
        field = WHAT_IF_KEYS[key][0]
        if field in ("distance_m", "offset_db", "bearing_deg"):  # where the site is; the rest is the radio's
            changed_site = replace(changed_site, **{field: value})
        else:
            changed_radio = replace(changed_radio, **{field: value})
    out = {"changes": dict(changes)}
    for label, sim in (("fitted", run(site, radio)), ("what_if", run(changed_site, changed_radio))):
        part = {}
        for kpi in KPIS:
            x = _pooled(sim, kpi)
            part[kpi] = _percentiles(x) if len(x) else None
        part["outage_share"] = float(sim["outage"].mean())
        out[label] = part
    return out
