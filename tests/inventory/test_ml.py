"""The numerical core without Django: stock-out handling, forecasts and their intervals, reorder math, hysteresis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inventory.ml.anomaly import detect_anomalies
from inventory.ml.forecast import (
    FAST_MODELS,
    SeriesInput,
    clean_history,
    forecast_many,
    reconcile_bottom_up,
    velocity,
)
from inventory.ml.reorder import ReorderInputs, reorder_plan


def test_stockout_days_are_left_out_of_velocity_and_imputed_for_the_models():
    y = np.array([4, 4, 4, 4, 0, 0, 0, 4, 4, 4], dtype=float)
    in_stock = np.array([True] * 4 + [False] * 3 + [True] * 3)
    assert velocity(y, in_stock, window=10) == pytest.approx(4.0)  # a spreadsheet's mean would say 2.8
    assert velocity(y, None, window=10) == pytest.approx(2.8)
    clean, n = clean_history(y, in_stock)
    assert n == 3
    assert clean[4:7].tolist() == [4.0, 4.0, 4.0]
    assert clean[[0, 9]].tolist() == [4.0, 4.0]


def test_stockout_exclusion_changes_the_forecast():
    rng = np.random.default_rng(1)
    y = rng.poisson(5, 140).astype(float)
    y[-20:-6] = 0  # two weeks on an empty shelf
    in_stock = np.ones(140, dtype=bool)
    in_stock[-20:-6] = False
    censored, honest = forecast_many([SeriesInput("a", y), SeriesInput("b", y, in_stock)], horizon=14,
                                     models=FAST_MODELS)
    assert honest.stockout_days == 14 and censored.stockout_days == 0
    assert honest.mean.mean() > censored.mean.mean() + 1.0
    assert 3.5 < honest.mean.mean() < 6.5


def test_intervals_cover_about_their_level_on_held_out_days():
    rng = np.random.default_rng(3)
    series, futures = [], []
    for i in range(30):
        rate = [0.3, 2.0, 8.0][i % 3] * (1 + 0.3 * np.sin(np.arange(210) * 2 * np.pi / 7))
        y = rng.poisson(rate).astype(float)
        series.append(SeriesInput(f"s{i}", y[:182]))
        futures.append(y[182:])
    forecasts = forecast_many(series, horizon=28, folds=3, models=FAST_MODELS)
    inside = np.concatenate([(f.lo <= fut) & (fut <= f.hi) for f, fut in zip(forecasts, futures, strict=True)])
    assert 0.65 <= inside.mean() <= 0.95, inside.mean()
    for f in forecasts:
        assert np.all(f.lo >= 0) and np.all(f.lo <= f.mean + 1e-9) and np.all(f.mean <= f.hi + 1e-9)
        assert f.method == "backtest" and set(f.model.split("+")) <= set(FAST_MODELS) and set(f.scores) == set(FAST_MODELS)


def test_a_young_product_gets_its_velocity_and_a_poisson_interval():
    [f] = forecast_many([SeriesInput("new", np.array([1, 0, 2, 1, 0, 1, 2], dtype=float))], horizon=7)
    assert f.method == "short-history"
    assert f.mean.tolist() == pytest.approx([1.0] * 7)
    assert f.lo[0] == 0 and f.hi[0] >= 2


def test_bottom_up_totals_sum_the_products_and_combine_spreads():
    rng = np.random.default_rng(5)
    series = [SeriesInput(k, rng.poisson(3, 120).astype(float)) for k in ("a", "b", "c")]
    forecasts = forecast_many(series, horizon=7, models=FAST_MODELS)
    [total] = reconcile_bottom_up(forecasts, {"all": ["a", "b", "c"]})
    assert total.mean == pytest.approx(sum(f.mean for f in forecasts))
    width = total.hi - total.mean
    assert np.all(width <= sum(f.hi - f.mean for f in forecasts) + 1e-9)  # narrower than the sum of widths
    assert np.all(width >= np.max([f.hi - f.mean for f in forecasts], axis=0) - 1e-9)


def test_reorder_point_against_a_hand_computed_case():
    # 2 units/day, an 80% interval of 2 +- 1.2816 (so sigma_day = 1), lead time 5, review period 2, 95% service.
    z80 = 1.2815515655446004
    plan = reorder_plan(ReorderInputs(
        mean=np.full(28, 2.0), lo=np.full(28, 2 - z80), hi=np.full(28, 2 + z80), level=80, on_hand=10, on_order=5,
        lead_time_days=5, review_period_days=2, service_level=0.95, pack_size=6,
    ))
    assert plan.demand_lead_time == pytest.approx(10.0)
    assert plan.demand_protection == pytest.approx(14.0)
    assert plan.sigma_protection == pytest.approx(math.sqrt(7))
    assert plan.safety_stock == pytest.approx(1.6448536 * math.sqrt(7), rel=1e-6)  # 4.352
    assert plan.reorder_point == pytest.approx(14 + 4.3518, abs=1e-3)
    assert plan.position == 15 and plan.order_now
    # order up to ROP + one more review period of demand (4): 22.35 - 15 = 7.35 -> 2 packs of 6
    assert plan.suggested_qty == 12
    assert plan.days_of_cover == pytest.approx(5.0)
    assert plan.stockout_in_days == 6  # cumulative demand passes 10 units on day 6


def test_no_reorder_when_stock_covers_the_protection_period():
    plan = reorder_plan(ReorderInputs(mean=np.full(28, 1.0), lo=np.zeros(28), hi=np.full(28, 2.0), level=80,
                                      on_hand=100, on_order=0, lead_time_days=7, review_period_days=7,
                                      service_level=0.9))
    assert not plan.order_now and plan.suggested_qty == 0 and plan.stockout_in_days is None


@pytest.mark.parametrize("field,value", [("lead_time_days", 0), ("lead_time_days", -3), ("service_level", 1.0)])
def test_reorder_rejects_impossible_inputs(field, value):
    kwargs = dict(mean=np.ones(7), lo=np.zeros(7), hi=np.full(7, 2.0), level=80, on_hand=1, on_order=0,
                  lead_time_days=3, review_period_days=1, service_level=0.9)
    kwargs[field] = value
    with pytest.raises(ValueError):
        reorder_plan(ReorderInputs(**kwargs))


def _band(n):
    return np.full(n, 100.0), np.full(n, 80.0), np.full(n, 120.0)


def test_one_noisy_day_does_not_alert_two_in_a_row_do():
    mean, lo, hi = _band(10)
    actual = np.array([100, 125, 100, 100, 125, 126, 100, 100, 100, 100], dtype=float)
    alerts = detect_anomalies(actual, mean, lo, hi)
    assert [(a.index, a.reason, a.direction) for a in alerts] == [(5, "consecutive", "above")]
    assert alerts[0].size == pytest.approx(0.26)


def test_a_large_single_excursion_alerts_at_once():
    mean, lo, hi = _band(5)
    alerts = detect_anomalies(np.array([100, 100, 40, 100, 100], dtype=float), mean, lo, hi)
    assert [(a.index, a.reason, a.direction) for a in alerts] == [(2, "large", "below")]
    assert alerts[0].size == pytest.approx(-0.6)


def test_a_raised_alert_does_not_flap_on_a_series_hovering_at_the_bound():
    mean, lo, hi = _band(8)
    actual = np.array([125, 125, 119, 125, 119, 125, 100, 100], dtype=float)
    alerts = detect_anomalies(actual, mean, lo, hi)
    # raised on day 1, then each outside day continues the same alert (one inside day does not clear it)
    assert [(a.index, a.reason) for a in alerts] == [(1, "consecutive"), (3, "continuing"), (5, "continuing")]


def test_the_loop_and_statsforecast_engines_agree():
    rng = np.random.default_rng(9)
    series = [SeriesInput(f"s{i}", rng.poisson([0.2, 3, 9][i % 3], 150).astype(float)) for i in range(9)]
    loop = forecast_many(series, horizon=14, models=FAST_MODELS, engine="loop")
    frame = forecast_many(series, horizon=14, models=FAST_MODELS, engine="statsforecast")
    for a, b in zip(loop, frame, strict=True):
        assert a.model == b.model
        np.testing.assert_allclose(a.mean, b.mean, atol=1e-9)
        np.testing.assert_allclose(a.hi, b.hi, atol=1e-9)
