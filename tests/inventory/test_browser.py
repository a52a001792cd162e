"""Issue 13's Inventory pages in headless Chromium against Daphne, as a merchant uses them: the reorder list says
which product runs out and on which day, the forecast chart draws its interval band (on the Inventory page and on
the product page), a manager turns the suggestion into a purchase order, approves it, exports it and receives it
into stock, and a KPI anomaly appears on the Overview live over the store socket."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from ecomops.models import Product
from ecomops.realtime import store_broadcast
from inventory import selectors
from inventory.models import DemandForecast, ForecastScope, KpiAnomaly, ProductSupply, PurchaseOrder, Supplier
from inventory.services.anomalies import anomaly_payload
from inventory.services.forecasting import forecast_train
from tests.browser import needs_chromium
from tests.dashboard_browser import merchant_page  # the live_url fixture comes from tests/conftest.py

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

PASSWORD = "pass-word-123"  # tests.factories.UserFactory's


@pytest.fixture(autouse=True)
def orm_beside_playwright(monkeypatch):
    """Playwright's sync API keeps an event loop in this thread, so Django refuses ORM calls between page steps;
    they are plain blocking calls on the test's own connection (nothing runs concurrently), so allow them."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def planned_store(store, selling_store):
    """selling_store (STEADY: 40 on hand, ~4 sold a day) with a supplier and a trained forecast."""
    supplier = Supplier.objects.create(store=store, name="Northwind", lead_time_days=7)
    for sku in ("STEADY", "WEEKLY", "RARE"):
        ProductSupply.objects.create(store=store, product=selling_store[sku], supplier=supplier,
                                     unit_cost=Decimal("4.50"))
    forecast_train(store=store, horizon=28, models="fast")
    return store


def first_stockout_day(store, sku: str):
    """The day the forecast's cumulative demand first exceeds the stock on hand, straight from the stored rows."""
    fc = DemandForecast.objects.get(store=store, scope=ForecastScope.PRODUCT, key=sku,
                                    version=selectors.latest_version(store))
    on_hand = Product.objects.get(store=store, sku=sku).stock
    index = int(np.flatnonzero(np.cumsum(fc.mean) > on_hand)[0])
    return fc.start_date + timedelta(days=index), index + 1


def test_the_reorder_list_shows_the_product_that_runs_out_with_its_date(live_url, planned_store, owner):
    day, in_days = first_stockout_day(planned_store, "STEADY")
    assert in_days < 28  # 40 units at ~4 a day
    with merchant_page(live_url, owner.username, PASSWORD) as page:
        page.goto(f"{live_url}/stores/acme/inventory/")
        row = page.locator("#stockout-soon tr[data-sku='STEADY']")
        expect(row.locator("time")).to_have_attribute("datetime", day.isoformat())
        expect(row.locator("td.stockout")).to_contain_text(f"{day:%a} {day.day} {day:%b}")
        expect(row.locator("td.stockout")).to_contain_text(f"in {in_days} day")
        # the product with 1,500 on hand does not run out: not in the list, and said so in its own row elsewhere
        assert page.locator("#stockout-soon tr[data-sku='WEEKLY']").count() == 0
        expect(page.locator("#order-now tr[data-sku='STEADY']")).to_have_count(1)
        soon = [r for r in selectors.reorder_lists(planned_store)["stockout_soon"] if r.plan.stockout_in_days != 0]
        expect(page.locator("#count-stockout")).to_have_text(str(len(soon)))
        assert not page.errors, page.errors


def band(page) -> dict:
    """What the forecast chart draws: its traces' fill and values, the filled area on screen, the y axis title."""
    page.wait_for_function("document.getElementById('forecast-chart').dataset.ready === '1'")
    return page.evaluate("""() => {
      const el = document.getElementById('forecast-chart');
      if (el.dataset.empty) return {empty: el.textContent};
      const fill = el.querySelector('.scatterlayer .js-fill');
      const box = fill ? fill.getBoundingClientRect() : {width: 0, height: 0};
      return {traces: el.data.map(t => ({name: t.name, type: t.type, fill: t.fill || null, y: t.y})),
              fill_px: [box.width, box.height], ytitle: el._fullLayout.yaxis.title.text,
              ymin: el._fullLayout.yaxis.range[0]};
    }""")


def test_the_forecast_chart_draws_its_interval_band(live_url, store, selling_store, owner):
    with merchant_page(live_url, owner.username, PASSWORD) as page:
        page.goto(f"{live_url}/stores/acme/inventory/")
        assert "No forecast yet" in band(page)["empty"]  # not an empty −1..6 grid
        forecast_train(store=store, horizon=28, models="fast")
        page.goto(f"{live_url}/stores/acme/inventory/?sku=STEADY")
        expect(page.locator("#forecast-chart-title")).to_contain_text("STEADY")
        drawn = band(page)
        by_name = {t["name"]: t for t in drawn["traces"]}
        lo, mean, hi = by_name["80% interval"]["y"], by_name["Forecast"]["y"], by_name["upper"]["y"]
        assert by_name["80% interval"]["fill"] == "tonexty" and len(lo) == len(mean) == len(hi) == 28
        assert all(a <= m <= b for a, m, b in zip(lo, mean, hi, strict=True)) and sum(hi) > sum(lo)
        assert drawn["fill_px"][0] > 200 and drawn["fill_px"][1] > 5  # a band on screen, not a line
        assert drawn["ytitle"] == "Units per day" and drawn["ymin"] >= 0
        assert len(by_name["Sold per day"]["y"]) > 0
        # the product page shows the same forecast
        page.goto(f"{live_url}/stores/acme/catalog/STEADY/")
        expect(page.locator("#product-forecast")).to_contain_text("units expected over the next 28 days")
        on_product = band(page)
        assert {t["fill"] for t in on_product["traces"]} >= {"tonexty"} and on_product["fill_px"][0] > 200
        assert not page.errors, page.errors


def test_a_manager_approves_a_purchase_order_exports_and_receives_it(live_url, planned_store, manager):
    with merchant_page(live_url, manager.username, PASSWORD) as page:
        page.goto(f"{live_url}/stores/acme/inventory/")
        expect(page.locator("#purchase-orders")).to_contain_text("No purchase orders yet")
        page.get_by_role("button", name="Suggest purchase orders").click()
        expect(page.locator(".messages")).to_contain_text("1 draft purchase order(s) suggested")
        po = PurchaseOrder.objects.get(store=planned_store)
        row = page.locator(f"#purchase-orders tr[data-po='{po.number}']")
        expect(row).to_contain_text("Draft")
        expect(row).to_contain_text("EUR")
        row.get_by_role("link", name=po.number).click()

        qty = page.get_by_label("Quantity of STEADY")
        qty.fill("60")
        page.get_by_role("button", name="Save quantities").click()
        expect(page.get_by_label("Quantity of STEADY")).to_have_value("60")
        expect(page.locator("#po-lines tr[data-sku='STEADY']")).to_contain_text("270.00 EUR")  # 60 × 4.50
        page.get_by_role("button", name="Approve").click()
        expect(page.locator("#po-status-badge")).to_have_text("Approved")
        expect(page.locator("#po-status")).to_contain_text(f"by {manager.username}")
        assert page.get_by_label("Quantity of STEADY").count() == 0  # an approved order is not editable

        with page.expect_download() as download:
            page.get_by_role("link", name="Export CSV").click()
        assert download.value.suggested_filename == f"{po.number}.csv"
        rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
        steady = next(r for r in rows if r["sku"] == "STEADY")
        assert steady == {**steady, "status": "approved", "quantity": "60", "unit_cost": "4.50",
                          "line_total": "270.00", "currency": "EUR", "supplier": "Northwind"}

        before = Product.objects.get(store=planned_store, sku="STEADY").stock
        page.get_by_role("button", name="Receive into stock").click()
        expect(page.locator("#po-status-badge")).to_have_text("Received")
        assert Product.objects.get(store=planned_store, sku="STEADY").stock == before + 60
        assert not page.errors, page.errors


def test_a_kpi_anomaly_appears_on_the_overview_live(live_url, store, owner):
    with merchant_page(live_url, owner.username, PASSWORD) as page:
        page.goto(f"{live_url}/stores/acme/")
        expect(page.locator("#kpi-anomalies")).to_be_hidden()
        page.wait_for_function("document.body.dataset.live === 'on'")  # the store socket is open
        day = selectors.store_today(store) - timedelta(days=1)
        anomaly = KpiAnomaly.objects.create(store=store, metric="revenue", date=day, direction="below", actual=50,
                                            expected=200, lo=150, hi=250, size=-0.75, reason="large")
        # what the daily check sends (inventory.services.anomalies), from a thread as a worker would: the channel
        # layer's sync wrapper cannot run inside Playwright's event loop
        sender = threading.Thread(target=store_broadcast, args=(store.pk, "inventory.anomaly",
                                                                {"anomaly": anomaly_payload(anomaly)}),
                                  kwargs={"on_commit": False})
        sender.start()
        sender.join(10)
        item = page.locator(f"#kpi-anomalies li[data-metric='revenue'][data-date='{day.isoformat()}']")
        expect(item).to_contain_text("Revenue 50.00 EUR was below its expected range 150.00–250.00 EUR")
        expect(item).to_contain_text("-75% vs the forecast 200.00 EUR")
        page.reload()  # and it stays after a reload (from the database)
        expect(page.locator("#kpi-anomalies")).to_contain_text("Revenue 50.00 EUR was below")
        assert not page.errors, page.errors
