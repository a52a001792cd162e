"""Daily KPI rollups: per-store, per local day revenue, orders, sessions, converted sessions and events.

All aggregation happens in the database (GROUP BY on the store-local date); Python only writes the results.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from ecomops.models import DailyStoreStats, Event, EventType, Order, Store
from ecomops.models.orders import REVENUE_STATUSES


def store_day_bounds(store: Store, start: date, end: date) -> tuple[datetime, datetime]:
    """UTC-aware instants for [start 00:00, end+1 00:00) in the store's time zone."""
    tz = zoneinfo.ZoneInfo(store.timezone)
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def daily_kpis_live(store: Store, start: date, end: date) -> dict[date, dict]:
    """Aggregate the raw tables for the local days start..end inclusive (one query per table)."""
    tz = zoneinfo.ZoneInfo(store.timezone)
    lo, hi = store_day_bounds(store, start, end)
    days: dict[date, dict] = {}

    order_rows = (
        Order.objects.for_store(store)
        .filter(placed_at__gte=lo, placed_at__lt=hi, status__in=REVENUE_STATUSES)
        .annotate(day=TruncDate("placed_at", tzinfo=tz))
        .values("day")
        .annotate(revenue=Sum("total"), orders=Count("id"))
    )
    for row in order_rows:
        days.setdefault(row["day"], _empty())
        days[row["day"]].update(revenue=row["revenue"] or Decimal("0"), orders=row["orders"])

    event_rows = (
        Event.objects.for_store(store)
        .filter(occurred_at__gte=lo, occurred_at__lt=hi)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("day")
        .annotate(
            events=Count("id"),
            sessions=Count("session_id", distinct=True, filter=~Q(session_id="")),
            converted_sessions=Count(
                "session_id", distinct=True, filter=Q(type=EventType.PURCHASE) & ~Q(session_id="")
            ),
        )
    )
    for row in event_rows:
        days.setdefault(row["day"], _empty())
        days[row["day"]].update(
            events=row["events"], sessions=row["sessions"], converted_sessions=row["converted_sessions"]
        )
    return days


def _empty() -> dict:
    return {"revenue": Decimal("0"), "orders": 0, "sessions": 0, "converted_sessions": 0, "events": 0}


def store_activity_range(store: Store) -> tuple[date, date] | None:
    """First and last local day with any order or event."""
    tz = zoneinfo.ZoneInfo(store.timezone)
    bounds = []
    for qs, field in ((Order.objects.for_store(store), "placed_at"), (Event.objects.for_store(store), "occurred_at")):
        first = qs.order_by(field).values_list(field, flat=True).first()
        last = qs.order_by(f"-{field}").values_list(field, flat=True).first()
        if first and last:
            bounds += [first, last]
    if not bounds:
        return None
    return min(bounds).astimezone(tz).date(), max(bounds).astimezone(tz).date()


# An explicit range is at most ten years (a store's whole history, the default, is bounded by its data).
ROLLUP_MAX_DAYS = 3660


def rollups_refresh(
    *,
    store: Store,
    start: date | None = None,
    end: date | None = None,
    chunk_days: int = 31,
    on_progress: Callable[[int, str], None] | None = None,
) -> dict:
    """Recompute DailyStoreStats for start..end (default: the store's whole history).

    The raw tables are aggregated chunk by chunk (progress after each, where a cancel lands); the rows are
    written at the end in one transaction, so a cancelled or failed refresh leaves the old rollups untouched."""
    explicit = start is not None or end is not None
    if start is None or end is None:
        activity = store_activity_range(store)
        if activity is None:
            return {"days": 0, "chunks": 0}
        start = start or activity[0]
        end = end or activity[1]
    if end < start:
        raise ValueError(f"The end date {end} is before the start date {start}.")
    total_days = (end - start).days + 1
    if explicit and total_days > ROLLUP_MAX_DAYS:
        raise ValueError(f"At most {ROLLUP_MAX_DAYS} days per rollup; this range has {total_days}.")
    chunks = (total_days + chunk_days - 1) // chunk_days
    written = 0
    rows: list[DailyStoreStats] = []
    for index in range(chunks):
        chunk_start = start + timedelta(days=index * chunk_days)
        chunk_end = min(end, chunk_start + timedelta(days=chunk_days - 1))
        days = daily_kpis_live(store, chunk_start, chunk_end)
        # One row per day, zero days included, so readers can tell "no activity" from "not rolled up".
        span = [chunk_start + timedelta(days=i) for i in range((chunk_end - chunk_start).days + 1)]
        rows += [DailyStoreStats(store=store, date=day, **days.get(day, _empty())) for day in span]
        written += len(days)
        if on_progress:
            on_progress(
                int(100 * (index + 1) / chunks),
                f"Rolled up {chunk_start:%Y-%m-%d} to {chunk_end:%Y-%m-%d} ({written} active days so far)",
            )
    with transaction.atomic():
        DailyStoreStats.objects.for_store(store).filter(date__gte=start, date__lte=end).delete()
        DailyStoreStats.objects.bulk_create(rows, batch_size=2000)
    return {"start": start.isoformat(), "end": end.isoformat(), "days": written, "chunks": chunks}
