"""The import_* commands on small fixtures (tests/fixtures/ingest/): line numbers, rejects, idempotent re-runs."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ecomops.models import Customer, Event, EventType, Order, OrderLine, Product
from tests.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.quick]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ingest"
EVENT_MAP = [
    "--map", "when=occurred_at", "--map", "what=type", "--map", "user=customer", "--map", "visit=session_id",
    "--map", "item=product", "--map", "price=properties.price",
]  # fmt: skip


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(command, *args, "--no-progress", stdout=out, stderr=err)
    return str(excinfo.value), err.getvalue()


@pytest.fixture
def shop(store):
    ProductFactory(store=store, sku="TS-1")
    ProductFactory(store=store, sku="TS-3")
    CustomerFactory(store=store, external_id="C1")
    return store


# --- catalog ---------------------------------------------------------------------------------------------


def test_catalog_bad_rows_report_line_and_column_and_write_nothing(store):
    message, err = run_failing(
        "import_catalog", str(FIXTURES / "products.csv"), "--store", "acme", "--map", "colour=attributes.colour"
    )
    assert "nothing was written" in message
    # TS-1's description spans lines 2-3, so TS-2 is on line 4 and the row without a sku on line 6.
    assert "line 4, column price: 'abc' is not a number" in err
    assert "line 6, column sku: is required" in err
    assert not Product.objects.for_store(store).exists()


def test_catalog_skip_invalid_writes_valid_rows_and_a_rejects_file(store, tmp_path):
    rejects = tmp_path / "rejects.csv"
    out, _ = run(
        "import_catalog", str(FIXTURES / "products.csv"), "--store", "acme", "--map", "colour=attributes.colour",
        "--skip-invalid", "--rejects", str(rejects),
    )  # fmt: skip
    assert sorted(Product.objects.for_store(store).values_list("sku", flat=True)) == ["TS-1", "TS-3"]
    tee = Product.objects.for_store(store).get(sku="TS-1")
    assert tee.attributes == {"colour": "blue"} and tee.price == Decimal("19.99") and tee.currency == "EUR"
    assert tee.description == "A soft tee.\nMachine washable."
    assert str(rejects) in out
    rows = list(csv.DictReader(rejects.open()))
    assert [(r["line"], r["column"]) for r in rows] == [("4", "price"), ("6", "sku")]
    assert "TS-2" in rows[0]["record"]


def test_catalog_rerun_is_an_idempotent_upsert(store):
    out, _ = run("import_catalog", str(FIXTURES / "products_good.csv"), "--store", "acme")
    assert "created 2" in out
    Product.objects.for_store(store).filter(sku="TS-3").update(price=Decimal("1.00"), stock=99)
    out, _ = run("import_catalog", str(FIXTURES / "products_good.csv"), "--store", "acme")
    assert "created 0; updated 2" in out
    socks = Product.objects.for_store(store).get(sku="TS-3")
    assert socks.price == Decimal("7.50")
    assert socks.stock == 99  # not in the file, so not touched
    assert Product.objects.for_store(store).count() == 2


def test_unknown_store_and_unknown_field_are_refused(store):
    message, _ = run_failing("import_catalog", str(FIXTURES / "products_good.csv"), "--store", "nope")
    assert "No store with slug 'nope'" in message
    message, _ = run_failing(
        "import_catalog", str(FIXTURES / "products_good.csv"), "--store", "acme", "--map", "colour=paint"
    )
    assert "unknown field 'paint'" in message
    message, _ = run_failing("import_catalog", str(FIXTURES / "products_good.csv"), "--store", "acme", "--map", "hue=brand")
    assert "hue" in message and "not in the file" in message


# --- customers -------------------------------------------------------------------------------------------


def test_customers_jsonl_errors_then_skip_invalid(store, tmp_path):
    args = [
        str(FIXTURES / "customers.jsonl"), "--store", "acme", "--map", "id=external_id", "--map", "signed_up=created_at",
    ]  # fmt: skip
    _, err = run_failing("import_customers", *args)
    assert "line 2, column email: 'not-an-email' is not an email address" in err
    assert "line 3, column signed_up:" in err and "time zone" in err
    assert not Customer.objects.for_store(store).exists()

    run("import_customers", *args, "--skip-invalid", "--rejects", str(tmp_path / "r.csv"))
    customers = {c.external_id: c for c in Customer.objects.for_store(store)}
    assert sorted(customers) == ["C1", "C4"]
    assert customers["C1"].country == "DE" and customers["C1"].created_at.isoformat() == "2026-01-05T10:00:00+00:00"
    out, _ = run("import_customers", *args, "--skip-invalid", "--rejects", str(tmp_path / "r.csv"))
    assert "created 0; updated 2" in out
    assert Customer.objects.for_store(store).count() == 2


# --- orders ----------------------------------------------------------------------------------------------


def test_orders_unknown_sku_is_an_error_and_rows_group_into_lines(shop, tmp_path):
    CustomerFactory(store=shop, external_id="C2")
    _, err = run_failing("import_orders", str(FIXTURES / "orders.csv"), "--store", "acme")
    assert "line 5, column sku: unknown product sku 'NOPE' in this store" in err
    assert not Order.objects.for_store(shop).exists()

    run("import_orders", str(FIXTURES / "orders.csv"), "--store", "acme", "--skip-invalid", "--rejects", str(tmp_path / "r.csv"))
    order = Order.objects.for_store(shop).get(number="1001")
    assert order.lines.count() == 2
    assert order.subtotal == Decimal("47.48") and order.shipping == Decimal("4.90") and order.total == Decimal("52.38")
    assert not Order.objects.for_store(shop).filter(number="1003").exists()

    out, _ = run("import_orders", str(FIXTURES / "orders.csv"), "--store", "acme", "--skip-invalid", "--rejects", str(tmp_path / "r.csv"))
    assert "created 0; updated 2" in out
    assert OrderLine.objects.for_store(shop).count() == 3  # lines replaced, not duplicated


def test_orders_create_missing(store):
    out, _ = run("import_orders", str(FIXTURES / "orders.csv"), "--store", "acme", "--create-missing")
    assert "created 3" in out
    assert sorted(Customer.objects.for_store(store).values_list("external_id", flat=True)) == ["C1", "C2"]
    assert Product.objects.for_store(store).get(sku="NOPE").title == "NOPE"
    assert Customer.objects.for_store(store).get(external_id="C1").created_at.isoformat() == "2026-02-01T09:00:00+00:00"


# --- events ----------------------------------------------------------------------------------------------


def test_events_report_every_bad_line_by_source_column(shop):
    _, err = run_failing("import_events", str(FIXTURES / "events.csv"), "--store", "acme", *EVENT_MAP)
    assert "line 5, column when:" in err and "time zone" in err
    assert "line 6, column what: 'teleport' is not one of" in err
    assert "line 7, column user: an event needs a customer or a session_id" in err
    assert "line 8, column item: unknown product sku 'NOPE' in this store" in err
    assert len(re.findall(r"^line ", err, re.M)) == 4
    assert not Event.objects.for_store(shop).exists()


def test_events_skip_invalid_then_rerun_is_idempotent(shop, tmp_path):
    rejects = tmp_path / "events.rejects.csv"
    args = [str(FIXTURES / "events.csv"), "--store", "acme", *EVENT_MAP, "--skip-invalid", "--rejects", str(rejects)]
    out, _ = run("import_events", *args)
    assert "created 5" in out
    events = Event.objects.for_store(shop)
    assert events.count() == 5
    # Two identical anonymous events on lines 9 and 10 are both kept: they are distinct occurrences.
    assert events.filter(session_id="s3").count() == 2
    purchase = events.get(type=EventType.PURCHASE)
    assert purchase.customer.external_id == "C1" and purchase.product.sku == "TS-1"
    assert purchase.properties["price"] == "19.99"
    assert [r["line"] for r in csv.DictReader(rejects.open())] == ["5", "6", "7", "8"]

    out, _ = run("import_events", *args)
    assert "created 0" in out and "already present 5" in out
    assert Event.objects.for_store(shop).count() == 5


def test_events_create_missing_and_jsonl_explode(store, tmp_path):
    args = [
        str(FIXTURES / "sessions.jsonl"), "--store", "acme", "--explode", "events", "--map", "session=session_id",
        "--map", "item=product", "--map", "ts=occurred_at", "--map", "kind=type", "--time-format", "unix_ms",
        "--type-map", "clicks=view", "--type-map", "carts=add_to_cart", "--type-map", "orders=purchase",
    ]  # fmt: skip
    _, err = run_failing("import_events", *args)
    assert "line 1, column item: unknown product sku 'TS-1'" in err
    assert "line 2, column ts: 'soon' does not match the time format 'unix_ms'" in err
    assert "line 3, column (record): not valid JSON" in err

    run("import_events", *args, "--create-missing", "--skip-invalid", "--rejects", str(tmp_path / "r.csv"))
    events = Event.objects.for_store(store).order_by("occurred_at")
    assert [(e.session_id, e.type, e.product.sku) for e in events] == [
        ("a", "view", "TS-1"), ("a", "add_to_cart", "TS-1"), ("b", "purchase", "TS-3"),
    ]  # fmt: skip
    assert events[0].occurred_at.isoformat() == "2026-03-01T10:00:00+00:00"


def test_help_lists_the_dataset_commands():
    from ecomops.management.commands.import_events import Command

    help_text = Command().create_parser("manage.py", "import_events").format_help()
    assert "--preset otto --create-missing" in help_text
    assert "otto-fixture/train.jsonl" in help_text
