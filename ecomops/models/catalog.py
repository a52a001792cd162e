from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from .scoped import StoreOwned


class ProductStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class Product(StoreOwned):
    sku = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    brand = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=300, blank=True, help_text="Category path, e.g. 'Apparel > Shoes'")
    price = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    attributes = models.JSONField(default=dict, blank=True, help_text="Attribute name -> value")
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    stock = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "sku"], name="product_unique_store_sku")]
        indexes = [
            models.Index(fields=["store", "status"], name="product_store_status"),
            models.Index(fields=["store", "category"], name="product_store_category"),
        ]
        ordering = ["title"]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"
