"""Products API: CRUD by SKU, filters, search, ordering, pagination, analyst read-only, bulk upsert by SKU."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecomops.models import Product
from ecomops.services.catalog import BULK_UPSERT_MAX_ROWS
from tests.factories import OrderLineFactory, ProductFactory

pytestmark = pytest.mark.quick


def products_url(store, suffix=""):
    return f"/api/v1/stores/{store.slug}/products/{suffix}"


def bulk_url(store):
    return f"/api/v1/stores/{store.slug}/products/bulk"


def test_create_read_update_delete_by_sku(api_client, store):
    created = api_client.post(
        products_url(store),
        {"sku": "TS-1.2", "title": "Linen shirt", "price": "49.90", "attributes": {"material": "linen"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["currency"] == store.currency  # the store's currency by default
    assert created.json()["price"] == "49.90"

    detail = api_client.get(products_url(store, "TS-1.2/"))
    assert detail.status_code == 200
    assert detail.json()["attributes"] == {"material": "linen"}

    patched = api_client.patch(products_url(store, "TS-1.2/"), {"stock": 7, "status": "draft"}, format="json")
    assert patched.status_code == 200, patched.content
    product = Product.objects.for_store(store).get(sku="TS-1.2")
    assert (product.stock, product.status, product.title, product.price) == (
        7,
        "draft",
        "Linen shirt",
        Decimal("49.90"),
    )

    assert api_client.delete(products_url(store, "TS-1.2/")).status_code == 204
    assert not Product.objects.for_store(store).filter(sku="TS-1.2").exists()
    assert api_client.get(products_url(store, "TS-1.2/")).status_code == 404


def test_create_rejects_bad_fields_and_taken_sku(api_client, store):
    ProductFactory(store=store, sku="TAKEN")
    response = api_client.post(products_url(store), {"sku": "TAKEN", "title": "x"}, format="json")
    assert response.status_code == 400
    assert "sku" in response.json()

    response = api_client.post(
        products_url(store), {"sku": "N1", "title": "x", "price": "-1", "currency": "euro"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"price", "currency"}

    response = api_client.post(
        products_url(store), {"sku": "N2", "title": "x", "attributes": {"a": {"b": 1}}}, format="json"
    )
    assert response.status_code == 400
    assert "attributes" in response.json()
    assert not Product.objects.for_store(store).filter(sku__in=["N1", "N2"]).exists()


def test_ordered_product_cannot_be_deleted(api_client, store):
    line = OrderLineFactory(order__store=store)
    response = api_client.delete(products_url(store, f"{line.product.sku}/"))
    assert response.status_code == 400
    assert "archived" in response.json()["sku"][0]
    assert Product.objects.for_store(store).filter(pk=line.product_id).exists()


def test_other_store_product_is_404(api_client, store, other_store):
    foreign = ProductFactory(store=other_store)
    assert api_client.get(products_url(store, f"{foreign.sku}/")).status_code == 404
    assert api_client.patch(products_url(store, f"{foreign.sku}/"), {"stock": 1}, format="json").status_code == 404
    assert api_client.get(products_url(other_store)).status_code == 404


def test_list_filters_search_ordering_and_pagination(api_client, store, other_store):
    ProductFactory(
        store=store, sku="A", title="Blue shoe", brand="Nike", category="Shoes > Running", price="80.00", stock=0
    )
    ProductFactory(
        store=store, sku="B", title="Red shoe", brand="Adidas", category="Shoes > Court", price="60.00", stock=3
    )
    ProductFactory(
        store=store, sku="C", title="Green hat", brand="Nike", category="Hats", price="20.00", status="archived"
    )
    ProductFactory(store=other_store, sku="Z", title="Blue shoe elsewhere", category="Shoes > Running")

    def skus(**params):
        response = api_client.get(products_url(store), params)
        assert response.status_code == 200, response.content
        return [row["sku"] for row in response.json()["results"]]

    assert skus() == ["A", "C", "B"]  # by title
    assert skus(category="Shoes") == ["A", "B"]
    assert skus(brand="nike") == ["A", "C"]
    assert skus(status="archived") == ["C"]
    assert skus(min_price="50", max_price="70") == ["B"]
    assert skus(in_stock="true") == ["C", "B"]  # Green hat, Red shoe
    assert skus(search="shoe") == ["A", "B"]
    assert skus(ordering="-price") == ["A", "B", "C"]

    page = api_client.get(products_url(store), {"page_size": 2, "ordering": "sku"}).json()
    assert page["count"] == 3
    assert [row["sku"] for row in page["results"]] == ["A", "B"]
    assert page["next"] is not None
    second = api_client.get(products_url(store), {"page_size": 2, "ordering": "sku", "page": 2}).json()
    assert [row["sku"] for row in second["results"]] == ["C"]


def test_analyst_reads_but_cannot_write(analyst_api_client, store):
    product = ProductFactory(store=store)
    assert analyst_api_client.get(products_url(store)).status_code == 200
    assert analyst_api_client.get(products_url(store, f"{product.sku}/")).status_code == 200
    assert analyst_api_client.post(products_url(store), {"sku": "X", "title": "x"}, format="json").status_code == 403
    assert (
        analyst_api_client.patch(products_url(store, f"{product.sku}/"), {"stock": 1}, format="json").status_code == 403
    )
    assert analyst_api_client.delete(products_url(store, f"{product.sku}/")).status_code == 403
    assert (
        analyst_api_client.post(bulk_url(store), {"products": [{"sku": "X", "title": "x"}]}, format="json").status_code
        == 403
    )
    assert not Product.objects.for_store(store).filter(sku="X").exists()


def test_bulk_upsert_creates_and_updates_by_sku(api_client, store, other_store):
    existing = ProductFactory(store=store, sku="OLD", title="Old title", price="10.00", stock=5)
    existing.refresh_from_db()
    created_at = existing.created_at
    ProductFactory(store=other_store, sku="NEW-1", title="Other store's product")
    response = api_client.post(
        bulk_url(store),
        {
            "products": [
                {"sku": "OLD", "price": "12.50"},  # update: only the price changes
                {"sku": "NEW-1", "title": "New one", "attributes": {"size": "L"}},
                {"sku": "NEW-2", "title": "New two", "stock": 3, "currency": "USD"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 1, "count": 3}
    existing.refresh_from_db()
    assert (existing.title, existing.price, existing.stock) == ("Old title", Decimal("12.50"), 5)
    assert existing.created_at == created_at and existing.updated_at > created_at
    assert existing.attributes == {"material": "cotton", "colour": "blue", "size": "M"}  # untouched
    new_one = Product.objects.for_store(store).get(sku="NEW-1")
    assert (new_one.title, new_one.attributes, new_one.currency) == ("New one", {"size": "L"}, store.currency)
    assert Product.objects.for_store(store).get(sku="NEW-2").currency == "USD"
    assert Product.objects.for_store(other_store).get(sku="NEW-1").title == "Other store's product"


@pytest.mark.parametrize(
    ("bad_row", "field"),
    [
        ({"sku": "BAD", "title": "x", "price": "abc"}, "price"),
        ({"sku": "BAD", "title": "x", "status": "sold-out"}, "status"),
        ({"sku": "BAD"}, "title"),  # a new SKU needs a title
        ({"sku": "A-1", "title": "again"}, "sku"),  # repeated in the batch
        ({"title": "no sku"}, "sku"),
        ({"sku": "BAD", "title": "x", "attributes": ["not", "a", "map"]}, "attributes"),
    ],
)
def test_bulk_upsert_is_all_or_nothing_and_names_row_and_field(api_client, store, bad_row, field):
    existing = ProductFactory(store=store, sku="A-1", price="10.00")
    rows = [{"sku": "A-1", "price": "11.00"}, {"sku": "A-2", "title": "Fine"}, {"sku": "A-3", "title": "Fine too"}]
    rows.insert(2, bad_row)
    response = api_client.post(bulk_url(store), {"products": rows}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert {"row": 2, "field": field} == {k: body["errors"][0][k] for k in ("row", "field")}
    assert body["detail"].startswith(f"Row 2, field '{field}'")
    # nothing was written: not the valid rows before or after the bad one
    existing.refresh_from_db()
    assert existing.price == Decimal("10.00")
    assert set(Product.objects.for_store(store).values_list("sku", flat=True)) == {"A-1"}


def test_bulk_upsert_rejects_more_than_the_maximum(api_client, store):
    rows = [{"sku": f"S{i}", "title": "t"} for i in range(BULK_UPSERT_MAX_ROWS + 1)]
    response = api_client.post(bulk_url(store), {"products": rows}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "products"
    assert str(BULK_UPSERT_MAX_ROWS) in response.json()["detail"]
    assert not Product.objects.for_store(store).exists()


def test_bulk_upsert_accepts_the_maximum(api_client, store):
    rows = [{"sku": f"S{i:05d}", "title": f"Product {i}", "price": "1.00"} for i in range(BULK_UPSERT_MAX_ROWS)]
    response = api_client.post(bulk_url(store), {"products": rows}, format="json")
    assert response.status_code == 200, response.content[:500]
    assert response.json()["created"] == BULK_UPSERT_MAX_ROWS
    assert Product.objects.for_store(store).count() == BULK_UPSERT_MAX_ROWS


def test_bulk_upsert_rejects_a_malformed_envelope(api_client, store):
    for body in ({"products": []}, {"products": "nope"}, {}):
        response = api_client.post(bulk_url(store), body, format="json")
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["field"] == "products"


def test_a_product_on_a_purchase_order_cannot_be_deleted(api_client, store):
    # the schema fuzz found it after inventory landed: the PROTECT foreign key answered 500
    from inventory.models import PurchaseOrder, PurchaseOrderLine, Supplier

    product = ProductFactory(store=store, sku="PO-1")
    supplier = Supplier.objects.create(store=store, name="Acme Supply")
    order = PurchaseOrder.objects.create(store=store, supplier=supplier, number="PO-0001")
    PurchaseOrderLine.objects.create(store=store, purchase_order=order, product=product, quantity=3)
    response = api_client.delete(products_url(store, "PO-1/"))
    assert response.status_code == 400 and "purchase orders" in response.json()["sku"][0]
    assert Product.objects.for_store(store).filter(pk=product.pk).exists()
