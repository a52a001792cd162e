"""Demand history, stock-out detection and the forecast job on a real store (Postgres, statsforecast)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from ecomops.models import Job, JobStatus
from ecomops.services.jobs import job_start
from inventory import selectors
from inventory.models import DemandForecast, ForecastScope, ForecastStatus, ForecastVersion, StockLevel
from inventory.services.forecasting import forecast_start, forecast_train
from inventory.tasks import inventory_forecast

pytestmark = pytest.mark.django_db


def test_demand_history_counts_paid_units_per_day_and_marks_stockout_days(store, selling_store):
    steady = selling_store["STEADY"]
    end = selectors.store_today(store) - timedelta(days=1)
    # Out of stock for the 10 days from 20 days ago, restocked after.
    StockLevel.objects.create(store=store, product=steady, date=end - timedelta(days=19), on_hand=0)
    StockLevel.objects.create(store=store, product=steady, date=end - timedelta(days=9), on_hand=30)
    history = selectors.demand_history(store, end=end, days=150)
    i = [p.sku for p in history.products].index("STEADY")
    from ecomops.models import OrderLine

    assert history.units[i].sum() == sum(OrderLine.objects.filter(product=steady).values_list("quantity", flat=True))
    assert history.revenue[i].sum() == pytest.approx(float(history.units[i].sum()) * 10.0)
    flags = history.in_stock[i]
    assert not flags[-19 - 1 : -9 - 1].any()  # the 10 stock-out days
    assert flags[:-20].all() and flags[-9:].all()
    others = [j for j, p in enumerate(history.products) if p.sku != "STEADY"]
    assert history.in_stock[others].all()  # no snapshot: in stock


def test_forecast_train_writes_a_version_with_products_and_reconciled_totals(store, selling_store):
    end = selectors.store_today(store) - timedelta(days=1)
    StockLevel.objects.create(store=store, product=selling_store["STEADY"], date=end - timedelta(days=19), on_hand=0)
    StockLevel.objects.create(store=store, product=selling_store["STEADY"], date=end - timedelta(days=9), on_hand=30)
    seen = []
    version = forecast_train(store=store, horizon=14, models="fast", on_progress=lambda p, m: seen.append(p))
    assert version.status == ForecastStatus.READY and version.version == 1
    assert seen[-1] == 100 and seen == sorted(seen)
    products = {f.key: f for f in DemandForecast.objects.filter(version=version, scope=ForecastScope.PRODUCT)}
    assert set(products) == {"STEADY", "WEEKLY", "RARE"}
    assert products["STEADY"].stockout_days == 10
    assert 2.5 < np.mean(products["STEADY"].mean) < 5.5
    assert 0 <= np.mean(products["RARE"].mean) < 0.6
    for f in products.values():
        assert len(f.mean) == len(f.lo) == len(f.hi) == 14
        assert all(lo <= m <= hi for lo, m, hi in zip(f.lo, f.mean, f.hi, strict=True))
    tops = DemandForecast.objects.get(version=version, scope=ForecastScope.CATEGORY, key="Tops")
    assert tops.mean == pytest.approx(np.add(products["STEADY"].mean, products["WEEKLY"].mean).tolist(), abs=0.01)
    total = DemandForecast.objects.get(version=version, scope=ForecastScope.STORE)
    assert total.mean == pytest.approx(np.sum([f.mean for f in products.values()], axis=0).tolist(), abs=0.01)
    assert set(DemandForecast.objects.filter(version=version, scope=ForecastScope.KPI).values_list("key", flat=True)) \
        == {"revenue", "orders", "conversion"}
    assert version.stats["series"] == 3 and version.stats["stockout_days"] == 10
    # A second run is a new version; the newest ready one is what the store uses.
    again = forecast_train(store=store, horizon=14, models="fast")
    assert again.version == 2 and selectors.latest_version(store) == again


def test_reorder_lists_flag_the_product_that_runs_out(store, selling_store):
    forecast_train(store=store, horizon=28, models="fast")
    lists = selectors.reorder_lists(store)
    steady = next(r for r in lists["all"] if r.product.sku == "STEADY")  # ~4/day, 40 on hand
    assert steady.plan.order_now and steady.plan.suggested_qty > 0
    assert 5 <= steady.plan.stockout_in_days <= 16
    assert "STEADY" in [r.product.sku for r in lists["stockout_soon"]]
    weekly = next(r for r in lists["all"] if r.product.sku == "WEEKLY")  # ~6/day, 1500 on hand
    assert not weekly.plan.order_now and "WEEKLY" in [r.product.sku for r in lists["overstocked"]]


def test_the_forecast_job_runs_through_the_task_body_with_progress(store, selling_store, owner):
    job = forecast_start(store=store, created_by=owner, params={"models": "fast", "horizon": 14})
    assert job.kind == "inventory_forecast"
    assert inventory_forecast.run_inline(str(job.pk), {}) == "succeeded"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100
    assert job.result["version"] == 1 and job.result["stats"]["series"] == 3
    assert ForecastVersion.objects.get(store=store).job_id == job.pk


def test_a_job_whose_params_were_tampered_with_fails_readably(store, selling_store):
    job = Job.objects.create(store=store, kind="inventory_forecast", params={"horizon": 10_000, "path": "/etc"})
    assert inventory_forecast.run_inline(str(job.pk), {}) == "failed"
    job.refresh_from_db()
    assert "horizon" in job.error and "path" in job.error
    assert not ForecastVersion.objects.filter(store=store).exists()


def test_a_reaped_forecast_job_leaves_no_version_training(store, selling_store):
    job = forecast_start(store=store, params={})
    job_start(job_id=job.pk)
    ForecastVersion.objects.create(store=store, version=1, job=job)
    from inventory.tasks import forecast_abandoned

    job.error = "worker died"
    forecast_abandoned(job)
    assert ForecastVersion.objects.get(store=store).status == ForecastStatus.FAILED
