"""Single-event writes for the API. Batches go through ecomops.services.ingest (the bulk endpoint, importers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError

from ecomops.models import Customer, Event, Product, Store


def event_create(
    *,
    store: Store,
    type: str,
    occurred_at: datetime,
    customer: Customer | None = None,
    session_id: str = "",
    product: Product | None = None,
    properties: dict[str, Any] | None = None,
) -> Event:
    """Record one behaviour event. Anonymous events need a session id; referenced rows must be this store's."""
    errors: dict[str, list[str]] = {}
    if customer is None and not session_id:
        errors["session_id"] = ["An event needs a customer or a session_id."]
    for name, obj in (("customer", customer), ("product", product)):
        if obj is not None and obj.store_id != store.pk:
            errors[name] = [f"Unknown {name} in this store."]
    if errors:
        raise ValidationError(errors)
    return Event.objects.create(
        store=store,
        type=type,
        occurred_at=occurred_at,
        customer=customer,
        session_id=session_id,
        product=product,
        properties=properties or {},
    )
