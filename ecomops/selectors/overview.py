"""Overview KPIs: revenue, orders, AOV, conversion rate, active customers, for a period vs the previous one.

Closed days come from DailyStoreStats (refreshed by the kpi_rollup job); days without a rollup row, and today,
are aggregated live. Everything is a database aggregate.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from ecomops.models import DailyStoreStats, Order, Store
from ecomops.models.orders import REVENUE_STATUSES
from ecomops.services.rollups import daily_kpis_live, store_day_bounds


@dataclass(frozen=True)
class PeriodKpis:
    start: date
    end: date
    revenue: Decimal
    orders: int
    average_order_value: Decimal
    sessions: int
    converted_sessions: int
    conversion_rate: float
    active_customers: int


def store_today(store: Store) -> date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(store.timezone)).date()


def daily_series(store: Store, start: date, end: date) -> dict[date, dict]:
    """Per-day KPIs for start..end: rollups where present (except today), live aggregates for the rest."""
    today = store_today(store)
    rollups = {
        row["date"]: row
        for row in DailyStoreStats.objects.for_store(store)
        .filter(date__gte=start, date__lte=end, date__lt=today)
        .values("date", "revenue", "orders", "sessions", "converted_sessions", "events")
    }
    days: dict[date, dict] = {day: dict(row) for day, row in rollups.items()}
    # Rollups write a row for every day they cover, so missing days are recent ones (and today).
    missing = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    missing = [day for day in missing if day not in rollups]
    if missing:
        for day, values in daily_kpis_live(store, min(missing), max(missing)).items():
            if day not in rollups:
                days[day] = values
    return days


def period_kpis(store: Store, start: date, end: date) -> PeriodKpis:
    days = daily_series(store, start, end)
    revenue = sum((d["revenue"] or Decimal("0") for d in days.values()), Decimal("0"))
    orders = sum(d["orders"] for d in days.values())
    sessions = sum(d["sessions"] for d in days.values())
    converted = sum(d["converted_sessions"] for d in days.values())
    lo, hi = store_day_bounds(store, start, end)
    active = (
        Order.objects.for_store(store)
        .filter(placed_at__gte=lo, placed_at__lt=hi, status__in=REVENUE_STATUSES)
        .aggregate(n=Count("customer_id", distinct=True))["n"]
    )
    return PeriodKpis(
        start=start,
        end=end,
        revenue=revenue.quantize(Decimal("0.01")),
        orders=orders,
        average_order_value=(revenue / orders).quantize(Decimal("0.01")) if orders else Decimal("0.00"),
        sessions=sessions,
        converted_sessions=converted,
        conversion_rate=(converted / sessions) if sessions else 0.0,
        active_customers=active or 0,
    )


def overview(store: Store, *, days: int = 30, end: date | None = None) -> dict:
    """The Overview page: this period, the previous one of the same length, and the daily revenue series."""
    end = end or store_today(store)
    start = end - timedelta(days=days - 1)
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=days - 1)
    current = period_kpis(store, start, end)
    previous = period_kpis(store, prev_start, prev_end)
    series = daily_series(store, start, end)
    dates = [start + timedelta(days=i) for i in range(days)]
    return {
        "current": current,
        "previous": previous,
        "series": {
            "dates": [d.isoformat() for d in dates],
            "revenue": [float(series.get(d, {}).get("revenue") or 0) for d in dates],
            "orders": [series.get(d, {}).get("orders", 0) for d in dates],
        },
    }


def change_ratio(current, previous) -> float | None:
    """Relative change, None when the previous value is zero (no meaningful percentage)."""
    if not previous:
        return None
    return float(current - previous) / float(previous)


def revenue_total(store: Store) -> Decimal:
    return (
        Order.objects.for_store(store).filter(status__in=REVENUE_STATUSES).aggregate(s=Sum("total"))["s"]
        or Decimal("0")
    )
