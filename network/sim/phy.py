"""Link-level abstractions: SINR -> CQI -> spectral efficiency -> throughput, BLER and HARQ, latency.

Sources
- CQI table and efficiencies: TS 38.214 Table 5.2.2.1-2 (see constants.py for the SINR switching points).
- Peak-rate formula: TS 38.306 section 4.1.2,
      rate = 1e-6 * sum_j v_layers * Q_m * f * R_max * (12 * N_PRB / T_s^mu) * (1 - OH),
      T_s^mu = 1e-3 / (14 * 2^mu).
  We replace Q_m * R_max with the efficiency of the CQI chosen by link adaptation, multiply by the TDD
  downlink share of the frame (DDDSU: (3 + 10/14) / 5 = 0.743), the scheduler's share of the cell and (1 - BLER).
- BLER: a logistic curve in SINR around the CQI's switching point, steep like AWGN link curves
  (10 % at the switching point, ~2 dB from 90 % to 10 %), the abstraction used by system-level simulators
  such as Sionna SYS and ns-3 5G-LENA. HARQ with Chase combining: the k-th transmission sees SINR + 10*log10(k).
- Latency: slot length 1 ms / 2^mu (TS 38.211 4.3.2), HARQ RTT in slots, TDD alignment wait, processing,
  transport (ITU-R M.2410 user-plane latency decomposition).
"""

from __future__ import annotations

import numpy as np

from .constants import CQI_EFFICIENCY, CQI_SINR_THRESHOLDS_DB

_THRESHOLDS = np.asarray(CQI_SINR_THRESHOLDS_DB)
_EFFICIENCY = np.asarray(CQI_EFFICIENCY)
BLER_SLOPE_PER_DB = 2.0
BLER_AT_THRESHOLD = 0.1
_BLER_OFFSET_DB = float(np.log((1 - BLER_AT_THRESHOLD) / BLER_AT_THRESHOLD) / BLER_SLOPE_PER_DB)


def sinr_to_cqi(sinr_db):
    """Highest CQI whose switching point is <= SINR (0 = out of range), elementwise (int64).

    = np.searchsorted(_THRESHOLDS, sinr_db, side="right"), NaN included (15), as 15 minus the number of
    switching points above the SINR: 15 byte-wide comparisons are several times cheaper than a binary search
    per element."""
    sinr_db = np.asarray(sinr_db)
    above = np.zeros(sinr_db.shape, np.uint8)
    for threshold in _THRESHOLDS:
        above += sinr_db < threshold
    return len(_THRESHOLDS) - above.astype(np.int64)


def cqi_to_efficiency(cqi):
    return _EFFICIENCY[cqi]


def cqi_threshold_db(cqi):
    """Switching SINR of each CQI (CQI 0 gets the CQI 1 point, it carries no data anyway)."""
    return _THRESHOLDS[np.maximum(cqi, 1) - 1]


def bler(sinr_db, threshold_db):
    """Block error rate of a transport block sent with the MCS of `threshold_db` at `sinr_db` (logistic)."""
    x = BLER_SLOPE_PER_DB * (sinr_db - threshold_db + _BLER_OFFSET_DB)
    return 1.0 / (1.0 + np.exp(np.clip(x, -50.0, 50.0)))


def rank_layers(sinr_db, max_layers):
    """Rank adaptation: one more MIMO layer at 5, 12 and 18 dB, capped by the antenna configuration."""
    layers = 1 + (sinr_db > 5.0).astype(np.int64) + (sinr_db > 12.0) + (sinr_db > 18.0)
    return np.minimum(layers, max_layers)


def peak_rate_mbps(*, efficiency, layers, n_prb, numerology, overhead):
    """TS 38.306 4.1.2 with Q_m * R replaced by the CQI efficiency (one component carrier)."""
    symbol_time = 1e-3 / (14.0 * 2.0**numerology)
    return 1e-6 * layers * efficiency * (12.0 * n_prb / symbol_time) * (1.0 - overhead)


def slot_ms(numerology):
    return 1.0 / (2.0**numerology)
