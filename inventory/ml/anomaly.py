"""KPI anomaly detection against forecast intervals, with hysteresis (no Django).

A day is *outside* when its actual value leaves the forecast's interval. One such day alone is noise; an alert
is raised when
  - two consecutive days are outside on the same side, or
  - a single day is outside by more than `large_excursion` times the interval's half-width on that side
    (revenue halving overnight should not wait a day).
An alert, once raised, stays raised while days stay outside on the same side, and clears only after `clear_days`
consecutive days back inside: a series that hovers on the bound does not flap on and off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Excursion:
    index: int  # day index in the checked window
    direction: str  # "above" | "below"
    actual: float
    expected: float
    lo: float
    hi: float
    size: float  # (actual - expected) / expected; actual - expected when expected is 0
    reason: str  # "consecutive" | "large" | "continuing"


def detect_anomalies(
    actual: np.ndarray, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray, *,
    consecutive: int = 2, large_excursion: float = 1.0, clear_days: int = 2,
) -> list[Excursion]:
    actual, mean, lo, hi = (np.asarray(a, dtype=float) for a in (actual, mean, lo, hi))
    alerts: list[Excursion] = []
    streak_side, streak = None, 0
    raised_side, inside_run = None, 0
    for i, value in enumerate(actual):
        if not np.isfinite(value):
            continue
        side = "above" if value > hi[i] else "below" if value < lo[i] else None
        if side is None:
            streak_side, streak = None, 0
            inside_run += 1
            if raised_side is not None and inside_run >= clear_days:
                raised_side = None
            continue
        inside_run = 0
        streak = streak + 1 if side == streak_side else 1
        streak_side = side
        bound = hi[i] if side == "above" else lo[i]
        half = (hi[i] - mean[i]) if side == "above" else (mean[i] - lo[i])
        large = abs(value - bound) > large_excursion * max(half, 1e-9)
        if raised_side == side:
            reason = "continuing"
        elif streak >= consecutive:
            reason = "consecutive"
        elif large:
            reason = "large"
        else:
            continue
        raised_side = side
        size = (value - mean[i]) / mean[i] if mean[i] else value - mean[i]
        alerts.append(Excursion(index=i, direction=side, actual=float(value), expected=float(mean[i]),
                                lo=float(lo[i]), hi=float(hi[i]), size=float(size), reason=reason))
    return alerts
