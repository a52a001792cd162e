"""3GPP TR 38.901 V17 large-scale propagation, vectorised with NumPy (no Django).

- Path loss: Table 7.4.1-1 (UMa, UMi-Street-Canyon, RMa, InH-Office), LOS and NLOS, with the breakpoint
  distance d_BP = 2*pi*h_BS*h_UT*f_c/c (RMa) and d'_BP = 4*h'_BS*h'_UT*f_c/c with h' = h - h_E, h_E = 1 m
  (UMa, UMi). NLOS path loss is max(PL_LOS, PL'_NLOS) as the table prescribes.
- LOS probability: Table 7.4.2-1 (outdoor distance d_2D-out).
- O2I building penetration: section 7.4.3.1, low-loss model (glass + concrete), plus 0.5 dB/m indoors.
- Car penetration: section 7.4.3.2, mean 9 dB (sigma 5 dB).
- Shadow-fading standard deviations: Table 7.4.1-1.

Distances are clamped to the table's validity range (see `constants.SCENARIO_RANGES`); callers that care
report the clamping (the Django layer warns on topology edits). Frequencies are in GHz, lengths in metres.
"""

from __future__ import annotations

import numpy as np

from .constants import SCENARIO_CODE, SCENARIO_RANGES, SPEED_OF_LIGHT
from .fastmath import select

UMA, UMI, RMA, INH = (SCENARIO_CODE[s] for s in ("UMa", "UMi-Street-Canyon", "RMa", "InH"))
# (sigma LOS, sigma NLOS) in dB, Table 7.4.1-1.
SHADOW_SIGMA_DB = {UMA: (4.0, 6.0), UMI: (4.0, 7.82), RMA: (4.0, 8.0), INH: (3.0, 8.03)}
RMA_BUILDING_HEIGHT = 5.0  # h, default of Table 7.4.1-1 note
RMA_STREET_WIDTH = 20.0  # W
ENVIRONMENT_HEIGHT = 1.0  # h_E for UMa/UMi (UMa uses 1 m with probability 1/(1+C); we take the dominant case)


def _log10(x):
    return np.log10(x)


def _out(x, other):
    """x as the `out=` of a binary ufunc with `other` when that is safe (x an array of the result's shape)."""
    if isinstance(x, np.ndarray) and x.ndim and x.shape == np.broadcast_shapes(x.shape, np.shape(other)):
        return x
    return None


def _affine(x, slope, offset):
    """slope * x + offset; in place on the product when it has the full shape (the engine's L x C hot path)."""
    out = np.multiply(x, slope)
    return np.add(out, offset, out=_out(out, offset))


# The per-cell / per-height terms are summed first (they broadcast as 1 x C or L x 1), so that each L x C
# matrix costs one multiply-add per term; only float rounding differs from the textbook order of the sums.
def pathloss_uma(d2d, d3d, fc, h_bs, h_ut):
    """UMa LOS and NLOS path loss (dB), TR 38.901 Table 7.4.1-1."""
    d_bp = (4.0 * (h_bs - ENVIRONMENT_HEIGHT) * fc * 1e9 / SPEED_OF_LIGHT) * (h_ut - ENVIRONMENT_HEIGHT)
    lg_d, lg_f = _log10(d3d), _log10(fc)  # each logarithm once (the hot path of moving links)
    pl1 = _affine(lg_d, 22.0, 28.0 + 20.0 * lg_f)
    pl2 = _affine(lg_d, 40.0, 28.0 + 20.0 * lg_f - 9.0 * _log10(d_bp**2 + (h_bs - h_ut) ** 2))
    los = select(d2d <= d_bp, pl1, pl2)
    nlos_prime = _affine(lg_d, 39.08, 13.54 + 20.0 * lg_f - 0.6 * (h_ut - 1.5))
    return los, np.maximum(los, nlos_prime, out=_out(nlos_prime, los))


def pathloss_umi(d2d, d3d, fc, h_bs, h_ut):
    """UMi-Street-Canyon LOS and NLOS path loss (dB), TR 38.901 Table 7.4.1-1."""
    d_bp = (4.0 * (h_bs - ENVIRONMENT_HEIGHT) * fc * 1e9 / SPEED_OF_LIGHT) * (h_ut - ENVIRONMENT_HEIGHT)
    lg_d, lg_f = _log10(d3d), _log10(fc)
    pl1 = _affine(lg_d, 21.0, 32.4 + 20.0 * lg_f)
    pl2 = _affine(lg_d, 40.0, 32.4 + 20.0 * lg_f - 9.5 * _log10(d_bp**2 + (h_bs - h_ut) ** 2))
    los = select(d2d <= d_bp, pl1, pl2)
    nlos_prime = _affine(lg_d, 35.3, 22.4 + 21.3 * lg_f - 0.3 * (h_ut - 1.5))
    return los, np.maximum(los, nlos_prime, out=_out(nlos_prime, los))


def pathloss_rma(d2d, d3d, fc, h_bs, h_ut):
    """RMa LOS and NLOS path loss (dB), TR 38.901 Table 7.4.1-1 (h = 5 m, W = 20 m)."""
    h, w = RMA_BUILDING_HEIGHT, RMA_STREET_WIDTH
    d_bp = 2.0 * np.pi * h_bs * h_ut * fc * 1e9 / SPEED_OF_LIGHT

    def pl1(d):
        return (
            20.0 * _log10(40.0 * np.pi * d * fc / 3.0)
            + min(0.03 * h**1.72, 10.0) * _log10(d)
            - min(0.044 * h**1.72, 14.77)
            + 0.002 * np.log10(h) * d
        )

    d3d_bp = np.sqrt(d_bp**2 + (h_bs - h_ut) ** 2)
    los = select(d2d <= d_bp, pl1(d3d), pl1(d3d_bp) + 40.0 * _log10(d3d / d3d_bp))
    nlos_prime = (
        161.04
        - 7.1 * np.log10(w)
        + 7.5 * np.log10(h)
        - (24.37 - 3.7 * (h / h_bs) ** 2) * _log10(h_bs)
        + (43.42 - 3.1 * _log10(h_bs)) * (_log10(d3d) - 3.0)
        + 20.0 * _log10(fc)
        - (3.2 * (_log10(11.75 * h_ut)) ** 2 - 4.97)
    )
    return los, np.maximum(los, nlos_prime)


def pathloss_inh(d2d, d3d, fc, h_bs, h_ut):
    """InH-Office LOS and NLOS path loss (dB), TR 38.901 Table 7.4.1-1."""
    los = 32.4 + 17.3 * _log10(d3d) + 20.0 * _log10(fc)
    nlos_prime = 38.3 * _log10(d3d) + 17.30 + 24.9 * _log10(fc)
    return los, np.maximum(los, nlos_prime)


def los_probability(code: int, d2d_out, h_ut):
    """Table 7.4.2-1. `d2d_out` is the outdoor part of the 2D distance."""
    d = np.maximum(d2d_out, 1e-3)
    if code == RMA:
        return np.where(d <= 10.0, 1.0, np.exp(-(d - 10.0) / 1000.0))
    if code == UMI:
        return np.where(d <= 18.0, 1.0, 18.0 / d + np.exp(-d / 36.0) * (1.0 - 18.0 / d))
    if code == UMA:
        near = 18.0 / d
        base = np.exp(d * (-1.0 / 63.0))
        base *= 1.0 - near
        base += near
        if np.any(np.asarray(h_ut) > 13.0):  # C'(h_UT) = 0 up to 13 m: the height term is then exactly 1
            c_prime = np.where(h_ut <= 13.0, 0.0, ((np.maximum(h_ut, 13.0) - 13.0) / 10.0) ** 1.5)
            p = base * (1.0 + c_prime * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0))
        else:
            p = base
        return np.where(d <= 18.0, 1.0, p)
    # InH-Mixed office
    return np.where(d <= 1.2, 1.0, np.where(d < 6.5, np.exp(-(d - 1.2) / 4.7), np.exp(-(d - 6.5) / 32.6) * 0.32))


PATHLOSS_FUNCTIONS = {UMA: pathloss_uma, UMI: pathloss_umi, RMA: pathloss_rma, INH: pathloss_inh}


def o2i_through_wall_db(fc):
    """Section 7.4.3.1 low-loss O2I through-wall loss (30 % standard glass, 70 % concrete), Table 7.4.3-2."""
    l_glass = 2.0 + 0.2 * fc
    l_concrete = 5.0 + 4.0 * fc
    return 5.0 - 10.0 * np.log10(0.3 * 10.0 ** (-l_glass / 10.0) + 0.7 * 10.0 ** (-l_concrete / 10.0))


def o2i_low_loss_db(fc, d2d_in):
    """Low-loss O2I model: through-wall loss + 0.5 dB/m indoor loss (its sigma_P = 4.4 dB is drawn per link)."""
    return o2i_through_wall_db(fc) + 0.5 * d2d_in


O2I_SIGMA_DB = 4.4
CAR_PENETRATION_MEAN_DB = 9.0
CAR_PENETRATION_SIGMA_DB = 5.0


def clamp_distance(code: int, d2d):
    lo, hi = SCENARIO_RANGES[_scenario_name(code)]["d2d"]
    return np.clip(d2d, lo, hi)


def _scenario_name(code: int) -> str:
    from .constants import SCENARIOS

    return SCENARIOS[code]


def large_scale(code: int, d2d, h_bs, h_ut, fc):
    """Path loss (LOS, NLOS) in dB, LOS probability and shadow sigmas for one scenario, broadcasting arrays.

    `d2d` is clamped to the scenario's validity range; d3d follows from the heights.
    """
    d2d = clamp_distance(code, d2d)
    d3d = d2d * d2d
    dh2 = (h_bs - h_ut) ** 2
    d3d = np.sqrt(np.add(d3d, dh2, out=_out(d3d, dh2)), out=_out(d3d, dh2))
    pl_los, pl_nlos = PATHLOSS_FUNCTIONS[code](d2d, d3d, fc, h_bs, h_ut)
    p_los = los_probability(code, d2d, h_ut)
    s_los, s_nlos = SHADOW_SIGMA_DB[code]
    return pl_los, pl_nlos, p_los, s_los, s_nlos
