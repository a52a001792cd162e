"""import_stock (all-or-nothing, errors name the line) and evaluate_forecast (table + JSON, no DB for --orders)."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from inventory.models import StockLevel
from tests.factories import ProductFactory

# ../shared/datasets next to the checkout (as tests/ecomops/test_ingest_datasets.py); a worktree elsewhere may point
# INVENTORY_TEST_DATASETS at it.
DATASETS = Path(os.environ.get("INVENTORY_TEST_DATASETS") or settings.BASE_DIR.parent / "shared" / "datasets")
CDNOW = DATASETS / "cdnow" / "CDNOW_master.txt"


@pytest.mark.django_db
def test_import_stock_writes_every_row(store, tmp_path):
    ProductFactory(store=store, sku="A1", stock=0)
    ProductFactory(store=store, sku="B2", stock=0)
    path = tmp_path / "stock.csv"
    path.write_text("sku,date,on_hand\nA1,2026-01-01,5\nA1,2026-01-02,3\nB2,2026-01-02,0\n")
    call_command("import_stock", str(path), "--store", "acme", verbosity=0)
    assert StockLevel.objects.filter(store=store).count() == 3
    assert dict(store_products(store)) == {"A1": 3, "B2": 0}


def store_products(store):
    from ecomops.models import Product

    return Product.objects.for_store(store).values_list("sku", "stock")


@pytest.mark.django_db
def test_import_stock_rejects_the_file_naming_each_bad_line(store, tmp_path, capsys):
    ProductFactory(store=store, sku="A1", stock=4)
    path = tmp_path / "stock.csv"
    path.write_text("sku,date,on_hand\nA1,2026-01-01,5\nGHOST,2026-01-01,1\nA1,2026-01-02,-2\nA1,01/03/2026,1\n")
    with pytest.raises(CommandError, match="3 invalid row"):
        call_command("import_stock", str(path), "--store", "acme", verbosity=0)
    err = capsys.readouterr().err
    assert "line 3, sku: Unknown sku 'GHOST'" in err
    assert "line 4, on_hand: Stock on hand cannot be negative." in err
    assert "line 5, date" in err
    assert not StockLevel.objects.exists()
    assert dict(store_products(store)) == {"A1": 4}


@pytest.mark.django_db
def test_import_stock_needs_its_columns(store, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text("sku,qty\nA1,1\n")
    with pytest.raises(CommandError, match="line 1: missing column"):
        call_command("import_stock", str(path), "--store", "acme", verbosity=0)


def _orders_csv(path: Path, days: int = 200) -> None:
    rng = np.random.default_rng(11)
    start = date(2025, 1, 1)
    rows = ["number,customer,placed_at,sku,quantity,line_total"]
    week = 1 + 0.6 * np.sin(np.arange(days) * 2 * np.pi / 7)
    for sku, rate, price in (("TEE", 5.0, 10), ("CAP", 1.0, 15), ("BAG", 0.2, 40)):
        for d, units in enumerate(rng.poisson(rate * week)):
            if units:
                day = start + timedelta(days=d)
                rows.append(f"{sku}-{d},c{d % 17},{day.isoformat()}T10:00:00+00:00,{sku},{units},{units * price}")
    path.write_text("\n".join(rows) + "\n")


def test_evaluate_forecast_on_an_orders_file_writes_the_report(tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    _orders_csv(orders)
    out = tmp_path / "report.json"
    call_command("evaluate_forecast", "--orders", str(orders), "--horizon", "14", "--folds", "2", "--models", "fast",
                 "--json", str(out), verbosity=0)
    report = json.loads(out.read_text())
    assert report["series_kind"] == "sku" and report["n_series"] == 3
    for method in ("ours", "seasonal_naive", "naive_velocity"):
        assert report[method]["weighted_score"] > 0
    assert 0 <= report["ours"]["coverage_80"] <= 1
    assert report["naive_velocity"]["coverage_80"] is None
    # Weekly seasonal Poisson demand: the seasonal naive copies last week's noise, ours should beat it clearly.
    assert report["ours"]["weighted_score"] < report["seasonal_naive"]["weighted_score"]
    table = capsys.readouterr().out
    assert "weighted RMSSE" in table and "seasonal_naive" in table


def test_evaluate_forecast_reports_bad_rows_by_line(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text("number,customer,placed_at,sku,quantity\n1,c,2025-01-01T10:00:00+00:00,A,1\n2,c,not-a-date,A,1\n")
    with pytest.raises(CommandError, match="line 3"):
        call_command("evaluate_forecast", "--orders", str(orders), verbosity=0)


@pytest.mark.skipif(not CDNOW.exists(), reason=f"CDNOW not found at {CDNOW} (../shared/datasets)")
def test_evaluate_forecast_on_cdnow_reads_the_real_file(tmp_path):
    out = tmp_path / "cdnow.json"
    call_command("evaluate_forecast", "--orders", str(CDNOW), "--preset", "cdnow", "--horizon", "28", "--folds", "2",
                 "--models", "fast", "--json", str(out), verbosity=0)
    report = json.loads(out.read_text())
    assert report["series_kind"] == "cohort" and report["n_series"] == 3
    assert report["start"] == "1997-01-01" and report["end"] == "1998-06-30"
    assert report["ours"]["weighted_score"] < report["seasonal_naive"]["weighted_score"]
