"""Inventory fixtures: a store with a few months of daily orders for a handful of products."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest
from rest_framework.test import APIClient

from ecomops.models import Order, OrderLine, OrderStatus
from inventory.selectors import store_today
from tests.factories import CustomerFactory, ProductFactory


def add_sales(store, product, units_per_day, *, end=None, customer=None) -> None:
    """One order per day with `units` of `product`, the last day being `end` (default: yesterday)."""
    end = end or store_today(store) - timedelta(days=1)
    customer = customer or CustomerFactory(store=store)
    n = len(units_per_day)
    orders, lines = [], []
    for i, units in enumerate(units_per_day):
        if units <= 0:
            continue
        day = end - timedelta(days=n - 1 - i)
        orders.append(Order(store=store, customer=customer, number=f"{product.sku}-{day.isoformat()}",
                            status=OrderStatus.PAID, placed_at=datetime.combine(day, time(12), tzinfo=UTC),
                            total=product.price * units, subtotal=product.price * units))
        lines.append(int(units))
    Order.objects.bulk_create(orders)
    OrderLine.objects.bulk_create([
        OrderLine(store=store, order=o, product=product, quantity=u, unit_price=product.price,
                  line_total=product.price * u) for o, u in zip(orders, lines, strict=True)
    ])


@pytest.fixture
def selling_store(store):
    """Three products with 150 days of sales: a steady seller, a weekly-seasonal one, an intermittent one."""
    rng = np.random.default_rng(7)
    days = 150
    week = 1 + 0.5 * np.sin(np.arange(days) * 2 * np.pi / 7)
    products = {
        "STEADY": ProductFactory(store=store, sku="STEADY", category="Tops", price=Decimal("10.00"), stock=40),
        "WEEKLY": ProductFactory(store=store, sku="WEEKLY", category="Tops", price=Decimal("20.00"), stock=1500),
        "RARE": ProductFactory(store=store, sku="RARE", category="Shoes", price=Decimal("50.00"), stock=3),
    }
    customer = CustomerFactory(store=store)
    add_sales(store, products["STEADY"], rng.poisson(4, days), customer=customer)
    add_sales(store, products["WEEKLY"], rng.poisson(6 * week), customer=customer)
    add_sales(store, products["RARE"], rng.poisson(0.15, days), customer=customer)
    return products


@pytest.fixture
def api(owner):
    client = APIClient()
    client.force_authenticate(owner)
    return client
