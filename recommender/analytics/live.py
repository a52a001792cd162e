"""Live counters (events per minute, active sessions, revenue today) pushed over the store's websocket.

`on_events_ingested(store_id)` is the hook the ingest path calls after new events are written. It is rate-limited
to one broadcast per store per `LIVE_MIN_INTERVAL_SECONDS` with an atomic cache add (Redis SET NX), so a burst of
ingest calls costs one snapshot query set and one websocket message per second at most. The Analytics page also
re-reads /analytics/live every 30 s as a fallback for the last burst inside a rate-limit window.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.utils import timezone

from ecomops.models import Event, Order, Store
from ecomops.models.orders import REVENUE_STATUSES
from ecomops.realtime import store_broadcast

from .cache import analytics_cache_invalidate
from .sql import Query, epoch, fetch_all, floor_div

logger = logging.getLogger(__name__)

LIVE_MESSAGE_TYPE = "analytics.live"
LIVE_MIN_INTERVAL_SECONDS = 1
ACTIVE_SESSION_MINUTES = 30
SERIES_MINUTES = 30


def analytics_live_snapshot(store: Store, *, now: datetime | None = None) -> dict:
    """Counters for the live panel; a handful of indexed range aggregates on (store, occurred_at)/(store, placed_at)."""
    now = now or timezone.now()
    events = Event.objects.for_store(store)
    recent = events.filter(occurred_at__gt=now - timedelta(minutes=ACTIVE_SESSION_MINUTES), occurred_at__lte=now)
    counts = recent.aggregate(
        last_minute=Count("id", filter=Q(occurred_at__gt=now - timedelta(minutes=1))),
        active_sessions=Count("session_id", distinct=True, filter=~Q(session_id="")),
    )
    tz = zoneinfo.ZoneInfo(store.timezone)
    day_start = datetime.combine(now.astimezone(tz).date(), time.min, tzinfo=tz)
    today = (
        Order.objects.for_store(store)
        .filter(placed_at__gte=day_start, placed_at__lte=now, status__in=REVENUE_STATUSES)
        .aggregate(revenue=Sum("total"), orders=Count("id"))
    )
    # Events per minute for the last 30 minutes (oldest first), bucketed in SQL.
    start = now - timedelta(minutes=SERIES_MINUTES)
    q = Query().add(
        f"SELECT {floor_div(epoch('e.occurred_at') + ' - %s', 60)} AS m, COUNT(*) FROM ecomops_event e"
        " WHERE e.store_id = %s AND e.occurred_at > %s AND e.occurred_at <= %s GROUP BY 1",
        start.timestamp(),
        store.pk,
        start,
        now,
    )
    per_minute = [0] * SERIES_MINUTES
    for minute, n in fetch_all(q):
        if minute is not None and 0 <= minute < SERIES_MINUTES:
            per_minute[minute] += n
    revenue = (today["revenue"] or Decimal("0")).quantize(Decimal("0.01"))
    return {
        "as_of": now.isoformat(),
        "events_last_minute": counts["last_minute"],
        "events_per_minute": per_minute,
        "active_sessions": counts["active_sessions"],
        "revenue_today": str(revenue),
        "orders_today": today["orders"],
        "currency": store.currency,
    }


def analytics_live_broadcast(store: Store, *, on_commit: bool = True) -> dict:
    """Compute the snapshot and push it as `analytics.live` to the store's websocket group."""
    snapshot = analytics_live_snapshot(store)
    store_broadcast(store.pk, LIVE_MESSAGE_TYPE, {"live": snapshot}, on_commit=on_commit)
    return snapshot


def _throttle_key(store_id: int) -> str:
    return f"analytics:live:throttle:{store_id}"


def on_events_ingested(store_id: int) -> bool:
    """The ingest hook: broadcast fresh live counters unless one went out in the last second. Never raises.

    Call it after the events are committed (e.g. inside `transaction.on_commit`), once per ingest batch; call it
    after orders are ingested too (it also invalidates the cached reports, RFM included).
    Returns True when a broadcast was sent.
    """
    try:
        analytics_cache_invalidate(store_id)  # cached reports must see the new events
        if not cache.add(_throttle_key(store_id), 1, timeout=LIVE_MIN_INTERVAL_SECONDS):
            return False
        store = Store.objects.filter(pk=store_id).first()
        if store is None:
            return False
        analytics_live_broadcast(store, on_commit=True)
        return True
    except Exception:  # live counters are best-effort; ingest must never fail because of them
        logger.exception("analytics live broadcast for store %s failed", store_id)
        return False
