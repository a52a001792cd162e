"""Live analytics counters: the snapshot, and their push over the store websocket when events are ingested."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connections, transaction
from django.utils import timezone

from ecomops.models import Event, Order, OrderStatus
from ecomops.routing import websocket_urlpatterns
from recommender.analytics.live import LIVE_MESSAGE_TYPE, _throttle_key, analytics_live_snapshot, on_events_ingested
from tests.factories import CustomerFactory, MembershipFactory, StoreFactory

pytestmark = [pytest.mark.quick]


def add_events(store, *ages_and_sessions, customer=None):
    now = timezone.now()
    Event.objects.bulk_create([
        Event(store=store, customer=customer, session_id=session, type="view", occurred_at=now - age)
        for age, session in ages_and_sessions
    ])


@pytest.mark.django_db
def test_snapshot_counts_recent_events_sessions_and_todays_revenue(store):
    now = timezone.now()
    customer = CustomerFactory(store=store)
    add_events(store, (timedelta(seconds=20), "s1"), (timedelta(seconds=40), "s2"), (timedelta(minutes=5), "s1"),
               (timedelta(minutes=45), "s3"), customer=customer)
    Order.objects.create(store=store, customer=customer, number="T1", placed_at=now - timedelta(seconds=5),
                         total=Decimal("12.50"))
    Order.objects.create(store=store, customer=customer, number="T2", placed_at=now - timedelta(seconds=5),
                         total=Decimal("99.00"), status=OrderStatus.CANCELLED)
    other = StoreFactory(slug="other-live")
    add_events(other, (timedelta(seconds=10), "x"))
    snap = analytics_live_snapshot(store, now=now)
    assert snap["events_last_minute"] == 2
    assert snap["active_sessions"] == 2  # s3 was 45 minutes ago
    assert snap["revenue_today"] == "12.50" and snap["orders_today"] == 1
    assert len(snap["events_per_minute"]) == 30
    assert snap["events_per_minute"][-1] == 2 and snap["events_per_minute"][-5] + snap["events_per_minute"][-6] == 1
    assert sum(snap["events_per_minute"]) == 3


def communicator_for(user, slug):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{slug}/live/")
    communicator.scope["user"] = user
    return communicator


async def next_of_type(communicator, message_type, timeout=5.0):
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == message_type:
            return message


def ingest(store, *sessions):
    """What the ingest path does: write events in a transaction and call the hook after commit."""
    with transaction.atomic():
        add_events(store, *[(timedelta(seconds=1), s) for s in sessions])
        transaction.on_commit(lambda: on_events_ingested(store.pk))


@pytest.fixture
async def close_thread_connections():
    yield
    await sync_to_async(connections.close_all, thread_sensitive=True)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_ingested_events_update_live_counters_over_the_websocket(close_thread_connections):
    store = await database_sync_to_async(StoreFactory)(slug="live-analytics")
    other = await database_sync_to_async(StoreFactory)(slug="live-other")
    owner = await database_sync_to_async(lambda: MembershipFactory(store=store).user)()
    await sync_to_async(cache.delete_many)([_throttle_key(store.pk), _throttle_key(other.pk)])

    communicator = communicator_for(owner, store.slug)
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from())["type"] == "hello"

    await database_sync_to_async(ingest)(store, "a", "b")
    message = await next_of_type(communicator, LIVE_MESSAGE_TYPE)
    assert message["live"]["events_last_minute"] == 2 and message["live"]["active_sessions"] == 2

    # A second batch within the same second is rate-limited: no message...
    await database_sync_to_async(ingest)(store, "c")
    assert await communicator.receive_nothing(timeout=0.3)
    # ...another store's events never reach this socket...
    await database_sync_to_async(ingest)(other, "z")
    assert await communicator.receive_nothing(timeout=0.3)
    # ...and the next batch after the interval carries everything so far.
    await asyncio.sleep(1.1)
    await database_sync_to_async(ingest)(store, "d")
    message = await next_of_type(communicator, LIVE_MESSAGE_TYPE)
    assert message["live"]["events_last_minute"] == 4 and message["live"]["active_sessions"] == 4
    await communicator.disconnect()


@pytest.mark.django_db
def test_hook_is_rate_limited_and_never_raises(store):
    cache.delete(_throttle_key(store.pk))
    assert on_events_ingested(store.pk) is True
    assert on_events_ingested(store.pk) is False
    cache.delete(_throttle_key(987654))
    assert on_events_ingested(987654) is False  # no such store: nothing to send, no exception


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_real_ingest_service_triggers_the_push(close_thread_connections):
    from ecomops.services.ingest import events_bulk_ingest

    store = await database_sync_to_async(StoreFactory)(slug="live-ingest")
    owner = await database_sync_to_async(lambda: MembershipFactory(store=store).user)()
    await sync_to_async(cache.delete)(_throttle_key(store.pk))
    communicator = communicator_for(owner, store.slug)
    assert (await communicator.connect())[0]
    await communicator.receive_json_from()  # hello
    when = timezone.now().isoformat()
    rows = [{"session_id": f"api{i}", "type": "view", "occurred_at": when} for i in range(3)]
    await database_sync_to_async(events_bulk_ingest)(store=store, rows=rows)
    message = await next_of_type(communicator, LIVE_MESSAGE_TYPE)
    assert message["live"]["events_last_minute"] == 3 and message["live"]["active_sessions"] == 3
    await communicator.disconnect()
