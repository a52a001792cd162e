"""A small store with planted tastes for the recommender's Django tests (not a test module itself).

24 products in two categories (Kitchen P00-P11, Garden P12-P23); P05 is archived and P06 out of stock.
40 customers: even ones walk Kitchen items in order, odd ones Garden items, five views each, and buy their
2nd and 3rd viewed items together in one paid order. Everything happened in the last few days, so trending
has data too. Customer C00 viewed P00..P04 and bought P01 + P02.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from ecomops.models import Customer, Event, EventType, Order, OrderLine, Product, ProductStatus, Store
from recommender.services import serving
from recommender.services.training import stamp_key

N_CUSTOMERS = 40


def build_rec_store(store: Store, *, customers: int = N_CUSTOMERS) -> dict:
    Product.objects.bulk_create([
        Product(store=store, sku=f"P{i:02d}", title=f"{'Pot' if i < 12 else 'Rake'} {i:02d}",
                category="Kitchen > Pots" if i < 12 else "Garden > Tools", price=Decimal("9.50"),
                status=ProductStatus.ARCHIVED if i == 5 else ProductStatus.ACTIVE, stock=0 if i == 6 else 10)
        for i in range(24)
    ])
    by_sku = {p.sku: p for p in Product.objects.for_store(store)}
    Customer.objects.bulk_create([
        Customer(store=store, external_id=f"C{c:02d}", email=f"c{c}@example.com", name=f"Customer {c}",
                 created_at=timezone.now() - timedelta(days=30))
        for c in range(customers)
    ])
    people = list(Customer.objects.for_store(store).order_by("external_id"))
    now = timezone.now().replace(microsecond=0)
    events, orders = [], []
    for c, customer in enumerate(people):
        start = 12 * (c % 2) + (c // 2) % 6
        t0 = now - timedelta(days=3, minutes=c)
        walked = [by_sku[f"P{start + step:02d}"] for step in range(5)]
        for step, product in enumerate(walked):
            events.append(Event(store=store, customer=customer, session_id=f"s{c}", type=EventType.VIEW,
                                product=product, occurred_at=t0 + timedelta(minutes=10 * step)))
        orders.append((customer, walked[1:3], t0 + timedelta(hours=2)))
    Event.objects.bulk_create(events)
    for n, (customer, items, at) in enumerate(orders):
        order = Order.objects.create(store=store, customer=customer, number=f"R{n:04d}", status="paid", placed_at=at,
                                     currency="EUR", subtotal=Decimal("19.00"), total=Decimal("19.00"))
        OrderLine.objects.bulk_create([
            OrderLine(store=store, order=order, product=p, quantity=1, unit_price=Decimal("9.50"),
                      line_total=Decimal("9.50")) for p in items
        ])
    return {"products": by_sku, "customers": {p.external_id: p for p in people}}


def reset_serving(store: Store) -> None:
    """Forget the process's loaded models and the shared cache keys of this store (ids repeat on SQLite)."""
    serving._loaded.pop(store.pk, None)
    cache.delete_many([stamp_key(store.pk), f"recommender:trending:{store.pk}"])


@pytest.fixture
def model_dir(settings, tmp_path):
    settings.ECOMOPS_MODEL_DIR = tmp_path / "models"
    return settings.ECOMOPS_MODEL_DIR
