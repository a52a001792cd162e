"""The vectorised link simulator: one call advances every link of a topology by one tick.

Everything is a NumPy array over links (L) or links x cells (L x C); nothing here imports Django. The
random numbers of tick n come from `numpy.random.default_rng([seed, n])`, so a run is reproducible from
(seed, tick index) alone, however ticks are batched or caught up, and the per-link reference loop
(`reference.py`) can consume exactly the same draws.

Per tick, for every link (sources in pathloss.py / phy.py docstrings):
 1. mobility along a circular route (static: radius 0);
 2. TR 38.901 path loss to every cell (LOS/NLOS by a spatially consistent LOS state, breakpoint distance,
    O2I or car penetration), shadow fading as an AR(1) process with rho = exp(-delta_d / d_corr) *
    exp(-dt / t_corr) (Gudmundson; TR 38.901 7.6.3.1 correlation distances), rain attenuation on mmWave
    (ITU-R P.838-3 gamma = k R^alpha);
 3. RSRP per RE, layer-3 filtering (TS 38.331 5.5.3.2, F = (1-a) F + a M, a = 1/2^(k/4)),
    A3 handover (TS 38.331 5.5.4.4: Mn > Mp + Off + Hys held for time-to-trigger) with an interruption time,
    radio-link failure re-establishment when the serving cell is gone;
 4. SINR with small-scale fading (Nakagami-m power via the Wilson-Hilferty transform of one normal draw)
    and interference from the other co-channel cells weighted by their load, RSRQ = N*RSRP/RSSI
    (TS 38.215 5.1.3), data SINR with the beamforming gain of the traffic channel;
 5. CQI, BLER, HARQ, throughput and latency (phy.py).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from . import phy
from . import traffic as traffic_models
from .constants import (
    CQI_SINR_THRESHOLDS_DB,
    LOS_DECORRELATION_M,
    SCENARIOS,
    SHADOW_DECORRELATION_M,
    THERMAL_NOISE_DBM_PER_HZ,
)
from .fastmath import phi_below, select
from .pathloss import (
    CAR_PENETRATION_MEAN_DB,
    CAR_PENETRATION_SIGMA_DB,
    O2I_SIGMA_DB,
    large_scale,
    o2i_through_wall_db,
)

NO_SIGNAL_DBM = -300.0
RS_FRACTION = 1.0 / 6.0  # share of REs carrying reference signals, always transmitted (RSSI floor)


def filter_alpha(k: int) -> float:
    """TS 38.331 5.5.3.2: the layer-3 filter's weight of a new measurement, a = 1 / 2^(k/4)."""
    return 1.0 / 2.0 ** (k / 4.0)


@dataclass
class SimParams:
    tick_s: float = 1.0
    l3_filter_k: int = 4
    a3_offset_db: float = 3.0
    hysteresis_db: float = 1.0
    time_to_trigger_s: float = 0.32
    handover_interruption_ms: float = 30.0
    rlf_interruption_ms: float = 400.0
    min_rsrp_dbm: float = -125.0
    shadow_time_corr_s: float = 300.0
    load_rho: float = 0.95
    load_sigma: float = 0.05
    users_sigma: float = 0.6
    fading_m_los: float = 4.0
    fading_m_nlos: float = 1.5
    max_harq_tx: int = 4
    harq_rtt_slots: int = 8
    tdd_dl_share: float = 0.743
    tdd_period_slots: int = 5
    processing_slots: float = 2.0
    max_queue_slots: float = 20.0
    jitter_ms: float = 1.0
    share_with_own_links: bool = True  # False when each link stands for a separate measurement (calibration)
    edge_core_ms: float = 1.0  # UPF + server next to the gNB (MEC)
    cloud_core_ms: float = 20.0  # core network + internet path to the cloud region
    max_data_sinr_db: float = 40.0
    # What the phone reports (the KPIs a monitor sees): RSRP / RSRQ / SINR measured on the reference signals,
    # where the wideband RSRP keeps `rsrp_meas_fading` of the small-scale fading (in dB, zero-mean), each
    # layer-3 filtered over ticks (TS 38.331 5.5.3.2, coefficient report_filter_k) and restarted on a cell
    # change or after a gap in service. The scheduler and the link level use the instantaneous values.
    report_filter_k: int = 4
    rsrp_meas_fading: float = 0.3
    # Reported RSRQ minus the modelled one: a phone on NSA reports the LTE anchor's RSRQ, whose RSSI counts
    # more than this model's (other antenna ports, neighbours' control channels); calibrated, 0 by default.
    rsrq_offset_db: float = 0.0
    rsrq_meas_fading: float = 0.0  # share of the fast fading in the reported RSRQ (the RS power fades, RSSI less)

    @property
    def l3_alpha(self) -> float:
        return filter_alpha(self.l3_filter_k)

    @property
    def report_alpha(self) -> float:
        return filter_alpha(self.report_filter_k)

    @property
    def ttt_ticks(self) -> int:
        return max(1, int(np.ceil(self.time_to_trigger_s / self.tick_s - 1e-9)))


def _arr(values, dtype=float):
    return np.asarray(values, dtype=dtype)


@dataclass
class Cells:
    """Per-cell arrays (length C). `scenario` holds indices into constants.SCENARIOS."""

    x: np.ndarray
    y: np.ndarray
    height: np.ndarray
    tx_power_dbm: np.ndarray
    antenna_gain_dbi: np.ndarray
    carrier_ghz: np.ndarray
    n_prb: np.ndarray
    numerology: np.ndarray
    overhead: np.ndarray
    noise_figure_db: np.ndarray
    scenario: np.ndarray
    base_load: np.ndarray
    background_users: np.ndarray
    max_layers: np.ndarray
    data_gain_db: np.ndarray
    azimuth_deg: np.ndarray | None = None  # boresight of a sector antenna; NaN / None = omnidirectional

    @classmethod
    def build(cls, **columns) -> Cells:
        ints = {"n_prb", "numerology", "scenario", "max_layers"}
        columns.setdefault("azimuth_deg", [np.nan] * len(columns["x"]))
        return cls(**{k: _arr(v, np.int64 if k in ints else float) for k, v in columns.items()})

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Links:
    """Per-link arrays (length L). A link moves on a circle of `route_radius` around (center_x, center_y)."""

    center_x: np.ndarray
    center_y: np.ndarray
    route_radius: np.ndarray
    speed_mps: np.ndarray
    phase: np.ndarray
    height: np.ndarray
    indoor: np.ndarray
    in_car: np.ndarray
    endpoint_edge: np.ndarray
    backhaul_ms: np.ndarray

    @classmethod
    def build(cls, **columns) -> Links:
        bools = {"indoor", "in_car", "endpoint_edge"}
        return cls(**{k: _arr(v, bool if k in bools else float) for k, v in columns.items()})

    def __len__(self) -> int:
        return len(self.center_x)


@dataclass
class Faults:
    """Injected scenarios as array modifiers; zeros mean 'no fault'."""

    cell_active: np.ndarray  # C bool
    cell_extra_load: np.ndarray  # C, added to the load (0..1)
    cell_interference_db: np.ndarray  # C, interference-over-thermal rise seen by links served by the cell
    link_extra_latency_ms: np.ndarray  # L
    link_extra_loss: np.ndarray  # L, 0..1
    link_rain_mm_h: np.ndarray  # L, rain rate on the path (attenuates carriers above 10 GHz)
    link_offset_x: np.ndarray  # L, displacement (a site moving out of coverage)
    link_offset_y: np.ndarray

    @classmethod
    def none(cls, n_cells: int, n_links: int) -> Faults:
        return cls(
            cell_active=np.ones(n_cells, bool),
            cell_extra_load=np.zeros(n_cells),
            cell_interference_db=np.zeros(n_cells),
            link_extra_latency_ms=np.zeros(n_links),
            link_extra_loss=np.zeros(n_links),
            link_rain_mm_h=np.zeros(n_links),
            link_offset_x=np.zeros(n_links),
            link_offset_y=np.zeros(n_links),
        )


@dataclass
class SimState:
    tick: int
    shadow: np.ndarray  # L x C float32, unit-variance AR(1) process
    los_field: np.ndarray  # L x C float32, unit-variance AR(1) process; LOS when Phi(los_field) < P_LOS
    rsrp_filtered: np.ndarray  # L x C float32, dBm
    serving: np.ndarray  # L int
    ttt_count: np.ndarray  # L int
    ttt_target: np.ndarray  # L int
    load: np.ndarray  # C
    penetration_db: np.ndarray  # L, per-link part of the O2I / car loss (incl. its random part)
    indoor_depth_m: np.ndarray  # L
    traffic: traffic_models.TrafficState | None = None  # per-link application state (traffic models on)
    report: np.ndarray | None = None  # 3 x L reported RSRP, RSRQ, SINR (layer-3 filtered); NaN = no report yet

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)
               if f.name not in ("traffic", "report")}
        if self.traffic is not None:
            out.update(self.traffic.to_arrays())
        if self.report is not None:
            out["report"] = np.asarray(self.report)
        return out

    @classmethod
    def from_arrays(cls, arrays) -> SimState:
        values = {f.name: np.array(arrays[f.name]) for f in fields(cls) if f.name not in ("traffic", "report")}
        values["tick"] = int(values["tick"])
        # States saved before reports were filtered have none: the next tick starts the filters.
        report = np.array(arrays["report"], float) if "report" in arrays else None
        return cls(**values, traffic=traffic_models.TrafficState.from_arrays(arrays), report=report)


@dataclass
class TickNoise:
    """Every random number one tick consumes. Drawn in one place so both implementations share them."""

    z_shadow_moving: np.ndarray  # M x C, one row per moving link (in link order)
    z_shadow_static: np.ndarray  # S x C on shadow-update ticks of static links (tick % STATIC_SHADOW_EVERY == 0), else 0 x C
    z_los: np.ndarray  # M x C
    z_fading: np.ndarray  # L
    u_harq: np.ndarray  # L
    e_jitter: np.ndarray  # L (standard exponential)
    z_load: np.ndarray  # C
    z_users: np.ndarray  # C
    u_traffic: np.ndarray | None = None  # 2 x L uniforms for the traffic models (drawn last: the others unchanged)


def moving_mask(links: Links) -> np.ndarray:
    return (links.route_radius > 0) & (links.speed_mps > 0)


def fading_mean_db(m: float) -> float:
    """Mean in dB of the engine's Nakagami-m fading draw, 30 log10(max(1 - 1/(9m) + z sqrt(1/(9m)), 0.05)) with z
    standard normal (Gauss-Hermite quadrature), so the RSRP's share of the fading is zero-mean."""
    z, w = np.polynomial.hermite_e.hermegauss(96)
    wh = np.maximum(1.0 - 1.0 / (9.0 * m) + z * np.sqrt(1.0 / (9.0 * m)), 0.05)
    return float(np.sum(w * 30.0 * np.log10(wh)) / np.sum(w))


# Static links only decorrelate in time (t_corr = SimParams.shadow_time_corr_s, minutes): their shadowing is
# advanced every STATIC_SHADOW_EVERY ticks with rho^STATIC_SHADOW_EVERY, the same process sampled more coarsely.
STATIC_SHADOW_EVERY = 10


def draw_noise(seed: int, tick: int, n_links: int, n_cells: int, n_moving: int | None = None) -> TickNoise:
    """The draws of tick `tick`: a pure function of (seed, tick, sizes)."""
    rng = np.random.default_rng([seed, tick])
    n_moving = n_links if n_moving is None else n_moving
    n_static = (n_links - n_moving) if tick % STATIC_SHADOW_EVERY == 0 else 0
    return TickNoise(
        z_shadow_moving=rng.standard_normal((n_moving, n_cells), dtype=np.float32),
        z_shadow_static=rng.standard_normal((n_static, n_cells), dtype=np.float32),
        z_los=rng.standard_normal((n_moving, n_cells), dtype=np.float32),
        z_fading=rng.standard_normal(n_links),
        u_harq=rng.random(n_links),
        e_jitter=rng.standard_exponential(n_links),
        z_load=rng.standard_normal(n_cells),
        z_users=rng.standard_normal(n_cells),
        u_traffic=rng.random((2, n_links)),
    )


@dataclass
class TickResult:
    rsrp: np.ndarray
    rsrq: np.ndarray
    sinr: np.ndarray  # reference-signal SINR (what a UE reports as SINR/SNR)
    data_sinr: np.ndarray
    cqi: np.ndarray
    bler: np.ndarray
    throughput_mbps: np.ndarray
    latency_ms: np.ndarray
    loss: np.ndarray
    available: np.ndarray
    handover: np.ndarray
    serving: np.ndarray
    x: np.ndarray
    y: np.ndarray
    capacity_mbps: np.ndarray | None = None  # what the link could carry (= throughput when traffic models are off)
    demand_mbps: np.ndarray | None = None  # offered by the traffic mix (inf for greedy transfers)
    utilisation: np.ndarray | None = None


def link_positions(links: Links, faults: Faults, tick: int, tick_s: float):
    """Position at `tick` on the circular route, and the distance travelled during one tick."""
    moving = moving_mask(links)
    x = links.center_x + faults.link_offset_x
    y = links.center_y + faults.link_offset_y
    step = np.zeros(len(x))
    if moving.any():  # trigonometry only for the links that move
        mv = np.flatnonzero(moving)
        radius = links.route_radius[mv]
        angle = links.phase[mv] + links.speed_mps[mv] * tick * tick_s / radius
        x[mv] += radius * np.cos(angle)
        y[mv] += radius * np.sin(angle)
        step[mv] = links.speed_mps[mv] * tick_s
    return x, y, step


SECTOR_HPBW_DEG = 65.0  # TR 38.901 Table 7.3-1: horizontal 3 dB beamwidth of the element
SECTOR_MAX_ATTENUATION_DB = 30.0  # A_m, front-to-back ratio


def sector_attenuation_db(dx, dy, azimuth_deg):
    """TR 38.901 Table 7.3-1 horizontal pattern: attenuation min(12 (phi / phi_3dB)^2, A_m) dB, phi = angle
    between the boresight and the direction from the cell to the UE ((dx, dy) = UE - cell). NaN = omni."""
    bearing = np.degrees(np.arctan2(dy, dx))
    phi = (bearing - azimuth_deg + 180.0) % 360.0 - 180.0
    att = np.minimum(12.0 * (phi / SECTOR_HPBW_DEG) ** 2, SECTOR_MAX_ATTENUATION_DB)
    return np.where(np.isfinite(azimuth_deg), att, 0.0).astype(np.float32)


_DB_TO_NEPER = np.float32(np.log(10.0) / 10.0)


def _db_to_mw(db):
    """10^(dB/10) as exp(dB * ln10/10): float32, several times cheaper than np.power."""
    out = np.multiply(db, _DB_TO_NEPER, dtype=np.float32)
    return np.exp(out, out=out)


RAIN_K_ALPHA = (0.2051, 0.9679)  # ITU-R P.838-3 coefficients (horizontal polarisation) near 28 GHz


def rain_attenuation_db(carrier_ghz, rain_mm_h, d_km):
    """ITU-R P.838-3 specific attenuation gamma = k R^alpha (dB/km) times the path length; zero below 10 GHz."""
    k, alpha = RAIN_K_ALPHA
    gamma = k * np.power(np.maximum(rain_mm_h, 0.0), alpha)
    return np.where(carrier_ghz >= 10.0, gamma * d_km, 0.0)


class LinkSimulator:
    """Holds a topology (cells, links), its parameters and a cache of the deterministic large-scale terms.

    Path loss, LOS thresholds and shadow sigmas depend only on geometry, so they are computed once for links
    that do not move and recomputed each tick only for the rows whose position changed.
    """

    def __init__(self, cells: Cells, links: Links, *, seed: int, params: SimParams | None = None,
                 traffic: traffic_models.TrafficMix | None = None):
        self.cells, self.links, self.seed = cells, links, int(seed)
        if traffic is not None and len(traffic) != len(links):
            raise ValueError(f"traffic mix has {len(traffic)} rows for {len(links)} links")
        self.traffic = traffic
        self.params = params or SimParams()
        self._fading_mean_db = np.array([fading_mean_db(self.params.fading_m_nlos),
                                         fading_mean_db(self.params.fading_m_los)])
        self.moving = moving_mask(links)
        self.moving_rows = np.flatnonzero(self.moving)
        self.static_rows = np.flatnonzero(~self.moving)
        self._rx_cache = self._los_cache = self._rx_key = self._rx_tick = self._mw_cache = None
        self._rho_key = self._rho = None
        self._field_stash = self._geom_stash = None
        self._geom_pending = None  # moving rows' geometry not yet written to the L x C caches (see _flush_geometry)
        self._route = None  # (tick_s, radius, speed, phase, step) of the moving links
        n_l, n_c = len(links), len(cells)
        self._pl_los = np.zeros((n_l, n_c), np.float32)
        self._pl_nlos = np.zeros((n_l, n_c), np.float32)
        self._p_los = np.zeros((n_l, n_c), np.float32)  # P_LOS: LOS when Phi(field) < P_LOS
        self._sigma_los = np.zeros(n_c, np.float32)  # shadow sigma per cell (depends on its scenario only)
        self._sigma_nlos = np.zeros(n_c, np.float32)
        self._d2d = np.zeros((n_l, n_c), np.float32)
        self._cached_x = np.full(n_l, np.nan)
        self._cached_y = np.full(n_l, np.nan)
        self._shadow_corr = np.array([SHADOW_DECORRELATION_M[SCENARIOS[int(c)]] for c in cells.scenario])
        self._los_corr = np.array([LOS_DECORRELATION_M[SCENARIOS[int(c)]] for c in cells.scenario])
        self._shadow_corr32 = self._shadow_corr.astype(np.float32)
        azimuth = cells.azimuth_deg if cells.azimuth_deg is not None else np.full(len(cells), np.nan)
        self.cells = cells = replace(cells, azimuth_deg=np.asarray(azimuth, float))
        self._sectored = np.isfinite(self.cells.azimuth_deg)
        self._los_corr32 = self._los_corr.astype(np.float32)
        self._per_re_dbm = (cells.tx_power_dbm - 10.0 * np.log10(12.0 * cells.n_prb) + cells.antenna_gain_dbi)
        self._wall_db = o2i_through_wall_db(cells.carrier_ghz)
        self._carriers = np.unique(cells.carrier_ghz)
        self._carrier_index = np.searchsorted(self._carriers, cells.carrier_ghz)
        # float32 copies of the per-cell terms of the L x C hot path, and per-cell link-level constants
        # (computed per cell and gathered per link instead of per link).
        self._per_re32 = self._per_re_dbm.astype(np.float32)
        self._wall32 = self._wall_db.astype(np.float32)
        self._h_bs32 = cells.height.astype(np.float32)
        self._fc32 = cells.carrier_ghz.astype(np.float32)
        self._row_offset = np.arange(n_l) * n_c  # flat index of (link, cell) = row offset + cell
        scs_hz = 15e3 * 2.0 ** cells.numerology
        self._noise_mw_cell = 10.0 ** ((THERMAL_NOISE_DBM_PER_HZ + 10.0 * np.log10(scs_hz) + cells.noise_figure_db)
                                       / 10.0)
        self._slot_ms_cell = phy.slot_ms(cells.numerology)
        symbol_time = 1e-3 / (14.0 * 2.0**cells.numerology)
        self._peak_per_layer_bit = 1e-6 * (12.0 * cells.n_prb / symbol_time) * (1.0 - cells.overhead)
        thresholds = np.asarray(CQI_SINR_THRESHOLDS_DB)
        self._cqi_threshold = thresholds[np.maximum(np.arange(len(thresholds) + 1), 1) - 1]  # by CQI 0..15

    # -- state ---------------------------------------------------------------------------------------
    def initial_state(self) -> SimState:
        """Tick 0: shadowing and LOS fields from their stationary law, serving cell = strongest."""
        cells, links = self.cells, self.links
        n_l, n_c = len(links), len(cells)
        rng = np.random.default_rng([self.seed, 2**31 - 1])
        indoor_depth = np.minimum(rng.uniform(0, 25, n_l), rng.uniform(0, 25, n_l))  # TR 38.901 7.4.3.1
        z_pen = rng.standard_normal(n_l)
        penetration = np.where(links.indoor, 0.5 * indoor_depth + O2I_SIGMA_DB * z_pen, 0.0)
        penetration = np.where(
            links.in_car & ~links.indoor, CAR_PENETRATION_MEAN_DB + CAR_PENETRATION_SIGMA_DB * z_pen, penetration
        )
        state = SimState(
            tick=0,
            shadow=rng.standard_normal((n_l, n_c), dtype=np.float32),
            los_field=rng.standard_normal((n_l, n_c), dtype=np.float32),
            rsrp_filtered=np.full((n_l, n_c), NO_SIGNAL_DBM, np.float32),
            serving=np.zeros(n_l, np.int64),
            ttt_count=np.zeros(n_l, np.int64),
            ttt_target=np.full(n_l, -1, np.int64),
            load=cells.base_load.astype(float).copy(),
            penetration_db=penetration,
            indoor_depth_m=indoor_depth,
            traffic=traffic_models.initial_state(self.traffic, self.seed) if self.traffic is not None else None,
        )
        faults = Faults.none(n_c, n_l)
        x, y, _ = link_positions(links, faults, 0, self.params.tick_s)
        rsrp, _ = self.received_power(state, faults, x, y)
        state.rsrp_filtered = rsrp.copy()
        if n_c:
            state.serving = np.argmax(rsrp, axis=1)
        return state

    def noise(self, tick: int) -> TickNoise:
        return draw_noise(self.seed, tick, len(self.links), len(self.cells), len(self.moving_rows))

    def _positions(self, faults: Faults, tick: int):
        """link_positions(self.links, faults, tick, tick_s), the moving links' route parameters gathered once."""
        links, tick_s = self.links, self.params.tick_s
        mv = self.moving_rows
        if not len(mv):
            return link_positions(links, faults, tick, tick_s)
        if self._route is None or self._route[0] != tick_s:
            step = np.zeros(len(links))
            step[mv] = links.speed_mps[mv] * tick_s
            self._route = (tick_s, links.route_radius[mv], links.speed_mps[mv], links.phase[mv], step)
        _, radius, speed, phase, step = self._route
        x = links.center_x + faults.link_offset_x
        y = links.center_y + faults.link_offset_y
        angle = speed * tick * tick_s / radius
        angle += phase
        x[mv] += radius * np.cos(angle)
        y[mv] += radius * np.sin(angle)
        return x, y, step

    # -- large scale ---------------------------------------------------------------------------------
    def _flush_geometry(self):
        """Write the moving rows' path losses, P_LOS and distances into the L x C caches. Deferred: on most ticks
        only _received_rows reads them, from the arrays themselves (the geometry stash)."""
        pending, self._geom_pending = self._geom_pending, None
        if pending is not None:
            rows, pl_los, pl_nlos, p_los, d2d = pending
            self._pl_los[rows] = pl_los
            self._pl_nlos[rows] = pl_nlos
            self._p_los[rows] = p_los
            self._d2d[rows] = d2d

    def _refresh_geometry(self, x, y):
        self._geom_stash = None
        changed = np.flatnonzero((x != self._cached_x) | (y != self._cached_y))
        if len(changed) == 0:
            return
        cells = self.cells
        rows = changed if len(changed) < len(x) else slice(None)
        pending = self._geom_pending
        if pending is not None and (isinstance(rows, slice) or np.array_equal(pending[0], changed)):
            self._geom_pending = None  # the same rows (or all of them) are about to be rewritten
        else:
            self._flush_geometry()
        # float32 from here: transcendental functions are several times faster and 1e-5 dB is plenty. The
        # differences are taken in float64 (coordinates run to +-20 km) and stored as float32.
        n_r = len(changed)
        dx = np.empty((n_r, len(cells)), np.float32)
        dy = np.empty((n_r, len(cells)), np.float32)
        np.subtract(x[rows, None], cells.x[None, :], out=dx, casting="same_kind")
        np.subtract(y[rows, None], cells.y[None, :], out=dy, casting="same_kind")
        sectored = self._sectored.any()
        d2d = np.multiply(dx, dx)
        if sectored:
            d2d += dy * dy
        else:  # dx, dy are not needed any more
            np.multiply(dy, dy, out=dy)
            d2d += dy
        np.sqrt(d2d, out=d2d)
        heights = self.links.height[rows]
        # One UT height for all these rows (the usual case): its terms are then per cell (1 x C), not L x C.
        h_ut = (heights[:1] if np.all(heights == heights[0]) else heights)[:, None].astype(np.float32)
        codes = np.unique(cells.scenario)
        defer = isinstance(rows, np.ndarray) and len(codes) == 1
        if not defer:
            self._d2d[rows] = d2d
        for code in codes:
            cols = np.flatnonzero(cells.scenario == code)
            all_cols = len(cols) == len(cells)
            pl_los, pl_nlos, p_los, s_los, s_nlos = large_scale(
                int(code), d2d if all_cols else d2d[:, cols], self._h_bs32[None, cols], h_ut, self._fc32[None, cols],
            )
            if isinstance(rows, np.ndarray):
                block = changed if all_cols else np.ix_(changed, cols)
            else:
                block = slice(None) if all_cols else (slice(None), cols)
            if self._sectored[cols].any():
                pattern = sector_attenuation_db(dx[:, cols], dy[:, cols], self.cells.azimuth_deg[cols])
                pl_los = pl_los + pattern
                pl_nlos = pl_nlos + pattern
            self._sigma_los[cols] = s_los
            self._sigma_nlos[cols] = s_nlos
            if defer:  # _received_rows reuses these rows (no gather); the caches get them when read
                self._geom_stash = (changed, pl_los, pl_nlos, p_los)
                self._geom_pending = (changed, pl_los, pl_nlos, p_los, d2d)
            else:
                self._pl_los[block] = pl_los
                self._pl_nlos[block] = pl_nlos
                self._p_los[block] = p_los
        self._cached_x[rows] = x[rows]
        self._cached_y[rows] = y[rows]

    def received_power(self, state: SimState, faults: Faults, x, y, *, reuse_static: bool = False,
                       advancing: bool = False):
        """RSRP (dBm per RE, float32) of every link from every cell, and the LOS state matrix.

        With `reuse_static`, rows of static links come from the previous call when nothing they depend on
        changed (their path loss, LOS state and shadowing only change on shadow-update ticks or with faults),
        so only the moving links are recomputed. Without it (shadow-update ticks) the static rows are
        recomputed, but their LOS state still comes from that call when it is valid (a static link's LOS field
        and LOS probability never change). The values are identical to a full recomputation."""
        self._refresh_geometry(x, y)
        key = (faults.cell_active.tobytes(), faults.link_rain_mm_h.tobytes(), faults.link_offset_x.tobytes(),
               faults.link_offset_y.tobytes())
        # Reuse only a cache this object computed for the immediately preceding tick of this very state
        # (another worker process may have advanced the stored state in between).
        valid = self._rx_cache is not None and key == self._rx_key and self._rx_tick == state.tick
        if reuse_static and valid:
            rows = self.moving_rows
            if len(rows):
                rsrp_rows, los_rows = self._received_rows(state, faults, rows)
                self._rx_cache[rows] = rsrp_rows
                self._los_cache[rows] = los_rows
                self._mw_cache[rows] = _db_to_mw(rsrp_rows)
        else:
            los = None
            if valid and len(self.static_rows):
                los = self._los_cache.copy()
                if len(self.moving_rows):
                    los[self.moving_rows] = self._moving_los(state)
            self._rx_cache, self._los_cache = self._received_rows(state, faults, slice(None), los=los)
            self._mw_cache = _db_to_mw(self._rx_cache)
            self._rx_key = key
        self._field_stash = self._geom_stash = None  # valid for this one call only
        # The fields used here belong to tick state.tick + 1 when called from tick() (the counter moves later).
        self._rx_tick = state.tick + 1 if advancing else state.tick
        rsrp, los = self._rx_cache.view(), self._los_cache.view()
        rsrp.flags.writeable = los.flags.writeable = False  # the cache: callers copy before changing
        return rsrp, los

    def _moving_inputs(self, state: SimState):
        """LOS field, shadowing, path losses and P_LOS of the moving rows: the arrays this tick just computed
        when there are (_advance_fields / _refresh_geometry), gathered from the state and caches otherwise."""
        rows, field, geom = self.moving_rows, self._field_stash, self._geom_stash
        if field is not None and field[0] is state:
            los_field, shadow = field[1], field[2]
        else:
            los_field, shadow = state.los_field.take(rows, axis=0), state.shadow.take(rows, axis=0)
        if geom is not None and np.array_equal(geom[0], rows):
            pl_los, pl_nlos, p_los = geom[1], geom[2], geom[3]
        else:
            self._flush_geometry()
            pl_los, pl_nlos, p_los = (a.take(rows, axis=0) for a in (self._pl_los, self._pl_nlos, self._p_los))
        return los_field, shadow, pl_los, pl_nlos, p_los

    def _moving_los(self, state: SimState):
        los_field, _, _, _, p_los = self._moving_inputs(state)
        return phi_below(los_field, p_los)

    def _received_rows(self, state: SimState, faults: Faults, rows, los=None):
        if rows is self.moving_rows:
            los_field, shadow, pl_los, pl_nlos, p_los = self._moving_inputs(state)
        else:
            self._flush_geometry()
            arrays = (state.los_field, state.shadow, self._pl_los, self._pl_nlos, self._p_los)
            if isinstance(rows, slice):
                los_field, shadow, pl_los, pl_nlos, p_los = (a[rows] for a in arrays)
            else:
                los_field, shadow, pl_los, pl_nlos, p_los = (a.take(rows, axis=0) for a in arrays)
        if los is None:
            los = phi_below(los_field, p_los)  # Phi(field) < P_LOS, decided as scipy's ndtr would
        loss = select(los, pl_los, pl_nlos)
        sigma = select(los, self._sigma_los[None, :], self._sigma_nlos[None, :])
        sigma *= shadow
        loss += sigma
        loss += state.penetration_db[rows].astype(np.float32)[:, None]
        indoor = self.links.indoor[rows]
        if indoor.any():
            loss += np.where(indoor[:, None], self._wall32[None, :], np.float32(0.0))
        rain = faults.link_rain_mm_h[rows]
        if np.any(rain > 0):
            self._flush_geometry()
            loss += rain_attenuation_db(
                self.cells.carrier_ghz[None, :], rain[:, None], self._d2d[rows] / 1000.0
            ).astype(np.float32)
        rsrp = np.subtract(self._per_re32[None, :], loss, out=loss)
        if not faults.cell_active.all():
            rsrp[:, ~faults.cell_active] = NO_SIGNAL_DBM
        return rsrp, los

    def _advance_fields(self, state: SimState, step, noise: TickNoise, tick: int):
        tick_s = self.params.tick_s
        rho_time = np.float32(np.exp(-tick_s / self.params.shadow_time_corr_s))
        if len(self.moving_rows):
            mv = self.moving_rows
            # A link's step per tick is constant (its speed), so the AR(1) coefficients are computed once.
            key = (step[mv].tobytes(), rho_time)
            if self._rho_key != key:
                step32 = step[mv, None].astype(np.float32)
                rho_s = np.exp(-step32 / self._shadow_corr32[None, :]) * rho_time
                rho_l = np.exp(-step32 / self._los_corr32[None, :])
                self._rho = (rho_l, np.sqrt(1.0 - rho_l**2), rho_s, np.sqrt(1.0 - rho_s**2))
                self._rho_key = key
            rho_l, innov_l, rho_s, innov_s = self._rho
            los_mv = state.los_field.take(mv, axis=0)
            los_mv *= rho_l
            term = np.multiply(innov_l, noise.z_los)
            los_mv += term
            state.los_field[mv] = los_mv
            sh_mv = state.shadow.take(mv, axis=0)
            sh_mv *= rho_s
            np.multiply(innov_s, noise.z_shadow_moving, out=term)
            sh_mv += term
            state.shadow[mv] = sh_mv
            self._field_stash = (state, los_mv, sh_mv)  # the moving rows just computed, for _received_rows
        if tick % STATIC_SHADOW_EVERY == 0 and len(self.static_rows):
            st = self.static_rows
            rho = np.float32(rho_time**STATIC_SHADOW_EVERY)
            sh_st = state.shadow.take(st, axis=0)
            sh_st *= rho
            innov = np.multiply(np.float32(np.sqrt(1.0 - rho**2)), noise.z_shadow_static)
            sh_st += innov
            state.shadow[st] = sh_st

    # -- one tick ------------------------------------------------------------------------------------
    def tick(self, state: SimState, faults: Faults, noise: TickNoise | None = None) -> TickResult:
        """Advance `state` in place by one tick and return every link's KPIs for that tick."""
        cells, links, params = self.cells, self.links, self.params
        n_l, n_c = len(links), len(cells)
        tick = state.tick + 1
        noise = noise if noise is not None else self.noise(tick)
        x, y, step = self._positions(faults, tick)
        self._advance_fields(state, step, noise, tick)
        rsrp_all, los_all = self.received_power(state, faults, x, y,
                                                reuse_static=tick % STATIC_SHADOW_EVERY != 0, advancing=True)

        # Layer-3 filter (dB domain, as TS 38.331 5.5.3.2); dead cells drop out at once.
        a = np.float32(params.l3_alpha)
        filt = state.rsrp_filtered
        filt *= np.float32(1.0) - a
        filt += np.multiply(a, rsrp_all)
        if not faults.cell_active.all():
            filt[:, ~faults.cell_active] = NO_SIGNAL_DBM

        # A3 handover with time-to-trigger; radio-link failure when the serving cell is dead or too weak.
        # The strongest cell matters only where a handover or re-establishment condition holds against the
        # best level, so the per-row maximum (a reduction over the transposed matrix, cheap) screens the rows
        # and argmax runs on those alone; elsewhere best = serving, which gives the same decisions.
        serving = state.serving
        if n_c:
            best_rsrp = np.maximum.reduce(np.ascontiguousarray(filt.T), axis=0).astype(float)
        else:
            best_rsrp = np.full(n_l, -np.inf)
        flat = filt.reshape(-1)
        serv_rsrp = flat.take(self._row_offset + serving).astype(float)
        a3_level = best_rsrp > serv_rsrp + params.a3_offset_db + params.hysteresis_db
        rlf_level = (
            (~faults.cell_active[serving] | (serv_rsrp < params.min_rsrp_dbm)) & (best_rsrp >= params.min_rsrp_dbm)
        )
        best = serving.copy()
        screened = np.flatnonzero(a3_level | rlf_level)
        if len(screened):
            best[screened] = np.argmax(filt.take(screened, axis=0), axis=1)
        moves = best != serving
        a3 = moves & a3_level
        same_target = a3 & (state.ttt_target == best)
        count = np.where(a3, np.where(same_target, state.ttt_count + 1, 1), 0)
        do_ho = count >= params.ttt_ticks
        rlf = rlf_level & moves
        switch = do_ho | rlf
        serving = np.where(switch, best, serving)
        state.serving = serving
        state.ttt_count = np.where(switch, 0, count)
        state.ttt_target = np.where(a3 & ~switch, best, -1)
        interruption_ms = np.where(
            rlf, params.rlf_interruption_ms, np.where(do_ho, params.handover_interruption_ms, 0.0)
        )

        # Cell load: AR(1) around the configured load, plus injected surges.
        state.load = np.clip(
            params.load_rho * state.load
            + (1.0 - params.load_rho) * cells.base_load
            + params.load_sigma * np.sqrt(1.0 - params.load_rho**2) * noise.z_load,
            0.0,
            1.0,
        )
        load = np.clip(state.load + faults.cell_extra_load, 0.0, 1.0)
        state.tick = tick

        # Signal, co-channel interference and noise per resource element (mW). 10^(RSRP/10) is cached with the
        # RSRP rows; the serving entries are zeroed for the sums (which are then over the other cells only, no
        # cancellation) and restored afterwards.
        served = self._row_offset + serving
        rx_mw = self._mw_cache
        rx_flat = rx_mw.reshape(-1)
        s32 = rx_flat.take(served)
        s_avg = s32.astype(float)
        load32 = load.astype(np.float32)
        rs_weight = (RS_FRACTION + (1 - RS_FRACTION) * load).astype(np.float32)
        rx_flat[served] = 0.0
        try:
            if len(self._carriers) == 1:
                both = rx_mw @ np.stack([load32, rs_weight], axis=1)  # one pass over the matrix
                interf, rs_interf = both[:, 0].astype(float), both[:, 1].astype(float)
            else:
                serving_carrier = self._carrier_index[serving]
                interf = np.zeros(n_l)
                rs_interf = np.zeros(n_l)
                for k in range(len(self._carriers)):
                    cols = self._carrier_index == k
                    on_k = serving_carrier == k
                    if not on_k.any():
                        continue
                    both = rx_mw[:, cols] @ np.stack([load32[cols], rs_weight[cols]], axis=1)
                    total, total_rs = both[:, 0].astype(float), both[:, 1].astype(float)
                    interf = np.where(on_k, total, interf)
                    rs_interf = np.where(on_k, total_rs, rs_interf)
        finally:
            rx_flat[served] = s32
        noise_mw = self._noise_mw_cell[serving]
        ext_mw = (self._noise_mw_cell * (10.0 ** (faults.cell_interference_db / 10.0) - 1.0))[serving]
        return self._link_level(
            state, faults, noise, x, y, serving, switch, interruption_ms, load, s_avg, interf, rs_interf,
            noise_mw, ext_mw, los_all.reshape(-1).take(served),
        )

    def _reports(self, state: SimState, switch, available, fading_db, los_index, rsrp, rsrq, sinr):
        """The phone's reported RSRP / RSRQ / SINR (SimParams: report_filter_k, rsrp_meas_fading, rsrq_offset_db,
        rsrq_meas_fading). Links without service report their instantaneous values and restart the filters
        when service returns."""
        params = self.params
        rep = state.report
        if rep is None or rep.shape != (3, len(rsrp)):
            rep = state.report = np.full((3, len(rsrp)), np.nan)
        residual = fading_db - np.take(self._fading_mean_db, los_index)  # zero-mean fast fading, dB
        meas_rsrp = params.rsrp_meas_fading * residual
        meas_rsrp += rsrp
        meas_rsrq = params.rsrq_meas_fading * residual
        meas_rsrq += rsrq + params.rsrq_offset_db
        fresh = switch | np.isnan(rep[0])
        a = params.report_alpha
        out = []
        for j, m in enumerate((meas_rsrp, meas_rsrq, sinr)):
            r = rep[j]
            r *= 1.0 - a
            r += a * m
            r = np.where(fresh, m, r)
            rep[j] = np.where(available, r, np.nan)
            out.append(np.where(available, r, m))
        return out

    def _link_level(self, state, faults, noise, x, y, serving, switch, interruption_ms, load, s_avg, interf,
                    rs_interf, noise_mw, ext_mw, los_serving) -> TickResult:
        """Per-link arithmetic in float64. Terms that depend on the serving cell only (noise, slot, peak rate
        per layer and bit, scheduler share, queueing) are computed per cell and gathered."""
        cells, links, params = self.cells, self.links, self.params
        n_c = len(cells)
        # Nakagami-m power (Wilson-Hilferty): wh = 1 - 1/(9m) + z sqrt(1/(9m)), fading = max(wh, 0.05)^3.
        los_index = los_serving.view(np.uint8)
        m_by_los = np.array([params.fading_m_nlos, params.fading_m_los])
        wh = np.take(np.sqrt(1.0 / (9.0 * m_by_los)), los_index) * noise.z_fading
        wh += np.take(1.0 - 1.0 / (9.0 * m_by_los), los_index)
        np.maximum(wh, 0.05, out=wh)
        fading_db = np.log10(wh)
        fading_db *= 30.0  # 10 log10(wh^3)

        s_safe = np.maximum(s_avg, 1e-300)
        rsrp = np.log10(s_safe)
        rsrp *= 10.0
        sinr_est = interf + noise_mw
        sinr_est += ext_mw
        np.divide(s_safe, sinr_est, out=sinr_est)
        np.log10(sinr_est, out=sinr_est)
        sinr_est *= 10.0
        sinr = sinr_est + fading_db
        rs_share = (RS_FRACTION + (1 - RS_FRACTION) * load)[serving]
        rssi = s_avg * rs_share
        rssi += rs_interf
        rssi += noise_mw
        rssi += ext_mw
        rssi *= 12.0
        rsrq = np.divide(s_safe, rssi, out=rssi)
        np.log10(rsrq, out=rsrq)
        rsrq *= 10.0

        gain = cells.data_gain_db[serving]
        data_est = sinr_est + gain
        np.minimum(data_est, params.max_data_sinr_db, out=data_est)
        data_sinr = sinr + gain
        np.minimum(data_sinr, params.max_data_sinr_db, out=data_sinr)
        cqi = phy.sinr_to_cqi(data_est)
        threshold = self._cqi_threshold.take(cqi)
        # BLER of transmissions 1..max_harq_tx at once (Chase combining: the k-th sees SINR + 10 log10 k).
        n_tx = max(int(params.max_harq_tx), 1)
        combining_db = 10.0 * np.log10(np.arange(1, n_tx + 1, dtype=float))
        combining_db[0] = 0.0
        bl = np.add.outer(combining_db, data_sinr)
        bl -= threshold  # phy.bler in place: 1 / (1 + exp(clip(slope (sinr - threshold + offset), -50, 50)))
        bl += phy._BLER_OFFSET_DB
        bl *= phy.BLER_SLOPE_PER_DB
        np.clip(bl, -50.0, 50.0, out=bl)
        np.exp(bl, out=bl)
        bl += 1.0
        np.reciprocal(bl, out=bl)
        b1 = bl[0].copy()
        cumulative = bl  # b1, b1 b2, ...: the chance that transmissions 1..k all failed
        for k in range(1, n_tx):
            np.multiply(cumulative[k - 1], cumulative[k], out=cumulative[k])
        residual = cumulative[params.max_harq_tx - 1] if params.max_harq_tx >= 1 else b1
        retx = (noise.u_harq[None, :] < cumulative[: max(n_tx - 1, 1)]).sum(axis=0).astype(float)

        available = (cqi >= 1) & faults.cell_active[serving] & (rsrp >= params.min_rsrp_dbm)
        rep_rsrp, rep_rsrq, rep_sinr = self._reports(state, switch, available, fading_db, los_index, rsrp, rsrq,
                                                     sinr)
        own_users = np.bincount(serving[available], minlength=n_c).astype(float)
        if not params.share_with_own_links:
            own_users = np.ones(n_c)  # only this UE and the background users share the cell
        background = (
            cells.background_users * load * np.exp(params.users_sigma * noise.z_users - 0.5 * params.users_sigma**2)
        )
        users = np.maximum(own_users + background, 1.0)
        share = (1.0 / users)[serving]
        layers = phy.rank_layers(data_est, cells.max_layers[serving])
        peak = phy.cqi_to_efficiency(cqi) * layers
        peak *= self._peak_per_layer_bit[serving]
        tick_ms = params.tick_s * 1000.0
        up_fraction = np.clip(1.0 - interruption_ms / tick_ms, 0.0, 1.0)
        throughput = peak * params.tdd_dl_share
        throughput *= share
        throughput *= 1.0 - b1
        throughput *= up_fraction
        throughput = np.where(available, throughput, 0.0)

        slot_c = self._slot_ms_cell
        queue_slots = np.minimum(0.5 * (users - 1.0), params.max_queue_slots)
        radio = (slot_c * (params.tdd_period_slots / 2.0 + 2.0 * (1.0 + params.processing_slots) + queue_slots))[serving]
        harq = retx * params.harq_rtt_slots
        harq *= slot_c[serving]
        jitter = noise.e_jitter * params.jitter_ms
        jitter *= (1.0 + load)[serving]
        core = np.take(np.array([params.cloud_core_ms, params.edge_core_ms]), links.endpoint_edge.view(np.uint8))
        latency = radio + harq
        latency += links.backhaul_ms + faults.link_extra_latency_ms + core
        latency += jitter
        latency += interruption_ms
        loss = residual + faults.link_extra_loss
        loss += interruption_ms / tick_ms
        np.clip(loss, 0.0, 1.0, out=loss)
        capacity, demand, utilisation = throughput, None, None
        if self.traffic is not None:
            if state.traffic is None:
                state.traffic = traffic_models.initial_state(self.traffic, self.seed)
            tr = traffic_models.step(self.traffic, state.traffic, capacity, available, noise.u_traffic, state.tick,
                                     params.tick_s)
            throughput, demand, utilisation = tr.throughput_mbps, tr.demand_mbps, tr.utilisation
            latency = latency + tr.queue_ms
            loss = np.minimum(loss + tr.queue_loss, 1.0)
        return TickResult(
            rsrp=rep_rsrp,
            rsrq=rep_rsrq,
            sinr=rep_sinr,
            data_sinr=data_sinr,
            cqi=np.where(available, cqi, 0),
            bler=b1,
            throughput_mbps=throughput,
            latency_ms=np.where(available, latency, np.nan),
            loss=np.where(available, loss, 1.0),
            available=available,
            handover=switch,
            serving=serving.copy(),
            x=x,
            y=y,
            capacity_mbps=capacity,
            demand_mbps=demand,
            utilisation=utilisation,
        )


def run(cells: Cells, links: Links, *, seed: int, ticks: int, params: SimParams | None = None,
        faults: Faults | None = None, traffic: traffic_models.TrafficMix | None = None):
    """Convenience driver: simulate `ticks` ticks from a fresh state; yields (tick, TickResult)."""
    sim = LinkSimulator(cells, links, seed=seed, params=params, traffic=traffic)
    state = sim.initial_state()
    faults = faults or Faults.none(len(cells), len(links))
    for _ in range(ticks):
        result = sim.tick(state, faults)
        yield state.tick, result
