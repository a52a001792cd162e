"""Funnel, retention, lifecycle, RFM, paths, top products and trends against hand-counted fixtures.

Marked quick: CI runs them on PostgreSQL and again on SQLite (make test-quick), so both SQL dialects are checked.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ecomops.models import Event, Order, OrderLine, OrderStatus
from recommender.analytics.explore import PathsSpec, event_trends, paths_after, top_categories, top_products
from recommender.analytics.funnel import FunnelSpec, funnel_conversion
from recommender.analytics.retention import LifecycleSpec, RetentionSpec, lifecycle, retention_matrix
from recommender.analytics.rfm import GRID, SEGMENTS, RfmSpec, rfm_customers, rfm_segment_of, rfm_table
from tests.factories import CustomerFactory, ProductFactory, StoreFactory

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.quick]

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
STEPS = ("view", "add_to_cart", "checkout", "purchase")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def build_funnel_store(store):
    """Five customers (A..E) and one anonymous session, hand-counted in the tests below.

    A (DE, mobile):  view 0, add_to_cart 5, checkout 10, purchase 20                       -> completes
    B (DE, desktop): view 0, add_to_cart 30, view 60, add_to_cart 70, checkout 110           -> step 3 (2nd start)
    C (FR, mobile):  view 0, add_to_cart 10, purchase 15                                     -> step 2
    D (FR, none):    add_to_cart -10, view 0, view 1                                         -> step 1
    E (US, mobile):  view 0, search 1, add_to_cart 2, checkout 3, purchase 4                 -> completes
    F:               view 3 days later (outside the range)
    anonymous session "anon": view 0, add_to_cart 1
    """
    shoes = ProductFactory(store=store, sku="P1", category="Shoes")
    hats = ProductFactory(store=store, sku="P2", category="Hats")
    people = {
        "A": CustomerFactory(store=store, external_id="A", country="DE"),
        "B": CustomerFactory(store=store, external_id="B", country="DE"),
        "C": CustomerFactory(store=store, external_id="C", country="FR"),
        "D": CustomerFactory(store=store, external_id="D", country="FR"),
        "E": CustomerFactory(store=store, external_id="E", country="US"),
        "F": CustomerFactory(store=store, external_id="F", country=""),
    }
    plan = {
        "A": (shoes, {"device": "mobile"}, [("view", 0), ("add_to_cart", 5), ("checkout", 10), ("purchase", 20)]),
        "B": (hats, {"device": "desktop"}, [("view", 0), ("add_to_cart", 30), ("view", 60), ("add_to_cart", 70),
                                           ("checkout", 110)]),
        "C": (shoes, {"device": "mobile"}, [("view", 0), ("add_to_cart", 10), ("purchase", 15)]),
        "D": (hats, {}, [("add_to_cart", -10), ("view", 0), ("view", 1)]),
        "E": (shoes, {"device": "mobile"}, [("view", 0), ("search", 1), ("add_to_cart", 2), ("checkout", 3),
                                           ("purchase", 4)]),
        "F": (shoes, {}, [("view", 3 * 24 * 60)]),
    }
    events = []
    for name, (product, props, steps) in plan.items():
        for kind, minute in steps:
            events.append(
                Event(store=store, customer=people[name], session_id=f"s{name}", type=kind,
                      product=None if kind == "search" else product, occurred_at=at(minute), properties=props)
            )
    events += [
        Event(store=store, customer=None, session_id="anon", type="view", product=shoes, occurred_at=at(0)),
        Event(store=store, customer=None, session_id="anon", type="add_to_cart", product=shoes, occurred_at=at(1)),
    ]
    Event.objects.bulk_create(events)
    # Orders: A buys 2 x P1, B buys 1 x P2; C's order is cancelled and must not count.
    for number, name, product, qty, price, status in (
        ("1", "A", shoes, 2, Decimal("20.00"), OrderStatus.PAID),
        ("2", "B", hats, 1, Decimal("30.00"), OrderStatus.DELIVERED),
        ("3", "C", hats, 5, Decimal("100.00"), OrderStatus.CANCELLED),
    ):
        order = Order.objects.create(store=store, customer=people[name], number=number, status=status,
                                     placed_at=at(20), total=qty * price, subtotal=qty * price)
        OrderLine.objects.create(store=store, order=order, product=product, quantity=qty, unit_price=price,
                                 line_total=qty * price)
    return people


def spec(**kwargs) -> FunnelSpec:
    base = dict(steps=STEPS, start=T0 - timedelta(days=1), end=T0 + timedelta(days=2), window=timedelta(hours=1))
    base.update(kwargs)
    return FunnelSpec(**base)


def counts(result) -> list[int]:
    return [s["count"] for s in result["steps"]]


def medians(result) -> list[float | None]:
    return [s["median_seconds_from_start"] for s in result["steps"]]


@pytest.fixture
def funnel_store(db):
    store = StoreFactory(slug="funnel", timezone="UTC")
    build_funnel_store(store)
    return store


def test_ordered_funnel_counts_dropoff_and_median_time(funnel_store):
    result = funnel_conversion(funnel_store, spec())
    assert counts(result) == [5, 4, 3, 2]
    assert [s["dropoff_from_previous"] for s in result["steps"]] == [0, 1, 1, 1]
    assert result["steps"][3]["conversion_from_start"] == pytest.approx(2 / 5)
    assert result["steps"][2]["conversion_from_previous"] == pytest.approx(3 / 4)
    # step 2: A 300 s, B 600 s (from its 2nd view), C 600 s, E 120 s -> median 450; step 3: 600, 3000, 180 -> 600
    assert medians(result) == [None, 450.0, 600.0, 720.0]


def test_funnel_uses_the_latest_start_inside_the_window(funnel_store):
    # B's checkout at +110 min is 110 min after its first view but 50 min after the second one.
    shorter = funnel_conversion(funnel_store, spec(window=timedelta(minutes=45)))
    assert counts(shorter) == [5, 4, 2, 2]  # B's checkout is 50 min after its latest view: out
    exact = funnel_conversion(funnel_store, spec(window=timedelta(minutes=5)))
    # A: add_to_cart exactly 5 min after the view counts (the window is inclusive), its checkout at 10 min does
    # not; B and C need more than 5 min to add to cart; E completes within 4 min.
    assert counts(exact) == [5, 2, 1, 1]


def test_strict_funnel_requires_consecutive_events(funnel_store):
    result = funnel_conversion(funnel_store, spec(order="strict"))
    # E has a search between view and add_to_cart; C skips checkout.
    assert counts(result) == [5, 3, 2, 1]
    assert medians(result)[3] == 1200.0


def test_any_order_funnel(funnel_store):
    result = funnel_conversion(funnel_store, spec(order="any"))
    # D did add_to_cart then view: two steps in any order.
    assert counts(result) == [5, 5, 4, 2]
    assert medians(result)[3] == 720.0  # A 1200 s, E 240 s


def test_session_unit_counts_anonymous_sessions(funnel_store):
    result = funnel_conversion(funnel_store, spec(unit="session"))
    assert counts(result) == [6, 5, 3, 2]


def test_breakdowns(funnel_store):
    by_country = funnel_conversion(funnel_store, spec(breakdown="country"))
    assert {s["value"]: counts(s) for s in by_country["series"]} == {
        "DE": [2, 2, 2, 1], "FR": [2, 1, 0, 0], "US": [1, 1, 1, 1],
    }
    assert counts(by_country) == [5, 4, 3, 2]
    by_category = funnel_conversion(funnel_store, spec(breakdown="category"))
    assert {s["value"]: counts(s) for s in by_category["series"]} == {"Shoes": [3, 3, 2, 2], "Hats": [2, 1, 1, 0]}
    by_device = funnel_conversion(funnel_store, spec(breakdown="property", breakdown_property="device"))
    assert {s["value"]: counts(s) for s in by_device["series"]} == {
        "mobile": [3, 3, 2, 2], "desktop": [1, 1, 1, 0], "(none)": [1, 0, 0, 0],
    }
    assert by_device["series"][0]["value"] == "mobile"  # largest first


def test_funnel_is_scoped_to_the_store(funnel_store):
    other = StoreFactory(slug="other-funnel")
    build_funnel_store(other)
    assert counts(funnel_conversion(funnel_store, spec())) == [5, 4, 3, 2]


def test_funnel_spec_validation():
    with pytest.raises(ValueError):
        spec(steps=("view",))
    with pytest.raises(ValueError):
        spec(order="any", steps=("view", "view"))
    with pytest.raises(ValueError):
        spec(breakdown="property")


def test_paths_after_view(funnel_store):
    result = paths_after(funnel_store, PathsSpec(start_event="view", start=T0 - timedelta(days=1),
                                                 end=T0 + timedelta(days=2), unit="customer"))
    assert result["occurrences"] == 6
    assert Counter(tuple(p["steps"]) for p in result["paths"]) == Counter({
        ("add_to_cart", "checkout", "purchase"): 1,  # A
        ("add_to_cart", "view", "add_to_cart"): 1,  # B, first view
        ("add_to_cart", "checkout", "(end)"): 1,  # B, second view
        ("add_to_cart", "purchase", "(end)"): 1,  # C
        ("(end)",): 1,  # D (its two views collapse into one)
        ("search", "add_to_cart", "checkout"): 1,  # E
    })
    first_links = {(link["source"], link["target"]): link["count"] for link in result["links"] if link["depth"] == 1}
    assert first_links == {("view", "add_to_cart"): 4, ("view", "(end)"): 1, ("view", "search"): 1}
    raw = paths_after(funnel_store, PathsSpec(start_event="view", start=T0 - timedelta(days=1),
                                              end=T0 + timedelta(days=2), unit="customer", collapse_repeats=False,
                                              depth=1))
    assert raw["occurrences"] == 7
    assert {tuple(p["steps"]): p["count"] for p in raw["paths"]}[("view",)] == 1  # D: view -> view


def test_top_products_and_categories(funnel_store):
    window = dict(start=T0 - timedelta(days=1), end=T0 + timedelta(days=2))
    by_revenue = top_products(funnel_store, **window)
    assert [(p["sku"], p["revenue"], p["units"], p["views"], p["add_to_cart"], p["purchases"]) for p in by_revenue] == [
        ("P1", "40.00", 2, 4, 4, 3),  # anonymous view + cart are on P1 too
        ("P2", "30.00", 1, 4, 3, 0),
    ]
    assert [p["sku"] for p in top_products(funnel_store, by="add_to_cart", **window)] == ["P1", "P2"]
    assert [(c["category"], c["revenue"], c["units"]) for c in top_categories(funnel_store, **window)] == [
        ("Shoes", "40.00", 2), ("Hats", "30.00", 1),
    ]


def test_event_trends_per_day(funnel_store):
    result = event_trends(funnel_store, start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 6, tzinfo=UTC))
    assert result["periods"] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert result["events"]["view"] == [0, 8, 0, 0, 1]  # F's view is on 03-05
    assert result["events"]["add_to_cart"] == [0, 7, 0, 0, 0]
    assert result["sessions"] == [0, 6, 0, 0, 1]
    assert result["customers"] == [0, 5, 0, 0, 1]
    assert result["revenue"][1] == "70.00" and result["orders"] == [0, 2, 0, 0, 0]


# --- retention and lifecycle -------------------------------------------------------------------------
W = [datetime(2026, 3, 2, 12, tzinfo=UTC) + timedelta(weeks=i) for i in range(-1, 4)]  # W[0] is the week before


@pytest.fixture
def cohort_store(db):
    """Weeks W0..W3 (Mondays 2026-03-02 .. 03-23) plus the week before (Wm):
    R1: W0 W1 W3 / R2: W0 W2 / R3: W1 W2 / R4: Wm W1 / R5: W3."""
    store = StoreFactory(slug="cohorts", timezone="UTC")
    activity = {"R1": [1, 2, 4], "R2": [1, 3], "R3": [2, 3], "R4": [0, 2], "R5": [4]}
    events = []
    for name, weeks in activity.items():
        customer = CustomerFactory(store=store, external_id=name)
        for week in weeks:
            # two events in the week (Tuesday and Sunday night) must count once
            events.append(Event(store=store, customer=customer, session_id=f"{name}{week}", type="view",
                                occurred_at=W[week] + timedelta(days=1)))
            events.append(Event(store=store, customer=customer, session_id=f"{name}{week}b", type="purchase",
                                occurred_at=W[week] + timedelta(days=6, hours=11)))
    Event.objects.bulk_create(events)
    return store


END = datetime(2026, 3, 25, tzinfo=UTC)  # inside W3


def test_retention_first_time(cohort_store):
    result = retention_matrix(cohort_store, RetentionSpec(periods=4, end=END))
    assert [c["period"] for c in result["cohorts"]] == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]
    assert [c["size"] for c in result["cohorts"]] == [2, 1, 0, 1]  # R4 started the week before: not first-time
    assert [c["counts"] for c in result["cohorts"]] == [[2, 1, 1, 1], [1, 1, 0], [0, 0], [1]]
    assert result["cohorts"][0]["rates"] == [1.0, 0.5, 0.5, 0.5]


def test_retention_recurring_and_event_filters(cohort_store):
    result = retention_matrix(cohort_store, RetentionSpec(periods=4, end=END, mode="recurring"))
    assert [c["size"] for c in result["cohorts"]] == [2, 3, 2, 2]
    assert [c["counts"] for c in result["cohorts"]] == [[2, 1, 1, 1], [3, 1, 1], [2, 0], [2]]
    purchases = retention_matrix(cohort_store, RetentionSpec(periods=4, end=END, start_event="purchase",
                                                             return_event="purchase"))
    assert [c["counts"] for c in purchases["cohorts"]] == [[2, 1, 1, 1], [1, 1, 0], [0, 0], [1]]
    nothing = retention_matrix(cohort_store, RetentionSpec(periods=4, end=END, return_event="checkout"))
    assert [c["counts"] for c in nothing["cohorts"]] == [[0, 0, 0, 0], [0, 0, 0], [0, 0], [0]]


def test_retention_monthly(cohort_store):
    result = retention_matrix(cohort_store, RetentionSpec(period="month", periods=2, end=END))
    # February: nobody (R4's first event is Tue 2026-02-24 -> February cohort), March: R1, R2, R3, R5.
    assert [(c["period"], c["size"], c["counts"]) for c in result["cohorts"]] == [
        ("2026-02-01", 1, [1, 1]), ("2026-03-01", 4, [4]),
    ]


def test_lifecycle_weekly(cohort_store):
    result = lifecycle(cohort_store, LifecycleSpec(periods=4, end=END))
    assert result["periods"] == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]
    assert result["series"] == {
        "new": [2, 1, 0, 1],
        "returning": [0, 1, 1, 0],
        "resurrecting": [0, 1, 1, 1],
        "dormant": [-1, -1, -2, -2],
    }


# --- RFM ---------------------------------------------------------------------------------------------
AS_OF = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def rfm_store(db):
    """Five buyers with distinct recency/frequency/monetary ranks, a cancelled order and a prospect."""
    store = StoreFactory(slug="rfm", timezone="UTC")
    plan = {  # name: (orders, total per order, last order date)
        "K1": (5, Decimal("100.00"), datetime(2026, 3, 31, tzinfo=UTC)),
        "K2": (4, Decimal("100.00"), datetime(2026, 1, 1, tzinfo=UTC)),
        "K3": (1, Decimal("50.00"), datetime(2026, 3, 30, tzinfo=UTC)),
        "K4": (2, Decimal("50.00"), datetime(2026, 2, 1, tzinfo=UTC)),
        "K5": (3, Decimal("100.00"), datetime(2026, 3, 1, tzinfo=UTC)),
    }
    number = 0
    for name, (n, total, last) in plan.items():
        customer = CustomerFactory(store=store, external_id=name, name=f"Customer {name}")
        for i in range(n):
            number += 1
            Order.objects.create(store=store, customer=customer, number=str(number), placed_at=last - timedelta(days=i),
                                 total=total, status=OrderStatus.PAID)
    k3 = store_customer(store, "K3")
    Order.objects.create(store=store, customer=k3, number="cancelled", placed_at=AS_OF - timedelta(hours=1),
                         total=Decimal("999.00"), status=OrderStatus.CANCELLED)
    CustomerFactory(store=store, external_id="K6")  # no orders: a prospect
    return store


def store_customer(store, external_id):
    from ecomops.models import Customer

    return Customer.objects.for_store(store).get(external_id=external_id)


def test_rfm_grid_covers_every_cell_once():
    assert {GRID[r][fm] for r in range(1, 6) for fm in range(1, 6)} == {key for key, _ in SEGMENTS}
    assert len(SEGMENTS) == 11


def test_rfm_scores_and_groups(rfm_store):
    customers = {c["external_id"]: c for c in rfm_customers(rfm_store, RfmSpec(as_of=AS_OF), limit=100)}
    scores = {name: (c["r"], c["f"], c["m"], c["segment"]) for name, c in customers.items()}
    assert scores == {
        "K1": (5, 5, 5, "champions"),  # latest, most orders, most money
        "K2": (1, 4, 4, "cannot_lose_them"),  # oldest last order but a big spender
        "K3": (4, 1, 1, "promising"),  # recent single small order (the cancelled one does not count)
        "K4": (2, 2, 2, "hibernating"),
        "K5": (3, 3, 3, "need_attention"),
    }
    for r, f, m, segment in scores.values():
        assert rfm_segment_of(r, f, m) == segment
    assert [c["external_id"] for c in rfm_customers(rfm_store, RfmSpec(as_of=AS_OF), segment="champions")] == ["K1"]


def test_rfm_table_counts_and_revenue_share(rfm_store):
    table = rfm_table(rfm_store, RfmSpec(as_of=AS_OF))
    assert table["customers"] == 5 and table["prospects"] == 1
    assert table["revenue"] == "1350.00"
    by_key = {s["key"]: s for s in table["segments"]}
    assert by_key["champions"]["customers"] == 1
    assert by_key["champions"]["revenue"] == "500.00"
    assert by_key["champions"]["revenue_share"] == pytest.approx(500 / 1350)
    assert by_key["cannot_lose_them"]["revenue_share"] == pytest.approx(400 / 1350)
    assert by_key["loyal"]["customers"] == 0
    assert sum(s["customers"] for s in table["segments"]) == 5
    assert sum(sum(row) for row in table["grid"]["counts"]) == 5


def test_rfm_ties_share_a_score(db):
    store = StoreFactory(slug="ties")
    when = datetime(2026, 3, 1, tzinfo=UTC)
    for i in range(4):
        customer = CustomerFactory(store=store, external_id=f"T{i}")
        Order.objects.create(store=store, customer=customer, number=f"T{i}", placed_at=when, total=Decimal("10"))
    rows = rfm_customers(store, RfmSpec(as_of=AS_OF))
    assert {(row["r"], row["f"], row["m"]) for row in rows} == {(1, 1, 1)}
    assert {row["segment"] for row in rows} == {"lost"}


def test_range_bounds_are_start_inclusive_end_exclusive(funnel_store):
    # Every first view is exactly at T0: a range starting at T0 includes them, one ending at T0 does not.
    assert counts(funnel_conversion(funnel_store, spec(start=T0))) == [5, 4, 3, 2]
    assert counts(funnel_conversion(funnel_store, spec(end=T0))) == [0, 0, 0, 0]
    trends = event_trends(funnel_store, start=T0, end=T0 + timedelta(minutes=1))
    assert sum(trends["events"]["view"]) == 6  # A..E and the anonymous session, all at T0
