"""Each dataset preset on the first few hundred rows of the real file in ../shared/datasets."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command

from ecomops.models import Customer, Event, EventType, Order, Product

DATASETS = settings.BASE_DIR.parent / "shared" / "datasets"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not DATASETS.is_dir(), reason=f"real datasets not found at {DATASETS} (../shared/datasets)"),
]


def dataset(relative: str):
    path = DATASETS / relative
    if not path.is_file():
        pytest.skip(f"dataset file {path} is absent")
    return str(path)


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_myntra_catalog(store):
    path = dataset("myntra-catalog/myntra_products_catalog.csv")
    run("import_catalog", path, "--store", "acme", "--preset", "myntra", "--limit", "300")
    products = Product.objects.for_store(store)
    assert products.count() == 300
    trolley = products.get(sku="10017413")
    assert trolley.brand == "DKNY" and trolley.price == Decimal("11745.00") and trolley.currency == "INR"
    assert trolley.category == "Unisex" and trolley.attributes["colour"] == "Black"  # leading space stripped
    assert trolley.title.startswith("DKNY Unisex Black & Grey Printed Medium Trolley Bag")
    out = run("import_catalog", path, "--store", "acme", "--preset", "myntra", "--limit", "300")
    assert "created 0; updated 300" in out


def test_cdnow_orders(store):
    path = dataset("cdnow/CDNOW_master.txt")
    run("import_orders", path, "--store", "acme", "--preset", "cdnow", "--create-missing", "--limit", "300")
    orders = Order.objects.for_store(store)
    # customer 00002 bought twice on 1997-01-12 (1 + 5 CDs): one order, two lines.
    order = orders.get(number="CDNOW-00002-19970112")
    assert order.customer.external_id == "00002"
    assert order.total == Decimal("89.00") and order.lines.count() == 2
    assert order.placed_at == datetime(1997, 1, 12, tzinfo=UTC)
    assert sorted(order.lines.values_list("quantity", flat=True)) == [1, 5]
    assert Customer.objects.for_store(store).filter(external_id="00001").exists()  # zero padding kept
    count = orders.count()
    assert 0 < count < 300
    out = run("import_orders", path, "--store", "acme", "--preset", "cdnow", "--create-missing", "--limit", "300")
    assert f"created 0; updated {count}" in out


def test_amazon_grocery_interactions_as_purchases(store):
    path = dataset("amazon-grocery-5core/train.csv")
    run("import_events", path, "--store", "acme", "--preset", "amazon-grocery", "--create-missing", "--limit", "300")
    events = Event.objects.for_store(store)
    assert events.count() == 300 and set(events.values_list("type", flat=True)) == {EventType.PURCHASE}
    first = events.get(customer__external_id="2177", product__sku="3")
    assert first.occurred_at == datetime.fromtimestamp(965779200, tz=UTC)


def test_rees46_events(store):
    path = dataset("rees46-oct2019-head/2019-Oct-sample.csv")
    run("import_events", path, "--store", "acme", "--preset", "rees46", "--create-missing", "--limit", "400")
    events = Event.objects.for_store(store)
    assert events.count() == 400
    first = events.get(session_id="72d76fde-8bb3-4e00-8c23-a032dfed738c", occurred_at=datetime(2019, 10, 1, tzinfo=UTC))
    assert first.customer.external_id == "541312140" and first.type == EventType.VIEW
    assert first.product.sku == "44600062"
    assert first.properties["brand"] == "shiseido" and first.properties["price"] == "35.79"
    out = run("import_events", path, "--store", "acme", "--preset", "rees46", "--create-missing", "--limit", "400")
    assert "created 0" in out and "already present 400" in out


def test_taobao_events_with_derived_sessions(store):
    path = dataset("taobao-userbehavior-slice/UserBehavior.csv")
    out = run("import_events", path, "--store", "acme", "--preset", "taobao", "--create-missing", "--limit", "400")
    events = Event.objects.for_store(store)
    skipped = int(out.split("skipped ")[1].split()[0]) if "skipped " in out else 0
    assert events.count() + skipped == 400
    assert set(events.values_list("type", flat=True)) <= {EventType.VIEW, EventType.ADD_TO_CART, EventType.PURCHASE}
    first = events.get(customer__external_id="1", product__sku="2268318")
    assert first.occurred_at == datetime.fromtimestamp(1511544070, tz=UTC)
    assert first.session_id.startswith("1-") and first.properties["category_id"] == "2520377"
    assert not events.filter(session_id="").exists()


def test_otto_sessions(store):
    path = dataset("otto-fixture/train.jsonl")
    run("import_events", path, "--store", "acme", "--preset", "otto", "--create-missing", "--limit", "300")
    events = Event.objects.for_store(store)
    assert events.count() == 300
    first = events.get(session_id="0", product__sku="1517085")
    assert first.customer is None and first.type == EventType.VIEW
    assert first.occurred_at == datetime.fromtimestamp(1659304800.025, tz=UTC)


def test_tianchi_events(store):
    path = dataset("tianchi-mobile-2014-head/sample_user_behavior.csv")
    out = run("import_events", path, "--store", "acme", "--preset", "tianchi", "--create-missing", "--limit", "300")
    events = Event.objects.for_store(store)
    skipped = int(out.split("skipped ")[1].split()[0]) if "skipped " in out else 0
    assert events.count() + skipped == 300
    first = events.get(customer__external_id="98047837", product__sku="232431562")
    # "2014-12-06 02" is Beijing time (UTC+8).
    assert first.occurred_at == datetime(2014, 12, 5, 18, tzinfo=UTC)
    assert first.properties["item_category"] == "4245"
