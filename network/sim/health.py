"""Link health: grade, 0-100 score and alert hysteresis. Pure Python/NumPy, no Django.

Default thresholds follow common operator practice for 5G NR link quality (issue 6): RSRP >= -80 / -90 /
-100 / -110 dBm and SINR >= 20 / 13 / 0 dB for excellent / good / fair / poor; latency and loss bands
are ours (edge-inference oriented) and, like the rest, configurable per store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRADES = ("excellent", "good", "fair", "poor", "no_service")
# The one mapping from the 0-100 health score to a grade, used by the links table, the map and the alerts (the
# score is the mean KPI score x availability; 75 / 50 are where a KPI sits on its good / fair bound). A link whose
# availability is under the floor is "no_service" whatever its score.
GRADE_BANDS = ((90.0, "excellent"), (75.0, "good"), (50.0, "fair"))

DEFAULT_THRESHOLDS = {
    # higher is better: [excellent, good, fair, poor] lower bounds
    "rsrp": [-80.0, -90.0, -100.0, -110.0],
    "sinr": [20.0, 13.0, 0.0, -5.0],
    # lower is better: [excellent, good, fair, poor] upper bounds
    "latency_p95_ms": [20.0, 50.0, 100.0, 200.0],
    "loss": [0.001, 0.01, 0.05, 0.2],
    "min_availability": 0.5,
}
HIGHER_IS_BETTER = ("rsrp", "sinr")
LOWER_IS_BETTER = ("latency_p95_ms", "loss")
DEFAULT_ALERTS = {"raise_below": 40.0, "clear_above": 55.0, "raise_after": 5, "clear_after": 10}


def validate_thresholds(thresholds: dict) -> dict:
    """Merge with the defaults and check every band is ordered; raises ValueError naming the key."""
    merged = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    for key in HIGHER_IS_BETTER + LOWER_IS_BETTER:
        bands = merged[key]
        if not isinstance(bands, (list, tuple)) or len(bands) != 4:
            raise ValueError(f"{key}: give four numbers (excellent, good, fair, poor).")
        bands = [float(b) for b in bands]
        ordered = all(a > b for a, b in zip(bands, bands[1:], strict=False)) if key in HIGHER_IS_BETTER else all(
            a < b for a, b in zip(bands, bands[1:], strict=False)
        )
        if not ordered:
            direction = "decreasing" if key in HIGHER_IS_BETTER else "increasing"
            raise ValueError(f"{key}: the four thresholds must be strictly {direction}.")
        merged[key] = bands
    merged["min_availability"] = float(merged["min_availability"])
    return merged


def _kpi_score(value: float, bands, higher_is_better: bool) -> tuple[float, int]:
    """Score 0-100 (100 at the excellent bound, 75/50/25 at good/fair/poor, 0 one band-width past poor)
    and the grade index 0-3."""
    if value is None or not np.isfinite(value):
        return 0.0, 3
    sign = 1.0 if higher_is_better else -1.0
    v = sign * value
    b = [sign * x for x in bands]  # now decreasing: b0 > b1 > b2 > b3
    points = [b[3] - (b[2] - b[3]), b[3], b[2], b[1], b[0]]
    scores = [0.0, 25.0, 50.0, 75.0, 100.0]
    score = float(np.interp(v, points, scores))
    grade = 0 if v >= b[0] else 1 if v >= b[1] else 2 if v >= b[2] else 3
    return score, grade


def grade_for_score(score: float | None) -> str:
    """The grade of a health score: >= 90 excellent, >= 75 good, >= 50 fair, below that poor."""
    if score is None or not np.isfinite(score):
        return "poor"
    for bound, grade in GRADE_BANDS:
        if score >= bound:
            return grade
    return "poor"


def grades_for_scores(scores: np.ndarray) -> np.ndarray:
    """grade_for_score over an array (same bands)."""
    scores = np.nan_to_num(np.asarray(scores, float), nan=-1.0)
    out = np.full(scores.shape, "poor", dtype=object)
    for bound, grade in reversed(GRADE_BANDS):
        out[scores >= bound] = grade
    return out.astype(str)


@dataclass(frozen=True)
class Health:
    grade: str
    score: float
    worst_kpi: str


def link_health(kpis: dict, thresholds: dict | None = None) -> Health:
    """Score = mean KPI score x availability; grade = grade_for_score(score) ('no_service' below the availability
    floor); worst_kpi names the KPI furthest down its bands (what to look at first)."""
    t = validate_thresholds(thresholds or {})
    availability = float(kpis.get("availability", 1.0) or 0.0)
    if availability < t["min_availability"]:
        return Health("no_service", round(100.0 * availability * 0.2, 1), "availability")
    scores, worst, worst_key = [], 0, ""
    for key in HIGHER_IS_BETTER + LOWER_IS_BETTER:
        score, grade = _kpi_score(kpis.get(key), t[key], key in HIGHER_IS_BETTER)
        scores.append(score)
        if grade > worst or not worst_key:
            worst, worst_key = grade, key
    score = round(float(np.mean(scores)) * availability, 1)
    return Health(grade_for_score(score), score, worst_key)


@dataclass
class HysteresisState:
    active: bool = False
    bad_streak: int = 0
    good_streak: int = 0

    def as_dict(self) -> dict:
        return {"active": self.active, "bad": self.bad_streak, "good": self.good_streak}

    @classmethod
    def from_dict(cls, data: dict | None) -> HysteresisState:
        data = data or {}
        return cls(bool(data.get("active", False)), int(data.get("bad", 0)), int(data.get("good", 0)))


def hysteresis_step(state: HysteresisState, *, is_bad: bool, is_good: bool, raise_after: int, clear_after: int):
    """One evaluation of an alert with hysteresis. `is_bad` and `is_good` come from two different thresholds
    (a dead band between them), and a state change needs `raise_after` / `clear_after` consecutive
    evaluations, so a KPI hovering around one threshold cannot make the alert flap.
    Returns (new_state, event) with event in {"raise", "clear", None}."""
    bad = state.bad_streak + 1 if is_bad else 0
    good = state.good_streak + 1 if is_good else 0
    if not state.active and bad >= raise_after:
        return HysteresisState(True, bad, 0), "raise"
    if state.active and good >= clear_after:
        return HysteresisState(False, 0, good), "clear"
    return HysteresisState(state.active, bad, good), None


def links_health(kpis: dict[str, np.ndarray], thresholds: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised link_health over arrays of links: (grade names, scores, worst KPI names).
    Same rules as link_health (tests check they agree)."""
    t = validate_thresholds(thresholds or {})
    n = len(next(iter(kpis.values())))
    availability = np.nan_to_num(np.asarray(kpis.get("availability", np.ones(n)), float), nan=0.0)
    keys = HIGHER_IS_BETTER + LOWER_IS_BETTER
    scores = np.zeros((len(keys), n))
    grades = np.zeros((len(keys), n), int)
    for k, key in enumerate(keys):
        sign = 1.0 if key in HIGHER_IS_BETTER else -1.0
        v = sign * np.asarray(kpis[key], float)
        b = [sign * x for x in t[key]]
        points = [b[3] - (b[2] - b[3]), b[3], b[2], b[1], b[0]]
        finite = np.isfinite(v)
        scores[k] = np.where(finite, np.interp(np.where(finite, v, 0.0), points, [0.0, 25.0, 50.0, 75.0, 100.0]), 0.0)
        grades[k] = np.where(~finite, 3, np.where(v >= b[0], 0, np.where(v >= b[1], 1, np.where(v >= b[2], 2, 3))))
    worst_index = np.argmax(grades, axis=0)
    score = np.round(scores.mean(axis=0) * availability, 1)
    no_service = availability < t["min_availability"]
    score = np.where(no_service, np.round(100.0 * availability * 0.2, 1), score)
    grade_names = np.where(no_service, "no_service", grades_for_scores(score))
    worst_names = np.where(no_service, "availability", np.array(keys)[worst_index])
    return grade_names, score, worst_names
