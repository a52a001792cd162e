"""Traffic models per link: what the applications on a link ask for, and what a monitor then sees.

The radio part of the engine gives each link a *capacity* (what it could carry this tick). The KPIs a monitor
grades come from capacity **and** demand, so every link carries a traffic mix: a weight (how many flows /
devices) for each of five models:

- ``bulk``: a greedy TCP transfer (backups, catalogue sync, a speed test): takes whatever the link leaves it;
- ``video``: adaptive streaming (DASH/HLS) with a bitrate ladder, a playout buffer with on/off phases (fetch
  until the buffer holds ``buffer_target_s``, idle until it has drained to ``resume_below_s``: ExoPlayer's
  DefaultLoadControl max/min buffer of 50 s / 15 s) and throughput-based ABR
  (EWMA of the measured segment throughput x a safety factor picks the rung; down at once, up one rung at a
  time and only with a healthy buffer) -- the behaviour of the players measured by Raca et al. 2020;
- ``interactive``: API / web requests, Poisson-like (exponentially distributed bytes per tick), latency-sensitive;
- ``iot``: periodic telemetry, batched by a gateway every ``iot_period_s`` (small);
- ``pos``: point-of-sale bursts, a two-state Markov chain (idle / burst of card authorisation, receipts and
  catalogue look-ups).

Throughput = min(demand, capacity) (inelastic demand first, then the elastic video/bulk flows share what is
left). Latency and loss rise as utilisation approaches 1: the bottleneck buffer is an M/M/1/K queue of 1500-byte
packets (mean occupancy and blocking probability in closed form), greedy TCP keeps it at ``rho_saturated``.

Everything is a NumPy array over links; `step` is the vectorised form and `step_scalar` the same arithmetic for one
link (used by reference.py). The randomness of a tick is two uniforms per link (TickNoise.u_traffic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

KINDS = ("bulk", "video", "interactive", "iot", "pos")
BULK, VIDEO, INTERACTIVE, IOT, POS = range(5)

# Netflix's published fixed bitrate ladder (Mbit/s, 235 kbit/s 320x240 ... 5800 kbit/s 1080p; Netflix Tech Blog,
# "Per-Title Encode Optimization", 2015): the rungs a phone player chooses from.
DEFAULT_LADDER_MBPS = (0.235, 0.375, 0.56, 0.75, 1.05, 1.75, 2.35, 3.0, 4.3, 5.8)

# Default mixes per site kind (weights = flows or devices), plus what the site's traffic profile adds.
SITE_KIND_MIX = {
    "store": {"pos": 3.0, "interactive": 1.0, "iot": 10.0},
    "warehouse": {"iot": 40.0, "interactive": 2.0, "bulk": 1.0},
    "edge_server": {"interactive": 5.0, "bulk": 1.0},
    "device_cluster": {"iot": 100.0, "interactive": 1.0},
    "pickup_point": {"pos": 1.0, "interactive": 1.0},
}
PROFILE_MIX = {
    "pos": {"pos": 2.0},
    "bulk": {"bulk": 1.0},
    "video": {"video": 1.0},
    "iot": {"iot": 20.0},
    "inference": {"interactive": 5.0},
}
# The traffic model of a measured application (calibration): scenario app name -> model.
APP_MODEL = {"download": "bulk", "netflix": "video", "amazon_prime": "video", "youtube": "video", "prime": "video",
             "video": "video", "web": "interactive", "api": "interactive", "iot": "iot", "pos": "pos"}


def app_model(application: str) -> str:
    """Which traffic model stands for a measured application: a video service -> video, a download -> bulk;
    anything else that looks like a streaming app (name contains 'video', 'prime', 'flix', 'tube') -> video,
    otherwise bulk (what a saturating measurement app does)."""
    name = (application or "").lower()
    if name in APP_MODEL:
        return APP_MODEL[name]
    if any(s in name for s in ("video", "prime", "flix", "tube", "stream")):
        return "video"
    return "bulk"


def site_mix(kind: str, profile: str | None) -> dict[str, float]:
    mix = dict(SITE_KIND_MIX.get(kind, {"interactive": 1.0}))
    for k, w in PROFILE_MIX.get(profile or "", {}).items():
        mix[k] = mix.get(k, 0.0) + w
    return mix


@dataclass(frozen=True)
class TrafficParams:
    ladder_mbps: tuple[float, ...] = DEFAULT_LADDER_MBPS
    buffer_target_s: float = 50.0  # stop fetching here (ExoPlayer DEFAULT_MAX_BUFFER_MS)
    resume_below_s: float = 15.0  # resume fetching below this (ExoPlayer 2.x DEFAULT_MIN_BUFFER_MS)
    abr_ewma: float = 0.3
    abr_safety: float = 0.8
    abr_up_buffer_s: float = 10.0
    interactive_mbps: float = 0.64  # 2 requests/s x 40 kB per client
    iot_period_s: float = 30.0
    iot_bytes: float = 2000.0  # per device and report
    pos_burst_mbps: float = 2.0
    pos_idle_mbps: float = 0.02
    pos_start_p: float = 0.05  # per second
    pos_end_p: float = 0.3
    queue_packets: int = 100  # bottleneck buffer (M/M/1/K)
    packet_bits: float = 12000.0
    rho_saturated: float = 0.98


@dataclass
class TrafficState:
    buffer_s: np.ndarray  # L float64, playout buffer (s of content) of the link's video stream
    level: np.ndarray  # L int64, rung of the ladder
    est_mbps: np.ndarray  # L float64, ABR throughput estimate
    on: np.ndarray  # L bool, video fetching
    pos_burst: np.ndarray  # L bool

    def to_arrays(self, prefix: str = "tr_") -> dict[str, np.ndarray]:
        return {prefix + f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "tr_") -> TrafficState | None:
        if any(prefix + f.name not in arrays for f in fields(cls)):
            return None
        return cls(**{f.name: np.array(arrays[prefix + f.name]) for f in fields(cls)})


@dataclass
class TrafficMix:
    """Weights (L x 5, in KINDS order) and the model parameters."""

    weights: np.ndarray
    params: TrafficParams = TrafficParams()

    def __post_init__(self):
        self.weights = np.asarray(self.weights, float)
        self.present = self.weights.any(axis=0)  # which models some link uses
        self.video_rows = np.flatnonzero(self.weights[:, VIDEO] > 0)
        self.has_bulk = self.weights[:, BULK] > 0
        self.bulk_rows = np.flatnonzero(self.has_bulk)
        self.no_bulk_rows = np.flatnonzero(~self.has_bulk)
        self.row_index = np.arange(len(self.weights))
        self.ladder = np.asarray(self.params.ladder_mbps, float)
        self._terms_key = self._terms = None

    def terms(self, dt: float) -> dict:
        """Per-link products of the weights and the model parameters that `step` needs every tick (the same
        products it would form per tick), cached for (params, dt)."""
        key = (self.params, dt)
        if self._terms_key != key:
            p, w = self.params, self.weights
            period = max(1, int(round(p.iot_period_s / dt)))
            self._terms = {
                "interactive": np.ascontiguousarray(w[:, INTERACTIVE] * p.interactive_mbps),
                "iot_period": period,
                "iot_phase": self.row_index % period,
                "iot": np.ascontiguousarray(w[:, IOT] * p.iot_bytes * 8e-6 / dt),
                "pos_burst": np.ascontiguousarray(w[:, POS] * p.pos_burst_mbps),
                "pos_idle": np.ascontiguousarray(w[:, POS] * p.pos_idle_mbps),
            }
            self._terms_key = key
        return self._terms

    @classmethod
    def build(cls, mixes: list[dict[str, float]], params: TrafficParams | None = None) -> TrafficMix:
        w = np.zeros((len(mixes), len(KINDS)))
        for i, mix in enumerate(mixes):
            for name, value in mix.items():
                if name not in KINDS:
                    raise ValueError(f"unknown traffic model {name!r} (choose from {', '.join(KINDS)})")
                if not (value >= 0 and math.isfinite(value)):
                    raise ValueError(f"traffic weight for {name} must be a finite number >= 0")
                w[i, KINDS.index(name)] = float(value)
        return cls(w, params or TrafficParams())

    @classmethod
    def single(cls, model: str, n: int, params: TrafficParams | None = None) -> TrafficMix:
        return cls.build([{model: 1.0}] * n, params)

    def __len__(self) -> int:
        return len(self.weights)


def initial_state(mix: TrafficMix, seed: int) -> TrafficState:
    """Streams join at random points of their session: buffer uniform in [0, target], ABR settled on a middle rung."""
    n, p = len(mix), mix.params
    rng = np.random.default_rng([seed, 2**31 - 2])
    buffer_s = rng.uniform(0.0, p.buffer_target_s, n)
    level = np.full(n, len(p.ladder_mbps) // 2, np.int64)
    est = np.full(n, p.ladder_mbps[len(p.ladder_mbps) // 2] / p.abr_safety)
    on = buffer_s < p.resume_below_s
    return TrafficState(buffer_s, level, est, on, rng.random(n) < p.pos_start_p / (p.pos_start_p + p.pos_end_p))


def _rungs_at_or_below(ladder, rate):
    """np.searchsorted(ladder, rate, side="right") (NaN included) as len(ladder) minus the rungs above `rate`:
    a few byte-wide comparisons instead of a binary search per element."""
    above = np.zeros(np.shape(rate), np.uint8)
    for rung in ladder:
        above += rate < rung
    return len(ladder) - above.astype(np.int64)


def _mm1k(rho, k: int):
    """M/M/1/K mean number in system and blocking probability (rho < 1 here)."""
    rk = rho**k
    rk1 = rk * rho
    denom = 1.0 - rk1
    n = rho / (1.0 - rho) - (k + 1) * rk1 / denom
    block = (1.0 - rho) * rk / denom
    return n, block


@dataclass
class TrafficResult:
    throughput_mbps: np.ndarray
    demand_mbps: np.ndarray  # offered (inf for greedy flows)
    utilisation: np.ndarray
    queue_ms: np.ndarray
    queue_loss: np.ndarray
    video_mbps: np.ndarray  # what the video stream got (0 when idle)


def step(mix: TrafficMix, state: TrafficState, capacity_mbps, available, u_traffic, tick: int,
         tick_s: float) -> TrafficResult:
    """Advance the traffic state by one tick given each link's capacity; mutates `state`.

    Models no link uses are skipped, and the video player runs on the rows that have a video stream only
    (the same arithmetic as step_scalar, row by row)."""
    p, w = mix.params, mix.weights
    n = len(mix)
    dt = tick_s
    present = mix.present
    cap = np.where(available, np.maximum(capacity_mbps, 0.0), 0.0)
    u1, u2 = u_traffic[0], u_traffic[1]
    terms = mix.terms(dt)
    # Inelastic demand (Mbit/s): interactive, IoT, POS.
    inelastic = np.zeros(n)
    if present[INTERACTIVE]:
        draw = np.negative(u1)
        np.log1p(draw, out=draw)
        np.negative(draw, out=draw)
        draw *= terms["interactive"]  # w * rate * -log1p(-u1), exponentially distributed bytes
        inelastic += draw
    if present[IOT]:
        inelastic += np.where(terms["iot_phase"] == tick % terms["iot_period"], terms["iot"], 0.0)
    if present[POS]:
        burst = np.where(state.pos_burst, u2 >= p.pos_end_p * dt, u2 < p.pos_start_p * dt)
        state.pos_burst = burst
        inelastic += np.where(burst, terms["pos_burst"], terms["pos_idle"])
    served_inelastic = np.minimum(inelastic, cap)
    rest = cap - served_inelastic
    has_bulk = mix.has_bulk
    greedy = has_bulk.copy()
    video_total = np.zeros(n)
    video_demand = np.zeros(n)
    per_stream = np.zeros(n)
    vi = mix.video_rows
    if len(vi):
        # Elastic: the video stream fetches what fills its buffer to the target; bulk takes what is left.
        ladder = mix.ladder
        wv, wb = w[vi, VIDEO], w[vi, BULK]
        on, buf, lvl, est = state.on[vi], state.buffer_s[vi], state.level[vi], state.est_mbps[vi]
        bitrate = ladder[lvl]
        vd = np.where(on, wv * (p.buffer_target_s - buf) * bitrate / dt, 0.0)
        r = rest[vi]
        vs = np.where(wb > 0, r * wv / (wv + wb), r)
        vt = np.minimum(vd, vs)
        per = vt / wv
        # Video player: buffer (fill, then play one tick, never below empty), ABR, on/off.
        fetched = buf + per * dt / bitrate
        full = fetched >= p.buffer_target_s * (1.0 - 1e-9)
        buf = np.maximum(fetched - dt, 0.0)
        # A segment is fetched at the rate the link gives the stream (not the amount the buffer still needed).
        est = np.where(on & available[vi], (1.0 - p.abr_ewma) * est + p.abr_ewma * (vs / wv), est)
        target = np.maximum(_rungs_at_or_below(ladder, p.abr_safety * est) - 1, 0)
        new_level = np.where(target < lvl, target, np.where((target > lvl) & (buf > p.abr_up_buffer_s), lvl + 1, lvl))
        state.level[vi] = np.where(on, new_level, lvl)
        state.buffer_s[vi] = buf
        state.est_mbps[vi] = est
        state.on[vi] = np.where(on, ~full, buf < p.resume_below_s)
        video_total[vi], video_demand[vi], per_stream[vi] = vt, vd, per
        greedy[vi] |= vd > vs
    bulk_total = rest - video_total  # np.where(has_bulk, rest - video_total, 0) by index (the mask is irregular)
    bulk_total[mix.no_bulk_rows] = 0.0
    throughput = served_inelastic + video_total + bulk_total
    # Queueing at the bottleneck.
    safe_cap = np.maximum(cap, 0.1)
    offered = (inelastic + video_demand) / safe_cap
    # Greedy links sit at rho_saturated: their M/M/1/K figures are two constants (rho**K is costly per link).
    sat_n, sat_block = _mm1k(np.float64(p.rho_saturated), p.queue_packets)
    n_q, block = np.full(n, sat_n), np.full(n, sat_block)
    light = np.flatnonzero(~greedy)
    if len(light):
        n_q[light], block[light] = _mm1k(np.minimum(offered[light], p.rho_saturated), p.queue_packets)
    overload = np.zeros(n)
    over = np.flatnonzero(inelastic > cap)
    if len(over):
        overload[over] = 1.0 - cap[over] / np.maximum(inelastic[over], 1e-12)
    queue_ms = n_q * p.packet_bits / (safe_cap * 1e3)
    demand = inelastic + video_demand
    demand[mix.bulk_rows] = np.inf  # greedy & has_bulk = has_bulk (greedy starts as has_bulk)
    utilisation = np.minimum(offered, 1.0)
    utilisation[greedy] = 1.0
    return TrafficResult(throughput, demand, utilisation, queue_ms, np.minimum(block + overload, 1.0), per_stream)


def step_scalar(weights, p: TrafficParams, st: dict, capacity: float, available: bool, u1: float, u2: float, tick: int,
                tick_s: float, index: int) -> dict:
    """`step` for one link, in plain Python (reference.py). `st` holds buffer_s, level, est_mbps, on, pos_burst."""
    dt = tick_s
    w_bulk, w_video, w_int, w_iot, w_pos = weights
    cap = max(capacity, 0.0) if available else 0.0
    interactive = w_int * p.interactive_mbps * -math.log1p(-u1)
    period = max(1, int(round(p.iot_period_s / dt)))
    iot = w_iot * p.iot_bytes * 8e-6 / dt if tick % period == index % period else 0.0
    st["pos_burst"] = (u2 >= p.pos_end_p * dt) if st["pos_burst"] else (u2 < p.pos_start_p * dt)
    pos = w_pos * (p.pos_burst_mbps if st["pos_burst"] else p.pos_idle_mbps)
    inelastic = interactive + iot + pos
    served = min(inelastic, cap)
    rest = cap - served
    bitrate = p.ladder_mbps[st["level"]]
    video_demand = w_video * (p.buffer_target_s - st["buffer_s"]) * bitrate / dt if (w_video > 0 and st["on"]) else 0.0
    video_share = rest * w_video / max(w_video + w_bulk, 1e-12) if w_bulk > 0 else rest
    video_total = min(video_demand, video_share)
    bulk_total = rest - video_total if w_bulk > 0 else 0.0
    throughput = served + video_total + bulk_total
    per_stream = video_total / max(w_video, 1e-12) if w_video > 0 else 0.0
    fetching = w_video > 0 and st["on"]
    full = False
    if w_video > 0:
        fetched = st["buffer_s"] + per_stream * dt / bitrate
        full = fetched >= p.buffer_target_s * (1.0 - 1e-9)
        st["buffer_s"] = max(fetched - dt, 0.0)
    if fetching and available:
        rate = video_share / max(w_video, 1e-12)
        st["est_mbps"] = (1.0 - p.abr_ewma) * st["est_mbps"] + p.abr_ewma * rate
    if fetching:
        target = max(0, sum(1 for r in p.ladder_mbps if r <= p.abr_safety * st["est_mbps"]) - 1)
        if target < st["level"]:
            st["level"] = target
        elif target > st["level"] and st["buffer_s"] > p.abr_up_buffer_s:
            st["level"] += 1
    st["on"] = (not full) if st["on"] else st["buffer_s"] < p.resume_below_s
    greedy = w_bulk > 0 or video_demand > video_share
    safe_cap = max(cap, 0.1)
    offered = (inelastic + video_demand) / safe_cap
    rho = p.rho_saturated if greedy else min(offered, p.rho_saturated)
    k = p.queue_packets
    rk = rho**k
    rk1 = rk * rho
    n_q = rho / (1.0 - rho) - (k + 1) * rk1 / (1.0 - rk1)
    block = (1.0 - rho) * rk / (1.0 - rk1)
    overload = 1.0 - cap / inelastic if inelastic > cap else 0.0
    return {"throughput": throughput, "queue_ms": n_q * p.packet_bits / (safe_cap * 1e3),
            "queue_loss": min(block + overload, 1.0), "video_mbps": per_stream,
            "utilisation": 1.0 if greedy else min(offered, 1.0)}
