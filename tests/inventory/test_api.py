"""The inventory REST API: field errors for bad input, the purchase order lifecycle, another store's objects."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from ecomops.models import Product
from inventory import selectors
from inventory.models import PurchaseOrder, StockLevel, StockMovement, Supplier
from inventory.services import purchasing
from inventory.services.forecasting import forecast_train
from tests.factories import MembershipFactory, ProductFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/stores/acme/inventory"


def test_stock_levels_are_recorded_and_move_current_stock(api, store):
    p = ProductFactory(store=store, sku="A1", stock=0)
    r = api.post(f"{BASE}/stock-levels/", {"levels": [
        {"sku": "A1", "date": "2026-01-02", "on_hand": 7}, {"sku": "A1", "date": "2026-01-01", "on_hand": 9},
    ]}, format="json")
    assert r.status_code == 201 and r.json() == {"written": 2}
    p.refresh_from_db()
    assert p.stock == 7  # the newest snapshot, not the last row sent
    r = api.get(f"{BASE}/stock-levels/?sku=A1")
    assert [row["on_hand"] for row in r.json()["results"]] == [7, 9]


@pytest.mark.parametrize("level,field", [
    ({"sku": "A1", "date": "2026-01-01", "on_hand": -1}, "on_hand"),
    ({"sku": "NOPE", "date": "2026-01-01", "on_hand": 1}, "sku"),
    ({"sku": "A1", "date": "yesterday", "on_hand": 1}, "date"),
    ({"sku": "A1", "date": "2026-01-01", "on_hand": "x"}, "on_hand"),
])
def test_bad_stock_levels_are_field_errors_and_nothing_is_written(api, store, level, field):
    ProductFactory(store=store, sku="A1", stock=5)
    r = api.post(f"{BASE}/stock-levels/", {"levels": [{"sku": "A1", "date": "2026-01-05", "on_hand": 3}, level]},
                 format="json")
    assert r.status_code == 400
    body = r.json()["levels"]
    assert field in str(body)
    assert not StockLevel.objects.filter(store=store).exists()
    assert Product.objects.get(store=store, sku="A1").stock == 5


def test_an_unknown_sku_from_another_store_is_unknown_here(api, store, other_store):
    ProductFactory(store=other_store, sku="THEIRS")
    r = api.post(f"{BASE}/stock-levels/", {"levels": [{"sku": "THEIRS", "date": "2026-01-01", "on_hand": 1}]},
                 format="json")
    assert r.status_code == 400 and "Unknown sku" in str(r.json())


@pytest.mark.parametrize("lead", [0, -2])
def test_supplier_lead_time_must_be_positive(api, store, lead):
    r = api.post(f"{BASE}/suppliers/", {"name": "Acme Supply", "lead_time_days": lead}, format="json")
    assert r.status_code == 400 and "lead_time_days" in r.json()


def test_settings_reject_out_of_range_values(api, store):
    assert api.patch(f"{BASE}/settings/", {"default_lead_time_days": 0}, format="json").status_code == 400
    assert api.patch(f"{BASE}/settings/", {"service_level": 1.5}, format="json").status_code == 400
    r = api.patch(f"{BASE}/settings/", {"service_level": 0.9, "review_period_days": 3}, format="json")
    assert r.status_code == 200 and r.json()["service_level"] == 0.9
    assert selectors.settings_for(store).review_period_days == 3


@pytest.mark.parametrize("params", [{"horizon": 0}, {"horizon": 10_000}, {"models": "everything"},
                                    {"path": "/etc/passwd"}, ["not", "an", "object"]])
def test_forecast_train_params_are_validated(api, store, params):
    r = api.post(f"{BASE}/forecast-versions/", params, format="json")
    assert r.status_code == 400


def test_forecast_train_queues_a_job(api, store):
    r = api.post(f"{BASE}/forecast-versions/", {"models": "fast", "horizon": 14}, format="json")
    assert r.status_code == 202 and r.json()["kind"] == "inventory_forecast"
    assert r.json()["status"] == "queued"


def test_purchase_order_suggest_edit_approve_export_receive(api, store, selling_store):
    supplier = purchasing.supplier_create(store=store, name="Northwind", lead_time_days=10)
    r = api.put(f"{BASE}/supplies/STEADY/", {"supplier_id": supplier.pk, "unit_cost": "4.50", "pack_size": 5},
                format="json")
    assert r.status_code == 200, r.json()
    forecast_train(store=store, horizon=28, models="fast")
    r = api.post(f"{BASE}/purchase-orders/suggest/")
    assert r.status_code == 200
    body = r.json()
    assert "RARE" in body["without_supplier"] or "RARE" not in [row.product.sku for row in
                                                                 selectors.reorder_lists(store)["order_now"]]
    [po] = body["orders"]
    [line] = po["lines"]
    assert line["sku"] == "STEADY" and line["quantity"] > 0 and line["quantity"] % 5 == 0
    assert po["status"] == "draft" and po["supplier"]["name"] == "Northwind"
    # The manager edits the quantity, bad edits are field errors.
    url = f"{BASE}/purchase-orders/{po['id']}/"
    assert api.put(url, {"lines": [{"sku": "STEADY", "quantity": -1}]}, format="json").status_code == 400
    assert api.put(url, {"lines": [{"sku": "NOPE", "quantity": 3}]}, format="json").status_code == 400
    r = api.put(url, {"lines": [{"sku": "STEADY", "quantity": 60, "unit_cost": "4.50"}]}, format="json")
    assert r.status_code == 200 and r.json()["lines"][0]["quantity"] == 60
    # Receiving before approval is refused.
    assert api.post(f"{url}receive/", {}, format="json").status_code == 400
    r = api.post(f"{url}approve/")
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert api.put(url, {"lines": [{"sku": "STEADY", "quantity": 1}]}, format="json").status_code == 400
    assert selectors.on_order_by_product(store)[selling_store["STEADY"].pk] == 60
    r = api.get(f"{url}csv/")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert rows == [{"po_number": po["number"], "supplier": "Northwind", "status": "approved", "sku": "STEADY",
                     "title": selling_store["STEADY"].title, "quantity": "60", "unit_cost": "4.50",
                     "line_total": "270.00", "currency": "EUR"}]
    before = Product.objects.get(pk=selling_store["STEADY"].pk).stock
    assert api.post(f"{url}receive/", {"quantities": {"OTHER": 1}}, format="json").status_code == 400
    r = api.post(f"{url}receive/", {"quantities": {"STEADY": 55}}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert r.json()["lines"][0]["received_quantity"] == 55
    assert Product.objects.get(pk=selling_store["STEADY"].pk).stock == before + 55
    assert StockMovement.objects.get(store=store).quantity == 55
    today = StockLevel.objects.get(store=store, product=selling_store["STEADY"], date=selectors.store_today(store))
    assert today.on_hand == before + 55 and today.source == "receipt"
    assert selectors.on_order_by_product(store) == {}
    assert api.post(f"{url}receive/", {}, format="json").status_code == 400  # not twice


def test_purchase_order_csv_neutralises_formulas(store):
    supplier = Supplier.objects.create(store=store, name="=HYPERLINK(1)", lead_time_days=3)
    ProductFactory(store=store, sku="S1", title="+cmd")
    po = purchasing.purchase_order_create(store=store, supplier=supplier, lines=[{"sku": "S1", "quantity": 2}])
    text = purchasing.purchase_order_csv(purchase_order=po)
    assert "'=HYPERLINK(1)" in text and "'+cmd" in text


def test_another_stores_purchase_order_is_a_404(api, store, other_store):
    theirs = Supplier.objects.create(store=other_store, name="Theirs", lead_time_days=3)
    ProductFactory(store=other_store, sku="T1")
    po = purchasing.purchase_order_create(store=other_store, supplier=theirs, lines=[{"sku": "T1", "quantity": 2}])
    for path in ("", "csv/"):
        assert api.get(f"{BASE}/purchase-orders/{po.pk}/{path}").status_code == 404
    assert api.post(f"{BASE}/purchase-orders/{po.pk}/approve/").status_code == 404
    r = api.post(f"{BASE}/purchase-orders/", {"supplier_id": theirs.pk, "lines": []}, format="json")
    assert r.status_code == 400 and "supplier_id" in r.json()
    assert PurchaseOrder.objects.get(pk=po.pk).status == "draft"


def test_analysts_read_but_cannot_approve(store, analyst):
    from rest_framework.test import APIClient

    supplier = Supplier.objects.create(store=store, name="S", lead_time_days=3)
    ProductFactory(store=store, sku="S1")
    po = purchasing.purchase_order_create(store=store, supplier=supplier, lines=[{"sku": "S1", "quantity": 2}])
    client = APIClient()
    client.force_authenticate(analyst)
    assert client.get(f"{BASE}/purchase-orders/{po.pk}/").status_code == 200
    assert client.post(f"{BASE}/purchase-orders/{po.pk}/approve/").status_code == 403


def test_pages_show_forecast_lists_and_anomalies(client, store, owner, selling_store):
    from inventory.models import KpiAnomaly

    forecast_train(store=store, horizon=28, models="fast")
    day = selectors.store_today(store) - timedelta(days=1)
    KpiAnomaly.objects.create(store=store, metric="revenue", date=day, direction="below", actual=50, expected=200,
                              lo=150, hi=250, size=-0.75, reason="large")
    client.force_login(owner)
    page = client.get("/stores/acme/inventory/?sku=STEADY")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="forecast-chart"' in html and '"key": "STEADY"' in html and 'data-sku="STEADY"' in html
    overview = client.get("/stores/acme/").content.decode()
    assert 'id="kpi-anomalies"' in overview and "Revenue 50.00 EUR was below" in overview and "-75%" in overview
    detail = client.get("/stores/acme/catalog/STEADY/").content.decode()
    assert 'id="product-forecast"' in detail and "units expected over the next 28 days" in detail
    other = StoreFactory(slug="other-shop")
    MembershipFactory(store=other, user=UserFactory(username="x"))
    assert client.get("/stores/other-shop/inventory/").status_code == 404
