"""Attribute clicks and purchases to served lists.

A click is a view of a listed product by the same customer within 24 hours after the list was served; a
purchase is a purchase event or paid order line of a listed product within 7 days. Only lists served to a
known customer can be attributed; each impression is attributed once, after its 7-day window closed or on
demand (then re-checked until the window closes).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ecomops.models import Event, EventType, OrderLine, Store
from recommender.models import RecommendationImpression

CLICK_WINDOW = timedelta(hours=24)
PURCHASE_WINDOW = timedelta(days=7)


def impressions_attribute(*, store: Store, limit: int = 5000) -> int:
    """Mark clicked/purchased on recent customer impressions. Returns how many were examined."""
    now = timezone.now()
    pending = list(
        RecommendationImpression.objects.for_store(store)
        .filter(customer__isnull=False, created_at__gte=now - timedelta(days=30))
        .filter(attributed_at__isnull=True)
        .order_by("created_at")[:limit]
    )
    if not pending:
        return 0
    customers = {imp.customer_id for imp in pending}
    start = min(imp.created_at for imp in pending)
    events: dict[int, list[tuple]] = {}
    for cid, pid, kind, at in (
        Event.objects.for_store(store)
        .filter(customer_id__in=customers, occurred_at__gte=start, type__in=[EventType.VIEW, EventType.PURCHASE])
        .values_list("customer_id", "product_id", "type", "occurred_at")
    ):
        events.setdefault(cid, []).append((pid, kind, at))
    for cid, pid, at in (
        OrderLine.objects.for_store(store)
        .filter(order__customer_id__in=customers, order__placed_at__gte=start)
        .values_list("order__customer_id", "product_id", "order__placed_at")
    ):
        events.setdefault(cid, []).append((pid, EventType.PURCHASE, at))
    with transaction.atomic():
        for imp in pending:
            listed = set(imp.product_ids)
            clicked = purchased = False
            for pid, kind, at in events.get(imp.customer_id, []):
                if pid not in listed or at < imp.created_at:
                    continue
                if kind == EventType.VIEW and at <= imp.created_at + CLICK_WINDOW:
                    clicked = True
                if kind == EventType.PURCHASE and at <= imp.created_at + PURCHASE_WINDOW:
                    purchased = clicked = True  # a purchase implies the list was acted on
            imp.clicked, imp.purchased = clicked, purchased
            if now >= imp.created_at + PURCHASE_WINDOW:
                imp.attributed_at = now
        RecommendationImpression.objects.bulk_update(pending, ["clicked", "purchased", "attributed_at"])
    return len(pending)
