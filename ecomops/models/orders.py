from __future__ import annotations

from decimal import Decimal

from django.db import models

from .scoped import StoreOwned


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


# Orders in these states count as revenue.
REVENUE_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)


class Order(StoreOwned):
    customer = models.ForeignKey("ecomops.Customer", on_delete=models.PROTECT, related_name="orders")
    number = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PAID)
    placed_at = models.DateTimeField()
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    shipping = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    shipping_address = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "number"], name="order_unique_store_number")]
        indexes = [
            models.Index(fields=["store", "placed_at"], name="order_store_placed"),
            models.Index(fields=["store", "customer", "placed_at"], name="order_store_customer_placed"),
        ]
        ordering = ["-placed_at"]

    def __str__(self) -> str:
        return self.number


class OrderLine(StoreOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("ecomops.Product", on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["store", "product"], name="orderline_store_product")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.quantity} x {self.product_id}"
