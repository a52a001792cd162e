"""Reorder planning math (no Django): safety stock, reorder point, order quantity, days of cover.

The policy is continuous review with a review period: an item can only be reordered at the next review, so the
stock on hand must cover the supplier's lead time L plus the review period R ("protection period" P = L + R).

    sigma_day   = (hi - lo) / (2 z_level)          the daily demand spread implied by the forecast's interval
    sigma_P     = sqrt(sum of sigma_day^2 over P)  (days taken as independent)
    safety      = z(service level) * sigma_P
    reorder pt  = forecast demand over P + safety
    order now   = inventory position (on hand + on order) <= reorder point
    order qty   = reorder point + demand over R - position, rounded up to the pack size, at least the MOQ

Beyond the forecast's horizon the last forecast day is repeated (demand and spread).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class ReorderInputs:
    mean: np.ndarray  # forecast units per day from tomorrow
    lo: np.ndarray
    hi: np.ndarray
    level: int  # of the interval, e.g. 80
    on_hand: int
    on_order: int
    lead_time_days: int
    review_period_days: int
    service_level: float  # e.g. 0.95
    pack_size: int = 1
    min_order_qty: int = 0


@dataclass(frozen=True)
class ReorderPlan:
    demand_lead_time: float
    demand_protection: float
    sigma_protection: float
    safety_stock: float
    reorder_point: float
    position: int
    order_now: bool
    suggested_qty: int
    days_of_cover: float | None  # on hand / mean daily demand; None when no demand is expected
    stockout_in_days: int | None  # first day the cumulative forecast exceeds the stock on hand; None beyond horizon


def _extend(values: np.ndarray, days: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if days <= len(values):
        return values[:days]
    tail = values[-1] if len(values) else 0.0
    return np.concatenate([values, np.full(days - len(values), tail)])


def reorder_plan(inputs: ReorderInputs) -> ReorderPlan:
    if inputs.lead_time_days <= 0:
        raise ValueError("lead_time_days must be positive")
    if inputs.review_period_days < 0:
        raise ValueError("review_period_days must not be negative")
    if not 0.5 <= inputs.service_level < 1:
        raise ValueError("service_level must be in [0.5, 1)")
    z_level = NormalDist().inv_cdf(0.5 + inputs.level / 200)
    z_service = NormalDist().inv_cdf(inputs.service_level)
    protection = inputs.lead_time_days + inputs.review_period_days
    mean_p = _extend(inputs.mean, protection)
    sigma_day = np.clip((_extend(inputs.hi, protection) - _extend(inputs.lo, protection)) / (2 * z_level), 0.0, None)
    demand_lt = float(mean_p[: inputs.lead_time_days].sum())
    demand_p = float(mean_p.sum())
    sigma_p = float(math.sqrt(float(np.sum(sigma_day**2))))
    safety = z_service * sigma_p
    reorder_point = demand_p + safety
    position = int(inputs.on_hand) + int(inputs.on_order)
    order_now = position <= reorder_point and demand_p > 0
    qty = 0
    if order_now:
        demand_review = float(_extend(inputs.mean, protection + inputs.review_period_days)[protection:].sum())
        need = max(0.0, reorder_point + demand_review - position)
        pack = max(1, int(inputs.pack_size))
        qty = int(math.ceil(need / pack) * pack)
        qty = max(qty, int(inputs.min_order_qty))
    daily = float(np.mean(inputs.mean)) if len(inputs.mean) else 0.0
    cover = inputs.on_hand / daily if daily > 0 else None
    cumulative = np.cumsum(np.asarray(inputs.mean, dtype=float))
    beyond = np.flatnonzero(cumulative > inputs.on_hand)
    stockout = int(beyond[0]) + 1 if len(beyond) else None
    if inputs.on_hand <= 0:
        stockout = 0
    return ReorderPlan(
        demand_lead_time=demand_lt, demand_protection=demand_p, sigma_protection=sigma_p, safety_stock=safety,
        reorder_point=reorder_point, position=position, order_now=order_now, suggested_qty=qty,
        days_of_cover=cover, stockout_in_days=stockout,
    )
