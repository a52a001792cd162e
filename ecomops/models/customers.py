from __future__ import annotations

from django.db import models

from .scoped import StoreOwned


class Customer(StoreOwned):
    external_id = models.CharField(max_length=100, help_text="The merchant's own customer id")
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="customer_unique_store_external_id")
        ]
        indexes = [models.Index(fields=["store", "email"], name="customer_store_email")]
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id
