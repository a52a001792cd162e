"""Radio constants: bands, scenarios, the CQI table. Plain Python, no Django.

Sources
- Bands and PRB counts: 3GPP TS 38.101-1 Table 5.3.2-1 (FR1, n78 at 30 kHz SCS, 100 MHz -> 273 PRB) and
  TS 38.101-2 Table 5.3.2-1 (FR2, n257 at 120 kHz SCS: 100 MHz -> 66, 200 MHz -> 132, 400 MHz -> 264 PRB).
- CQI -> modulation order, code rate and spectral efficiency: TS 38.214 Table 5.2.2.1-2 (4-bit CQI Table 1).
  The spec gives no SINR thresholds; the switching points below are the link-level SINRs at which each CQI
  reaches 10 % BLER on an AWGN-like channel (the widely used values of the Vienna LTE/5G link-level simulator,
  also the default of ns-3's NrAmc "error model" mode). They are an engineering choice, written here once.
- Overhead factors for throughput: TS 38.306 section 4.1.2 (OH = 0.14 FR1 DL, 0.18 FR2 DL).
"""

from __future__ import annotations

from dataclasses import dataclass

SPEED_OF_LIGHT = 299_792_458.0
THERMAL_NOISE_DBM_PER_HZ = -174.0

SCENARIOS = ("UMa", "UMi-Street-Canyon", "RMa", "InH")
SCENARIO_CODE = {name: i for i, name in enumerate(SCENARIOS)}


@dataclass(frozen=True)
class BandSpec:
    name: str
    carrier_ghz: float
    fr: int  # 1 or 2
    scs_khz: int
    numerology: int  # mu: slot = 1 ms / 2**mu
    prb_by_bandwidth: dict  # MHz -> N_PRB (38.101)
    noise_figure_db: float  # UE receiver noise figure (38.101 / 38.803 typical values)
    overhead: float  # 38.306 OH for DL

    def n_prb(self, bandwidth_mhz: int) -> int:
        try:
            return self.prb_by_bandwidth[int(bandwidth_mhz)]
        except KeyError:
            allowed = ", ".join(str(b) for b in sorted(self.prb_by_bandwidth))
            raise ValueError(f"Band {self.name} supports bandwidths {allowed} MHz, not {bandwidth_mhz}.") from None


BANDS: dict[str, BandSpec] = {
    "n78": BandSpec("n78", 3.5, 1, 30, 1, {20: 51, 40: 106, 50: 133, 60: 162, 80: 217, 100: 273}, 7.0, 0.14),
    "n257": BandSpec("n257", 28.0, 2, 120, 3, {50: 32, 100: 66, 200: 132, 400: 264}, 10.0, 0.18),
}

# TS 38.214 Table 5.2.2.1-2: CQI index -> (modulation order Qm, code rate x 1024, spectral efficiency).
CQI_TABLE = (
    (0, 0, 0.0),
    (2, 78, 0.1523),
    (2, 120, 0.2344),
    (2, 193, 0.3770),
    (2, 308, 0.6016),
    (2, 449, 0.8770),
    (2, 602, 1.1758),
    (4, 378, 1.4766),
    (4, 490, 1.9141),
    (4, 616, 2.4063),
    (6, 466, 2.7305),
    (6, 567, 3.3223),
    (6, 666, 3.9023),
    (6, 772, 4.5234),
    (6, 873, 5.1152),
    (6, 948, 5.5547),
)
CQI_EFFICIENCY = tuple(row[2] for row in CQI_TABLE)
# SINR (dB) at which CQI 1..15 reach 10 % BLER (link-level, see module docstring). CQI 0 below the first.
CQI_SINR_THRESHOLDS_DB = (-6.7, -4.7, -2.3, 0.2, 2.4, 4.3, 5.9, 8.1, 10.3, 11.7, 14.1, 16.3, 18.7, 21.0, 22.7)

# TR 38.901 Table 7.4.1-1 applicability ranges: 2D distance (m), UT height (m), BS height (m).
SCENARIO_RANGES = {
    "UMa": {"d2d": (10.0, 5000.0), "h_ut": (1.5, 22.5), "h_bs": (25.0, 25.0)},
    "UMi-Street-Canyon": {"d2d": (10.0, 5000.0), "h_ut": (1.5, 22.5), "h_bs": (10.0, 10.0)},
    "RMa": {"d2d": (10.0, 10000.0), "h_ut": (1.0, 10.0), "h_bs": (10.0, 150.0)},
    "InH": {"d2d": (1.0, 150.0), "h_ut": (1.0, 3.0), "h_bs": (3.0, 3.0)},
}
# BS heights are nominal in the spec for UMa/UMi/InH; we accept a tolerance band around them.
BS_HEIGHT_LIMITS = {"UMa": (15.0, 50.0), "UMi-Street-Canyon": (5.0, 20.0), "RMa": (10.0, 150.0), "InH": (2.0, 6.0)}

# Shadow-fading decorrelation distance (m), TR 38.901 Table 7.5-6 part 1 (NLOS values; LOS is shorter).
SHADOW_DECORRELATION_M = {"UMa": 50.0, "UMi-Street-Canyon": 13.0, "RMa": 120.0, "InH": 6.0}
# LOS-state decorrelation distance (m), TR 38.901 Table 7.6.3.1-2 (spatial consistency).
LOS_DECORRELATION_M = {"UMa": 50.0, "UMi-Street-Canyon": 50.0, "RMa": 60.0, "InH": 10.0}

POSITION_LIMIT_M = 20_000.0  # the plane every store draws on: +-20 km around its origin
