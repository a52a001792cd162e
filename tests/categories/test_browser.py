"""The review queue in a real browser: select all, accept in bulk, the products change, no console errors."""

from __future__ import annotations

import pytest

from ecomops.models import Product, Role
from tests.browser import needs_chromium
from tests.categories.conftest import category_suggestion
from tests.dashboard_browser import merchant_page  # the live_url fixture comes from tests/conftest.py
from tests.factories import MembershipFactory, ProductFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]
PASSWORD = "pass-word-123"


def test_merchant_accepts_category_suggestions_in_bulk(live_url):
    store = StoreFactory(slug="cat-shop", name="Cat Shop")
    MembershipFactory(store=store, role=Role.OWNER, user=UserFactory(username="cat-owner"))
    products = [ProductFactory(store=store, sku=f"K{i}", title=f"Electric kettle {i}", category="") for i in range(3)]
    for p, conf in zip(products, (0.97, 0.9, 0.8), strict=True):
        category_suggestion(p, path="Kitchen > Kettles", confidence=conf)
    with merchant_page(live_url, "cat-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/cat-shop/categories/")
        assert page.locator("#suggestions tbody tr").count() == 3
        page.check("#select-all")
        page.screenshot(path="/tmp/categories-queue.png", full_page=True)
        page.click("#accept-button")
        page.wait_for_load_state("load")
        assert "3 accepted." in page.content()
        assert page.errors == []
    assert set(Product.objects.for_store(store).values_list("category", flat=True)) == {"Kitchen > Kettles"}
