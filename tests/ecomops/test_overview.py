"""Rollups and the Overview selector on a tiny hand-made store in New York time.

Period under test: 2026-03-04 .. 2026-03-10 (local), previous: 2026-02-25 .. 2026-03-03.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ecomops.models import DailyStoreStats, EventType, OrderStatus
from ecomops.selectors.overview import change_ratio, overview
from ecomops.services.rollups import rollups_refresh
from tests.factories import CustomerFactory, EventFactory, OrderFactory, StoreFactory

pytestmark = [pytest.mark.quick, pytest.mark.django_db]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def shop():
    store = StoreFactory(slug="ny", timezone="America/New_York", currency="USD")
    c1, c2, c3 = (CustomerFactory(store=store) for _ in range(3))

    def order(customer, total, at, status=OrderStatus.PAID):
        return OrderFactory(store=store, customer=customer, total=Decimal(total), subtotal=Decimal(total),
                            placed_at=at, status=status)

    order(c1, "100.00", utc(2026, 3, 5, 15))
    # New York switched to daylight time (UTC-4) on 2026-03-08; before that it is UTC-5.
    order(c2, "50.50", utc(2026, 3, 11, 3, 30), OrderStatus.DELIVERED)  # 23:30 EDT on Mar 10
    order(c1, "20.00", utc(2026, 3, 11, 4, 30))  # 00:30 EDT on Mar 11: after the period
    order(c3, "999.00", utc(2026, 3, 6, 12), OrderStatus.CANCELLED)  # not revenue
    order(c3, "40.00", utc(2026, 3, 4, 4))  # 23:00 EST on Mar 3: previous period

    def event(session, etype, at):
        EventFactory(store=store, customer=None, session_id=session, type=etype, occurred_at=at)

    event("s1", EventType.VIEW, utc(2026, 3, 5, 14))
    event("s1", EventType.PURCHASE, utc(2026, 3, 5, 15))
    event("s2", EventType.VIEW, utc(2026, 3, 6, 12))
    event("s3", EventType.VIEW, utc(2026, 3, 8, 12))
    event("s4", EventType.VIEW, utc(2026, 3, 11, 3))  # Mar 10 local
    event("s4", EventType.PURCHASE, utc(2026, 3, 11, 3, 30))
    event("p1", EventType.VIEW, utc(2026, 2, 26, 18))
    event("p2", EventType.VIEW, utc(2026, 3, 1, 18))
    event("p3", EventType.PURCHASE, utc(2026, 3, 4, 4))  # Mar 3 local
    return store


def assert_expected(data):
    cur, prev = data["current"], data["previous"]
    assert (cur.start, cur.end, prev.start, prev.end) == (
        date(2026, 3, 4), date(2026, 3, 10), date(2026, 2, 25), date(2026, 3, 3))
    assert cur.revenue == Decimal("150.50") and cur.orders == 2
    assert cur.average_order_value == Decimal("75.25")
    assert (cur.sessions, cur.converted_sessions, cur.conversion_rate) == (4, 2, 0.5)
    assert cur.active_customers == 2
    assert prev.revenue == Decimal("40.00") and prev.orders == 1 and prev.average_order_value == Decimal("40.00")
    assert (prev.sessions, prev.converted_sessions) == (3, 1)
    assert prev.conversion_rate == pytest.approx(1 / 3)
    assert prev.active_customers == 1
    series = data["series"]
    assert series["dates"][0] == "2026-03-04" and series["dates"][-1] == "2026-03-10"
    assert series["revenue"] == [0.0, 100.0, 0.0, 0.0, 0.0, 0.0, 50.5]
    assert series["orders"] == [0, 1, 0, 0, 0, 0, 1]


def test_overview_live_aggregates_in_store_time(shop):
    assert not DailyStoreStats.objects.exists()
    assert_expected(overview(shop, days=7, end=date(2026, 3, 10)))


def test_rollups_write_local_days_and_overview_reads_them(shop):
    result = rollups_refresh(store=shop)
    assert result["start"] == "2026-02-26" and result["end"] == "2026-03-11"
    rows = {r.date: r for r in DailyStoreStats.objects.for_store(shop)}
    assert len(rows) == 14  # zero days included
    assert rows[date(2026, 3, 10)].revenue == Decimal("50.50")
    assert rows[date(2026, 3, 11)].revenue == Decimal("20.00")
    assert rows[date(2026, 3, 6)].orders == 0  # the cancelled order is not revenue
    assert rows[date(2026, 3, 5)].converted_sessions == 1
    assert_expected(overview(shop, days=7, end=date(2026, 3, 10)))

    # Closed days come from the rollup: a late-arriving order shows after the next refresh.
    OrderFactory(store=shop, customer=CustomerFactory(store=shop), total=Decimal("10.00"), placed_at=utc(2026, 3, 5, 16))
    assert overview(shop, days=7, end=date(2026, 3, 10))["current"].revenue == Decimal("150.50")
    rollups_refresh(store=shop, start=date(2026, 3, 5), end=date(2026, 3, 5))
    refreshed = overview(shop, days=7, end=date(2026, 3, 10))["current"]
    assert refreshed.revenue == Decimal("160.50") and refreshed.orders == 3 and refreshed.active_customers == 3


def test_rollups_refuse_an_inverted_range(shop):
    with pytest.raises(ValueError, match="before the start date"):
        rollups_refresh(store=shop, start=date(2026, 3, 5), end=date(2026, 3, 1))


def test_change_ratio():
    assert change_ratio(Decimal("150.50"), Decimal("40")) == pytest.approx(2.7625)
    assert change_ratio(5, 0) is None


def test_overview_page_shows_the_figures(client, shop):
    from tests.factories import MembershipFactory

    client.force_login(MembershipFactory(store=shop).user)
    response = client.get(f"/stores/{shop.slug}/?days=30")
    assert response.status_code == 200
    assert b"revenue-series" in response.content and b"Average order value" in response.content
