from __future__ import annotations

from django.db import models

from .scoped import StoreOwned


class EventType(models.TextChoices):
    VIEW = "view", "View"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    REMOVE_FROM_CART = "remove_from_cart", "Remove from cart"
    CHECKOUT = "checkout", "Checkout"
    PURCHASE = "purchase", "Purchase"
    SEARCH = "search", "Search"


class Event(StoreOwned):
    """One behaviour event. Millions per store: every read is a per-store time range, hence the indexes."""

    customer = models.ForeignKey(
        "ecomops.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    session_id = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=20, choices=EventType.choices)
    product = models.ForeignKey(
        "ecomops.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["store", "occurred_at"], name="event_store_time"),
            models.Index(fields=["store", "type", "occurred_at"], name="event_store_type_time"),
            models.Index(fields=["store", "customer", "occurred_at"], name="event_store_customer_time"),
            models.Index(fields=["store", "product", "occurred_at"], name="event_store_product_time"),
            models.Index(fields=["store", "session_id", "occurred_at"], name="event_store_session_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | ~models.Q(session_id=""),
                name="event_has_customer_or_session",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M}"
