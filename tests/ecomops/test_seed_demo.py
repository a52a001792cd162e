"""seed_demo: deterministic, plausible, labelled, with a demo owner and an extension point for the apps."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum

from ecomops.models import (
    Customer,
    DailyStoreStats,
    Event,
    EventType,
    Membership,
    Order,
    OrderLine,
    Product,
    Role,
    Store,
)
from ecomops.services.demo_data import demo_fingerprint, register_demo_seeder, unregister_demo_seeder

pytestmark = [pytest.mark.quick, pytest.mark.django_db]

# Other apps' registered seeders are left out here (they have their own tests); the extras test isolates the registry.
SMALL = {"products": 24, "customers": 60, "days": 21, "sessions_per_day": 40, "end_date": "2026-03-31", "no_extras": True}


def seed(slug: str, seed: int = 7, **extra) -> str:
    """Run the command as from a shell (string arguments, parsed by argparse)."""
    argv = ["--store", slug, "--seed", str(seed)]
    for key, value in {**SMALL, **extra}.items():
        flag = "--" + key.replace("_", "-")
        if value is False:
            continue
        argv += [flag] if value is True else [flag, str(value)]
    out = StringIO()
    call_command("seed_demo", *argv, stdout=out, stderr=StringIO(), verbosity=0)
    return out.getvalue()


def test_same_seed_same_data_other_seed_other_data():
    seed("one", seed=7)
    seed("two", seed=7)
    seed("three", seed=8)
    one, two, three = (Store.objects.get(slug=s) for s in ("one", "two", "three"))
    assert Event.objects.for_store(one).count() > 200
    assert demo_fingerprint(one) == demo_fingerprint(two)
    assert demo_fingerprint(one) != demo_fingerprint(three)


def test_demo_store_is_plausible_and_consistent():
    output = seed("demo", user="demo", password="demo-pass-2026")
    store = Store.objects.get(slug="demo")
    assert store.is_demo and store.timezone == "Europe/Berlin"
    assert "seeded in" in output

    products = Product.objects.for_store(store)
    assert products.count() == SMALL["products"]
    assert products.values("category").distinct().count() >= 5
    assert all(isinstance(p.price, Decimal) and p.price > 0 for p in products)
    assert all(p.attributes for p in products)
    described = products.exclude(description="").count()
    assert described >= SMALL["products"] * 0.6
    assert Customer.objects.for_store(store).count() == SMALL["customers"]
    assert Customer.objects.for_store(store).exclude(country="").count() == SMALL["customers"]

    # The funnel narrows at every step.
    by_type = dict(Event.objects.for_store(store).values_list("type").annotate(n=Count("id")))
    assert by_type[EventType.VIEW] > by_type[EventType.ADD_TO_CART] > by_type[EventType.CHECKOUT]
    assert by_type[EventType.SEARCH] > 0
    assert Event.objects.for_store(store).filter(properties__device__in=["mobile", "desktop", "tablet"]).count() == sum(
        by_type.values()
    )

    # Orders match purchases: one purchase event per line, totals add up, every order has a customer.
    orders = Order.objects.for_store(store)
    assert orders.count() > 0
    assert Event.objects.for_store(store).filter(type=EventType.PURCHASE).count() == OrderLine.objects.for_store(
        store
    ).count()
    for order in orders.annotate(line_sum=Sum("lines__line_total")):
        assert order.line_sum == order.subtotal
        assert order.total == order.subtotal + order.shipping
        purchase = Event.objects.for_store(store).filter(type=EventType.PURCHASE, properties__order=order.number)
        assert purchase.count() == order.lines.count()
        assert set(purchase.values_list("customer_id", flat=True)) == {order.customer_id}

    # The Overview has rollups for every day of history, and the demo owner can log in.
    assert DailyStoreStats.objects.for_store(store).count() >= SMALL["days"]
    membership = Membership.objects.get(store=store, user__username="demo")
    assert membership.role == Role.OWNER
    assert membership.user.check_password("demo-pass-2026")


def test_if_empty_does_nothing_when_a_store_exists(store):
    assert "nothing to do" in seed("demo", if_empty=True)
    assert not Store.objects.filter(slug="demo").exists()


def test_existing_slug_needs_replace_and_real_stores_are_never_replaced(store):
    with pytest.raises(CommandError, match="already exists"):
        seed(store.slug)
    with pytest.raises(CommandError, match="real data"):
        seed(store.slug, replace=True)
    seed("demo")
    before = demo_fingerprint(Store.objects.get(slug="demo"))
    seed("demo", replace=True)
    assert demo_fingerprint(Store.objects.get(slug="demo")) == before
    assert Store.objects.filter(slug="demo").count() == 1


def test_registered_extras_get_their_own_deterministic_rng(monkeypatch):
    from ecomops.services import demo_data

    monkeypatch.setattr(demo_data, "_DEMO_SEEDERS", {})
    calls = []

    def extra(store, rng):
        calls.append((store.slug, rng.random()))

    def broken(store, rng):
        raise RuntimeError("support tables missing")

    register_demo_seeder(extra, name="tests.extra")
    register_demo_seeder(broken, name="tests.broken")
    try:
        output = seed("a", no_extras=False)
        seed("b", no_extras=False)
        assert [slug for slug, _ in calls] == ["a", "b"]
        assert calls[0][1] == calls[1][1]
        assert "tests.broken: failed: RuntimeError: support tables missing" in output
        with pytest.raises(RuntimeError):
            seed("c", strict=True, no_extras=False)
    finally:
        unregister_demo_seeder("tests.extra")
        unregister_demo_seeder("tests.broken")
