"""Customers API (CRUD by external id) and orders API (list/detail/create with lines, Decimal totals checked)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ecomops.models import Customer, Order, OrderLine
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.quick


def url(store, path):
    return f"/api/v1/stores/{store.slug}/{path}"


# --- customers -------------------------------------------------------------------------------------------


def test_customer_crud_by_external_id(api_client, store):
    created = api_client.post(
        url(store, "customers/"), {"external_id": "C-42", "email": "ada@example.com", "country": "GB"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["created_at"]  # defaults to now
    assert api_client.get(url(store, "customers/C-42/")).json()["email"] == "ada@example.com"

    patched = api_client.patch(url(store, "customers/C-42/"), {"name": "Ada"}, format="json")
    assert patched.status_code == 200
    assert Customer.objects.for_store(store).get(external_id="C-42").name == "Ada"

    assert api_client.delete(url(store, "customers/C-42/")).status_code == 204
    assert not Customer.objects.for_store(store).exists()


def test_customer_validation(api_client, store):
    CustomerFactory(store=store, external_id="C-1")
    response = api_client.post(url(store, "customers/"), {"external_id": "C-1"}, format="json")
    assert response.status_code == 400 and "external_id" in response.json()
    response = api_client.post(
        url(store, "customers/"), {"external_id": "C-2", "email": "not-an-email", "country": "Germany"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"email", "country"}


def test_customer_with_orders_cannot_be_deleted(api_client, store):
    order = OrderFactory(store=store)
    response = api_client.delete(url(store, f"customers/{order.customer.external_id}/"))
    assert response.status_code == 400
    assert Customer.objects.for_store(store).filter(pk=order.customer_id).exists()


def test_customer_filters_and_search(api_client, store, other_store):
    CustomerFactory(store=store, external_id="A", country="DE", name="Anna Berg")
    CustomerFactory(
        store=store, external_id="B", country="FR", name="Bruno Cole", created_at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    CustomerFactory(store=other_store, external_id="Z", country="DE")

    def ids(**params):
        response = api_client.get(url(store, "customers/"), params)
        assert response.status_code == 200
        return [row["external_id"] for row in response.json()["results"]]

    assert ids() == ["A", "B"]
    assert ids(country="de") == ["A"]
    assert ids(search="cole") == ["B"]
    assert ids(created_before="2025-06-01T00:00:00Z") == ["B"]


# --- orders ----------------------------------------------------------------------------------------------


@pytest.fixture
def catalog(store):
    return {
        "customer": CustomerFactory(store=store, external_id="C-1"),
        "shirt": ProductFactory(store=store, sku="SHIRT", price=Decimal("19.99")),
        "cap": ProductFactory(store=store, sku="CAP", price=Decimal("5.50")),
    }


def order_payload(**overrides):
    payload = {
        "number": "1001",
        "customer": "C-1",
        "placed_at": "2026-03-01T10:00:00+02:00",
        "shipping": "4.90",
        "tax": "1.00",
        "lines": [
            {"sku": "SHIRT", "quantity": 2, "unit_price": "19.99"},
            {"sku": "CAP", "quantity": 1, "unit_price": "5.50", "line_total": "5.50"},
        ],
    }
    payload.update(overrides)
    return payload


def test_create_order_with_lines_computes_decimal_totals(api_client, store, catalog):
    response = api_client.post(url(store, "orders/"), order_payload(subtotal="45.48"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["subtotal"], body["total"], body["currency"]) == ("45.48", "51.38", store.currency)
    assert [(line["sku"], line["quantity"], line["line_total"]) for line in body["lines"]] == [
        ("SHIRT", 2, "39.98"),
        ("CAP", 1, "5.50"),
    ]
    order = Order.objects.for_store(store).get(number="1001")
    assert order.total == Decimal("51.38")
    assert order.placed_at == datetime(2026, 3, 1, 8, tzinfo=UTC)  # stored in UTC
    assert OrderLine.objects.for_store(store).filter(order=order).count() == 2

    detail = api_client.get(url(store, "orders/1001/"))
    assert detail.status_code == 200
    assert detail.json()["customer"] == "C-1"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"total": "51.39"}, "total"),
        ({"subtotal": "45.00"}, "subtotal"),
        ({"lines": [{"sku": "SHIRT", "quantity": 2, "unit_price": "19.99", "line_total": "39.00"}]}, "lines"),
        ({"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]}, "lines"),
        ({"lines": []}, "lines"),
        ({"customer": "C-404"}, "customer"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"shipping": "4.901"}, "shipping"),
    ],
)
def test_create_order_rejects_bad_input(api_client, store, catalog, overrides, field):
    response = api_client.post(url(store, "orders/"), order_payload(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Order.objects.for_store(store).exists()


def test_unknown_sku_error_names_the_line(api_client, store, catalog):
    payload = order_payload(
        lines=[
            {"sku": "SHIRT", "quantity": 1, "unit_price": "1.00"},
            {"sku": "NOPE", "quantity": 1, "unit_price": "1.00"},
        ]
    )
    errors = api_client.post(url(store, "orders/"), payload, format="json").json()["lines"]
    assert errors == {"1": {"sku": ["Unknown sku 'NOPE' in this store."]}}  # line index -> field -> message


def test_order_numbers_are_unique_and_other_stores_products_unknown(api_client, store, other_store, catalog):
    OrderFactory(store=store, number="1001")
    ProductFactory(store=other_store, sku="FOREIGN")
    assert "number" in api_client.post(url(store, "orders/"), order_payload(), format="json").json()
    payload = order_payload(number="1002", lines=[{"sku": "FOREIGN", "quantity": 1, "unit_price": "1.00"}])
    response = api_client.post(url(store, "orders/"), payload, format="json")
    assert response.status_code == 400 and "FOREIGN" in str(response.json()["lines"])


def test_order_list_filters_and_no_update(api_client, store, catalog):
    early = OrderFactory(
        store=store, number="E", customer=catalog["customer"], placed_at=datetime(2026, 1, 5, tzinfo=UTC), status="paid"
    )
    late = OrderFactory(
        store=store, number="L", placed_at=datetime(2026, 2, 5, tzinfo=UTC), status="refunded", total=Decimal("99")
    )
    OrderLineFactory(order=late, product=catalog["cap"])

    def numbers(**params):
        response = api_client.get(url(store, "orders/"), params)
        assert response.status_code == 200
        return [row["number"] for row in response.json()["results"]]

    assert numbers() == ["L", "E"]  # newest first
    assert numbers(status="paid") == ["E"]
    assert numbers(customer="C-1") == ["E"]
    assert numbers(placed_after="2026-02-01T00:00:00Z") == ["L"]
    assert numbers(min_total="50") == ["L"]
    assert numbers(sku="CAP") == ["L"]
    assert api_client.patch(url(store, f"orders/{early.number}/"), {"status": "paid"}, format="json").status_code == 405


def test_analyst_cannot_create_orders(analyst_api_client, store, catalog):
    assert analyst_api_client.get(url(store, "orders/")).status_code == 200
    assert analyst_api_client.post(url(store, "orders/"), order_payload(), format="json").status_code == 403
    assert analyst_api_client.post(url(store, "customers/"), {"external_id": "X"}, format="json").status_code == 403
    assert not Order.objects.for_store(store).exists()
