"""The same link model as engine.py, written as a straightforward per-link Python loop with `math`.

It exists for two reasons: the benchmark compares the vectorised engine against it in the same run, and the
tests check that both give the same KPIs for the same draws (an independent re-derivation of every formula
from the spec, in scalar form). It consumes the TickNoise of engine.draw_noise and mutates a SimState of the
same layout (converted to Python lists).
"""

from __future__ import annotations

import math

from .constants import (
    CQI_EFFICIENCY,
    CQI_SINR_THRESHOLDS_DB,
    LOS_DECORRELATION_M,
    SCENARIO_RANGES,
    SCENARIOS,
    SHADOW_DECORRELATION_M,
    SPEED_OF_LIGHT,
    THERMAL_NOISE_DBM_PER_HZ,
)
from .engine import NO_SIGNAL_DBM, RAIN_K_ALPHA, RS_FRACTION, STATIC_SHADOW_EVERY, TickResult, fading_mean_db
from .phy import _BLER_OFFSET_DB, BLER_SLOPE_PER_DB
from .traffic import step_scalar as traffic_step_scalar

SIGMA = {"UMa": (4.0, 6.0), "UMi-Street-Canyon": (4.0, 7.82), "RMa": (4.0, 8.0), "InH": (3.0, 8.03)}


def pathloss_scalar(scenario: str, d2d: float, h_bs: float, h_ut: float, fc: float) -> tuple[float, float]:
    """(PL_LOS, PL_NLOS) in dB for one link, TR 38.901 Table 7.4.1-1, scalar form."""
    lo, hi = SCENARIO_RANGES[scenario]["d2d"]
    d2d = min(max(d2d, lo), hi)
    d3d = math.sqrt(d2d * d2d + (h_bs - h_ut) ** 2)
    lg = math.log10
    if scenario in ("UMa", "UMi-Street-Canyon"):
        d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc * 1e9 / SPEED_OF_LIGHT
        if scenario == "UMa":
            a, b, c, nlos = 28.0, 22.0, 9.0, 13.54 + 39.08 * lg(d3d) + 20.0 * lg(fc) - 0.6 * (h_ut - 1.5)
        else:
            a, b, c, nlos = 32.4, 21.0, 9.5, 35.3 * lg(d3d) + 22.4 + 21.3 * lg(fc) - 0.3 * (h_ut - 1.5)
        if d2d <= d_bp:
            los = a + b * lg(d3d) + 20.0 * lg(fc)
        else:
            los = a + 40.0 * lg(d3d) + 20.0 * lg(fc) - c * lg(d_bp**2 + (h_bs - h_ut) ** 2)
        return los, max(los, nlos)
    if scenario == "RMa":
        h, w = 5.0, 20.0
        d_bp = 2.0 * math.pi * h_bs * h_ut * fc * 1e9 / SPEED_OF_LIGHT

        def pl1(d):
            return (20.0 * lg(40.0 * math.pi * d * fc / 3.0) + min(0.03 * h**1.72, 10.0) * lg(d)
                    - min(0.044 * h**1.72, 14.77) + 0.002 * lg(h) * d)

        if d2d <= d_bp:
            los = pl1(d3d)
        else:
            d3d_bp = math.sqrt(d_bp**2 + (h_bs - h_ut) ** 2)
            los = pl1(d3d_bp) + 40.0 * lg(d3d / d3d_bp)
        nlos = (161.04 - 7.1 * lg(w) + 7.5 * lg(h) - (24.37 - 3.7 * (h / h_bs) ** 2) * lg(h_bs)
                + (43.42 - 3.1 * lg(h_bs)) * (lg(d3d) - 3.0) + 20.0 * lg(fc) - (3.2 * lg(11.75 * h_ut) ** 2 - 4.97))
        return los, max(los, nlos)
    los = 32.4 + 17.3 * lg(d3d) + 20.0 * lg(fc)
    return los, max(los, 38.3 * lg(d3d) + 17.30 + 24.9 * lg(fc))


def los_probability_scalar(scenario: str, d: float, h_ut: float) -> float:
    """TR 38.901 Table 7.4.2-1, scalar form."""
    lo, hi = SCENARIO_RANGES[scenario]["d2d"]
    d = min(max(d, lo), hi)
    if scenario == "RMa":
        return 1.0 if d <= 10.0 else math.exp(-(d - 10.0) / 1000.0)
    if scenario == "UMi-Street-Canyon":
        return 1.0 if d <= 18.0 else 18.0 / d + math.exp(-d / 36.0) * (1.0 - 18.0 / d)
    if scenario == "UMa":
        if d <= 18.0:
            return 1.0
        c = 0.0 if h_ut <= 13.0 else ((h_ut - 13.0) / 10.0) ** 1.5
        return (18.0 / d + math.exp(-d / 63.0) * (1.0 - 18.0 / d)) * (1.0 + c * 1.25 * (d / 100.0) ** 3 * math.exp(-d / 150.0))
    if d <= 1.2:
        return 1.0
    return math.exp(-(d - 1.2) / 4.7) if d < 6.5 else math.exp(-(d - 6.5) / 32.6) * 0.32


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _cqi(sinr: float) -> int:
    cqi = 0
    for threshold in CQI_SINR_THRESHOLDS_DB:
        if sinr >= threshold:
            cqi += 1
        else:
            break
    return cqi


def _bler(sinr: float, threshold: float) -> float:
    x = BLER_SLOPE_PER_DB * (sinr - threshold + _BLER_OFFSET_DB)
    x = min(max(x, -50.0), 50.0)
    return 1.0 / (1.0 + math.exp(x))


def tick_loop(cells, links, state, faults, noise, params, traffic=None) -> TickResult:
    """One tick, link by link. Mutates `state` like LinkSimulator.tick and returns the same TickResult.
    With `traffic` (a TrafficMix), `state.traffic` is a list of per-link dicts (see state_as_lists) and the KPIs
    come from capacity and demand as in the engine."""
    import numpy as np

    n_l, n_c = len(links), len(cells)
    tick = state.tick + 1
    t_s = params.tick_s
    scen = [SCENARIOS[int(c)] for c in cells.scenario]
    azimuths = list(cells.azimuth_deg) if cells.azimuth_deg is not None else [math.nan] * n_c
    rho_time = math.exp(-t_s / params.shadow_time_corr_s)
    a = params.l3_alpha
    wall = [5.0 - 10.0 * math.log10(0.3 * 10 ** (-(2.0 + 0.2 * f) / 10) + 0.7 * 10 ** (-(5.0 + 4.0 * f) / 10))
            for f in cells.carrier_ghz]
    out = {k: [0.0] * n_l for k in ("rsrp", "rsrq", "sinr", "data_sinr", "bler", "thr", "cap", "lat", "loss",
                                            "x", "y")}
    traffic_weights = traffic.weights.tolist() if traffic is not None else None
    cqi_out, avail_out, ho_out, serv_out = [0] * n_l, [False] * n_l, [False] * n_l, [0] * n_l
    pending = []

    # Cell load first (it does not depend on links).
    new_load = []
    for c in range(n_c):
        value = (params.load_rho * state.load[c] + (1 - params.load_rho) * cells.base_load[c]
                 + params.load_sigma * math.sqrt(1 - params.load_rho**2) * noise.z_load[c])
        new_load.append(min(max(value, 0.0), 1.0))
    load = [min(max(new_load[c] + faults.cell_extra_load[c], 0.0), 1.0) for c in range(n_c)]

    if state.report is None or len(state.report[0]) != n_l:
        state.report = [[math.nan] * n_l for _ in range(3)]
    a_rep = params.report_alpha
    fading_mean = {m: fading_mean_db(m) for m in (params.fading_m_los, params.fading_m_nlos)}
    moving_index = static_index = 0
    for i in range(n_l):
        moving = links.route_radius[i] > 0 and links.speed_mps[i] > 0
        angle = links.phase[i] + (links.speed_mps[i] * tick * t_s / links.route_radius[i] if moving else 0.0)
        radius = links.route_radius[i] if moving else 0.0
        x = links.center_x[i] + faults.link_offset_x[i] + radius * math.cos(angle)
        y = links.center_y[i] + faults.link_offset_y[i] + radius * math.sin(angle)
        step = links.speed_mps[i] * t_s if moving else 0.0
        rsrp_c, los_c = [], []
        for c in range(n_c):
            if moving:
                rho_s = math.exp(-step / SHADOW_DECORRELATION_M[scen[c]]) * rho_time
                rho_l = math.exp(-step / LOS_DECORRELATION_M[scen[c]])
                state.los_field[i][c] = rho_l * state.los_field[i][c] + math.sqrt(1 - rho_l**2) * float(noise.z_los[moving_index][c])
                state.shadow[i][c] = rho_s * state.shadow[i][c] + math.sqrt(1 - rho_s**2) * float(noise.z_shadow_moving[moving_index][c])
            elif tick % STATIC_SHADOW_EVERY == 0:
                rho_s = rho_time**STATIC_SHADOW_EVERY
                state.shadow[i][c] = rho_s * state.shadow[i][c] + math.sqrt(1 - rho_s**2) * float(noise.z_shadow_static[static_index][c])
            d2d = math.hypot(x - cells.x[c], y - cells.y[c])
            pl_los, pl_nlos = pathloss_scalar(scen[c], d2d, cells.height[c], links.height[i], cells.carrier_ghz[c])
            los = _phi(state.los_field[i][c]) < los_probability_scalar(scen[c], d2d, links.height[i])
            s_los, s_nlos = SIGMA[scen[c]]
            pl = (pl_los if los else pl_nlos) + state.shadow[i][c] * (s_los if los else s_nlos)
            az = azimuths[c]
            if az == az:  # sector antenna (not NaN): TR 38.901 Table 7.3-1 horizontal pattern
                phi = (math.degrees(math.atan2(y - cells.y[c], x - cells.x[c])) - az + 180.0) % 360.0 - 180.0
                pl += min(12.0 * (phi / 65.0) ** 2, 30.0)
            pl += state.penetration_db[i] + (wall[c] if links.indoor[i] else 0.0)
            if faults.link_rain_mm_h[i] > 0 and cells.carrier_ghz[c] >= 10.0:
                pl += RAIN_K_ALPHA[0] * faults.link_rain_mm_h[i] ** RAIN_K_ALPHA[1] * d2d / 1000.0
            p = cells.tx_power_dbm[c] - 10 * math.log10(12 * cells.n_prb[c]) + cells.antenna_gain_dbi[c] - pl
            if not faults.cell_active[c]:
                p = NO_SIGNAL_DBM
            rsrp_c.append(p)
            los_c.append(los)
            filt = (1 - a) * state.rsrp_filtered[i][c] + a * p
            state.rsrp_filtered[i][c] = filt if faults.cell_active[c] else NO_SIGNAL_DBM
        if moving:
            moving_index += 1
        else:
            static_index += 1
        filt = state.rsrp_filtered[i]
        best = max(range(n_c), key=lambda c: (filt[c], -c))
        serving = state.serving[i]
        a3 = best != serving and filt[best] > filt[serving] + params.a3_offset_db + params.hysteresis_db
        count = (state.ttt_count[i] + 1 if state.ttt_target[i] == best else 1) if a3 else 0
        do_ho = count >= params.ttt_ticks
        rlf = ((not faults.cell_active[serving]) or filt[serving] < params.min_rsrp_dbm) and filt[best] >= params.min_rsrp_dbm and best != serving
        switch = do_ho or rlf
        if switch:
            serving = best
        state.serving[i] = serving
        state.ttt_count[i] = 0 if switch else count
        state.ttt_target[i] = best if (a3 and not switch) else -1
        interruption = params.rlf_interruption_ms if rlf else (params.handover_interruption_ms if do_ho else 0.0)

        rx = [10 ** (p / 10) for p in rsrp_c]
        s = rx[serving]
        interf = sum(rx[c] * load[c] for c in range(n_c) if c != serving and cells.carrier_ghz[c] == cells.carrier_ghz[serving])
        rs_interf = sum(rx[c] * (RS_FRACTION + (1 - RS_FRACTION) * load[c]) for c in range(n_c)
                        if c != serving and cells.carrier_ghz[c] == cells.carrier_ghz[serving])
        scs = 15e3 * 2 ** int(cells.numerology[serving])
        noise_mw = 10 ** ((THERMAL_NOISE_DBM_PER_HZ + 10 * math.log10(scs) + cells.noise_figure_db[serving]) / 10)
        ext = noise_mw * (10 ** (faults.cell_interference_db[serving] / 10) - 1)
        m = params.fading_m_los if los_c[serving] else params.fading_m_nlos
        wh = 1 - 1 / (9 * m) + noise.z_fading[i] * math.sqrt(1 / (9 * m))
        fading = max(wh, 0.05) ** 3
        s_safe = max(s, 1e-300)
        rsrp = 10 * math.log10(s_safe)
        sinr_est = 10 * math.log10(s_safe / (interf + noise_mw + ext))
        sinr = sinr_est + 10 * math.log10(fading)
        rssi = s * (RS_FRACTION + (1 - RS_FRACTION) * load[serving]) + rs_interf + noise_mw + ext
        rsrq = 10 * math.log10(s_safe / (12 * rssi))
        gain = cells.data_gain_db[serving]
        data_est = min(sinr_est + gain, params.max_data_sinr_db)
        data_sinr = min(sinr + gain, params.max_data_sinr_db)
        cqi = _cqi(data_est)
        threshold = CQI_SINR_THRESHOLDS_DB[max(cqi, 1) - 1]
        b1 = _bler(data_sinr, threshold)
        residual, cumulative, retx = b1, b1, (1.0 if noise.u_harq[i] < b1 else 0.0)
        for k in range(2, params.max_harq_tx + 1):
            bk = _bler(data_sinr + 10 * math.log10(k), threshold)
            residual *= bk
            cumulative *= bk
            if k < params.max_harq_tx and noise.u_harq[i] < cumulative:
                retx += 1
        available = cqi >= 1 and bool(faults.cell_active[serving]) and rsrp >= params.min_rsrp_dbm
        pending.append((i, serving, cqi, data_est, b1, residual, retx, available, interruption))
        # The phone's reports: layer-3 filtered, restarted on a cell change or after a gap in service.
        fading_dev = 10 * math.log10(fading) - fading_mean[m]  # zero-mean fast fading, dB
        measured = (rsrp + params.rsrp_meas_fading * fading_dev,
                    rsrq + params.rsrq_offset_db + params.rsrq_meas_fading * fading_dev, sinr)
        reported = []
        for j, value in enumerate(measured):
            previous = state.report[j][i]
            r = value if (switch or previous != previous) else (1 - a_rep) * previous + a_rep * value
            state.report[j][i] = r if available else math.nan
            reported.append(r if available else value)
        rsrp, rsrq, sinr = reported
        for key, value in (("rsrp", rsrp), ("rsrq", rsrq), ("sinr", sinr), ("data_sinr", data_sinr), ("bler", b1),
                           ("x", x), ("y", y)):
            out[key][i] = value
        cqi_out[i], avail_out[i], ho_out[i], serv_out[i] = (cqi if available else 0), available, switch, serving

    own = [0] * n_c
    for _, serving, *_rest, available, _ in pending:
        if available:
            own[serving] += 1
    if not params.share_with_own_links:
        own = [1] * n_c
    users = []
    for c in range(n_c):
        bg = cells.background_users[c] * load[c] * math.exp(params.users_sigma * noise.z_users[c] - 0.5 * params.users_sigma**2)
        users.append(max(own[c] + bg, 1.0))
    tick_ms = t_s * 1000.0
    for i, serving, cqi, data_est, b1, residual, retx, available, interruption in pending:
        layers = 1 + (data_est > 5.0) + (data_est > 12.0) + (data_est > 18.0)
        layers = min(layers, int(cells.max_layers[serving]))
        mu = int(cells.numerology[serving])
        peak = 1e-6 * layers * CQI_EFFICIENCY[cqi] * (12.0 * cells.n_prb[serving] / (1e-3 / (14 * 2**mu))) * (1 - cells.overhead[serving])
        up = min(max(1 - interruption / tick_ms, 0.0), 1.0)
        thr = peak * params.tdd_dl_share / users[serving] * (1 - b1) * up if available else 0.0
        slot = 1.0 / 2**mu
        queue = min(0.5 * (users[serving] - 1.0), params.max_queue_slots)
        radio = slot * (params.tdd_period_slots / 2 + 2 * (1 + params.processing_slots) + queue)
        core = params.edge_core_ms if links.endpoint_edge[i] else params.cloud_core_ms
        latency = (radio + retx * params.harq_rtt_slots * slot + links.backhaul_ms[i] + faults.link_extra_latency_ms[i] + core
                   + noise.e_jitter[i] * params.jitter_ms * (1 + load[serving]) + interruption)
        loss = min(max(residual + faults.link_extra_loss[i] + interruption / tick_ms, 0.0), 1.0)
        out["cap"][i] = thr
        if traffic is not None:
            tr = traffic_step_scalar(traffic_weights[i], traffic.params, state.traffic[i], thr, available,
                                     float(noise.u_traffic[0][i]), float(noise.u_traffic[1][i]), tick, t_s, i)
            thr = tr["throughput"]
            latency += tr["queue_ms"]
            loss = min(loss + tr["queue_loss"], 1.0)
        out["thr"][i] = thr
        out["lat"][i] = latency if available else math.nan
        out["loss"][i] = loss if available else 1.0
    state.load = new_load
    state.tick = tick
    return TickResult(
        rsrp=np.array(out["rsrp"]), rsrq=np.array(out["rsrq"]), sinr=np.array(out["sinr"]),
        data_sinr=np.array(out["data_sinr"]), cqi=np.array(cqi_out), bler=np.array(out["bler"]),
        throughput_mbps=np.array(out["thr"]), latency_ms=np.array(out["lat"]), loss=np.array(out["loss"]),
        available=np.array(avail_out), handover=np.array(ho_out), serving=np.array(serv_out),
        x=np.array(out["x"]), y=np.array(out["y"]), capacity_mbps=np.array(out["cap"]),
    )


def state_as_lists(state):
    """A copy of a SimState whose arrays are Python lists (what the loop mutates)."""
    from .engine import SimState

    return SimState(
        tick=int(state.tick),
        shadow=[[float(v) for v in row] for row in state.shadow],
        los_field=[[float(v) for v in row] for row in state.los_field],
        rsrp_filtered=[[float(v) for v in row] for row in state.rsrp_filtered],
        serving=[int(v) for v in state.serving],
        ttt_count=[int(v) for v in state.ttt_count],
        ttt_target=[int(v) for v in state.ttt_target],
        load=[float(v) for v in state.load],
        penetration_db=[float(v) for v in state.penetration_db],
        indoor_depth_m=[float(v) for v in state.indoor_depth_m],
        report=None if state.report is None else [[float(v) for v in row] for row in state.report],
        traffic=None if state.traffic is None else [
            {"buffer_s": float(b), "level": int(lv), "est_mbps": float(e), "on": bool(o), "pos_burst": bool(pb)}
            for b, lv, e, o, pb in zip(state.traffic.buffer_s, state.traffic.level, state.traffic.est_mbps,
                                       state.traffic.on, state.traffic.pos_burst, strict=True)],
    )


def plain(obj):
    """Cells/Links/Faults with Python lists instead of arrays (so the loop does scalar Python arithmetic)."""
    from dataclasses import fields, replace

    return replace(obj, **{f.name: getattr(obj, f.name).tolist() for f in fields(obj)
                           if getattr(obj, f.name) is not None})
