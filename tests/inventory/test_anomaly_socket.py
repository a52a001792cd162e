"""KPI anomaly alerts over the store socket (issue 13): the daily check of store A reaches A's live socket (real
Channels + Redis channel layer) and never store B's, and one noisy day inside the checked window raises nothing.

The KPI history is real orders through the real check (`kpi_anomalies_check`: statsforecast models, 80% intervals,
`detect_anomalies`' hysteresis); nothing is mocked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections

from ecomops.models import Product
from inventory.ml.anomaly import detect_anomalies
from inventory.ml.forecast import FULL_MODELS, SeriesInput, forecast_many
from inventory.models import KpiAnomaly
from inventory.selectors import store_today
from inventory.services.anomalies import CHECK_DAYS, kpi_anomalies_check, kpi_series
from tests.ecomops.test_live_socket import communicator_for, next_of_type
from tests.factories import CustomerFactory, MembershipFactory, ProductFactory, StoreFactory
from tests.inventory.conftest import add_sales

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.slow]

HISTORY_DAYS = 150


@pytest.fixture(autouse=True)
async def close_thread_connections():
    yield
    await sync_to_async(connections.close_all, thread_sensitive=True)()


def selling_store(slug: str, units, *, days_before_yesterday: int = 0):
    """A store whose only product sells `units[i]` on day i (the last day is yesterday, or that many days before
    it), one order a day."""
    store = StoreFactory(slug=slug, name=slug.title())
    owner = MembershipFactory(store=store).user
    product = ProductFactory(store=store, sku=f"{slug.upper()}-1", price=Decimal("10.00"), stock=500)
    end = store_today(store) - timedelta(days=1 + days_before_yesterday)
    add_sales(store, product, units, customer=CustomerFactory(store=store), end=end)
    return store, owner


def steady_units(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(20, HISTORY_DAYS).clip(1, None)


async def test_an_anomaly_of_store_a_reaches_a_socket_and_not_b_socket():
    units_a = steady_units(1)
    units_a[-2:] = 2  # revenue collapses for the last two days (−90%)
    store_a, owner_a = await database_sync_to_async(selling_store)("shop-a", units_a)
    store_b, owner_b = await database_sync_to_async(selling_store)("shop-b", steady_units(2))

    sock_a, sock_b = communicator_for(owner_a, store_a.slug), communicator_for(owner_b, store_b.slug)
    for sock in (sock_a, sock_b):
        assert (await sock.connect())[0]
        assert (await sock.receive_json_from())["type"] == "hello"

    created = await database_sync_to_async(kpi_anomalies_check)(store=store_a)
    assert any(a.metric == "revenue" and a.direction == "below" for a in created), created

    message = await next_of_type(sock_a, "inventory.anomaly", timeout=10)
    anomaly = message["anomaly"]
    yesterday = await database_sync_to_async(store_today)(store_a) - timedelta(days=1)
    assert anomaly["metric"] in ("revenue", "orders", "conversion")
    revenue = [a for a in created if a.metric == "revenue"]
    assert anomaly["date"] in {a.date.isoformat() for a in created}
    assert revenue[-1].date in (yesterday, yesterday - timedelta(days=1))
    assert revenue[-1].actual == pytest.approx(20.0) and revenue[-1].size < -0.5

    # store B's socket hears nothing of it, and B has no anomaly rows
    assert await sock_b.receive_nothing(timeout=1.0)
    assert not await database_sync_to_async(lambda: KpiAnomaly.objects.filter(store=store_b).exists())()
    for sock in (sock_a, sock_b):
        await sock.disconnect()


def noisy_day_store():
    """Steady history; the checked window sits at the forecast, except one day just below its 80% interval (out,
    but by less than the interval's half-width: not a 'large' excursion). Returns (store, owner, day, lo)."""
    units = steady_units(3)
    store, owner = selling_store("noisy", [int(u) for u in units[:-CHECK_DAYS]], days_before_yesterday=CHECK_DAYS)
    end = store_today(store) - timedelta(days=1)
    history = kpi_series(store, end=end - timedelta(days=CHECK_DAYS))
    fc = {f.key: f for f in forecast_many([SeriesInput(key=k, y=y) for k, y in history.items()],
                                          horizon=CHECK_DAYS, folds=3, models=FULL_MODELS, ets_max_adi=None)}
    revenue = fc["revenue"]
    window = np.round(revenue.mean / 10).clip(1, None).astype(int)  # units per day at the forecast (price 10)
    noisy = CHECK_DAYS - 4
    half = revenue.mean[noisy] - revenue.lo[noisy]
    window[noisy] = int(np.floor((revenue.lo[noisy] - 0.3 * half) / 10))  # below lo, by ~0.3 half-widths
    product = Product.objects.get(store=store)
    add_sales(store, product, [int(u) for u in window], end=end)
    # without hysteresis (one day out is enough) this window alerts on exactly the noisy day
    naive = detect_anomalies(window * 10.0, revenue.mean, revenue.lo, revenue.hi, consecutive=1)
    assert [a.index for a in naive] == [noisy], naive
    return store, owner, end - timedelta(days=CHECK_DAYS - 1 - noisy), float(revenue.lo[noisy]), float(window[noisy])


async def test_one_noisy_day_raises_no_alert_and_nothing_reaches_the_socket():
    store, owner, day, lo, units = await database_sync_to_async(noisy_day_store)()
    assert units * 10 < lo  # the day really is outside its interval: without hysteresis it would alert

    sock = communicator_for(owner, store.slug)
    assert (await sock.connect())[0]
    await sock.receive_json_from()  # hello
    created = await database_sync_to_async(kpi_anomalies_check)(store=store)
    assert [a for a in created if a.metric == "revenue"] == []
    assert await sock.receive_nothing(timeout=1.0)
    await sock.disconnect()
