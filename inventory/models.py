"""What inventory stores: suppliers and per-product supply terms, stock over time (snapshots and movements),
versioned demand forecasts, purchase orders, and KPI anomalies."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ecomops.models.scoped import StoreOwned


class InventorySettings(StoreOwned):
    """Per-store planning knobs a merchant sets."""

    service_level = models.FloatField(default=0.95, validators=[MinValueValidator(0.5), MaxValueValidator(0.999)],
                                      help_text="Chance of not running out during a replenishment cycle")
    default_lead_time_days = models.PositiveIntegerField(default=14, validators=[MinValueValidator(1)])
    review_period_days = models.PositiveIntegerField(default=7)
    overstock_days = models.PositiveIntegerField(default=120, help_text="Days of cover above which stock is overstock")
    horizon_days = models.PositiveIntegerField(default=28, validators=[MinValueValidator(7), MaxValueValidator(90)])
    nightly_forecast = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store"], name="invsettings_unique_store")]

    def __str__(self) -> str:
        return f"inventory settings of store {self.store_id}"


class Supplier(StoreOwned):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    lead_time_days = models.PositiveIntegerField(default=14, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="supplier_unique_store_name")]

    def __str__(self) -> str:
        return self.name


class ProductSupply(StoreOwned):
    """How one product is bought: from whom, how fast, in what packs, at what cost."""

    product = models.ForeignKey("ecomops.Product", on_delete=models.CASCADE, related_name="+")
    supplier = models.ForeignKey(Supplier, on_delete=models.SET_NULL, null=True, blank=True, related_name="supplies")
    lead_time_days = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)],
                                                 help_text="Overrides the supplier's lead time")
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    pack_size = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    min_order_qty = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "product"], name="productsupply_unique_product")]

    def __str__(self) -> str:
        return f"supply of {self.product_id}"


class StockSource(models.TextChoices):
    IMPORT = "import", "Import"
    API = "api", "API"
    RECEIPT = "receipt", "Purchase order received"
    ADJUSTMENT = "adjustment", "Adjustment"


class StockLevel(StoreOwned):
    """Units on hand of one product at the end of one day. A day without a row carries the last known level."""

    product = models.ForeignKey("ecomops.Product", on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    on_hand = models.IntegerField(validators=[MinValueValidator(0)])
    source = models.CharField(max_length=16, choices=StockSource.choices, default=StockSource.IMPORT)
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "date"]
        constraints = [
            models.UniqueConstraint(fields=["store", "product", "date"], name="stocklevel_unique_day"),
            models.CheckConstraint(condition=models.Q(on_hand__gte=0), name="stocklevel_on_hand_nonnegative"),
        ]
        indexes = [models.Index(fields=["store", "date"], name="stocklevel_store_date")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.date}: {self.on_hand}"


class StockMovement(StoreOwned):
    """A change of stock with its reason (a receipt, an adjustment)."""

    product = models.ForeignKey("ecomops.Product", on_delete=models.CASCADE, related_name="+")
    occurred_at = models.DateTimeField()
    quantity = models.IntegerField(help_text="Signed: receipts positive")
    source = models.CharField(max_length=16, choices=StockSource.choices)
    reference = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["store", "product", "occurred_at"], name="stockmove_store_product")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.quantity:+d} ({self.source})"


class ForecastStatus(models.TextChoices):
    TRAINING = "training", "Training"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ForecastVersion(StoreOwned):
    """One forecasting run for a store; the newest ready version is the one pages and plans use."""

    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ForecastStatus.choices, default=ForecastStatus.TRAINING)
    horizon_days = models.PositiveIntegerField(default=28)
    level = models.PositiveIntegerField(default=80)
    history_start = models.DateField(null=True, blank=True)
    history_end = models.DateField(null=True, blank=True, help_text="Last day of history; forecasts start the day after")
    params = models.JSONField(default=dict, blank=True)
    stats = models.JSONField(default=dict, blank=True, help_text="series, models chosen, seconds")
    error = models.TextField(blank=True)
    job = models.ForeignKey("ecomops.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["store", "version"], name="forecastversion_unique_version")]

    def __str__(self) -> str:
        return f"forecast v{self.version}"


class ForecastScope(models.TextChoices):
    PRODUCT = "product", "Product"
    CATEGORY = "category", "Category (bottom-up)"
    STORE = "store", "Store total (bottom-up)"
    KPI = "kpi", "Store KPI"


class DemandForecast(StoreOwned):
    """The forecast of one series in one version: daily mean and interval from the day after `history_end`."""

    version = models.ForeignKey(ForecastVersion, on_delete=models.CASCADE, related_name="forecasts")
    scope = models.CharField(max_length=16, choices=ForecastScope.choices)
    key = models.CharField(max_length=300, help_text="sku, category, 'store', or the KPI name")
    product = models.ForeignKey("ecomops.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    model_name = models.CharField(max_length=100, blank=True, help_text="The model, or the models averaged (a+b+c)")
    method = models.CharField(max_length=32, blank=True)
    start_date = models.DateField()
    mean = models.JSONField(default=list)
    lo = models.JSONField(default=list)
    hi = models.JSONField(default=list)
    velocity = models.FloatField(default=0.0)
    stockout_days = models.PositiveIntegerField(default=0)
    history = models.JSONField(default=list, blank=True, help_text="The last days of history, for the chart")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "scope", "key"], name="demandforecast_unique_key")]
        indexes = [models.Index(fields=["store", "scope", "product"], name="demandforecast_store_product")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} v{self.version_id}"


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft (suggested, editable)"
    APPROVED = "approved", "Approved"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class PurchaseOrder(StoreOwned):
    number = models.CharField(max_length=32)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=16, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT)
    note = models.TextField(blank=True)
    expected_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["store", "number"], name="purchaseorder_unique_number")]

    def __str__(self) -> str:
        return self.number

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines.all())

    @property
    def total(self) -> Decimal:
        return sum((line.quantity * (line.unit_cost or Decimal("0")) for line in self.lines.all()), Decimal("0"))


class PurchaseOrderLine(StoreOwned):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("ecomops.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    received_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["purchase_order", "product"], name="poline_unique_product")]

    def __str__(self) -> str:
        return f"{self.purchase_order_id}: {self.quantity} x {self.product_id}"

    @property
    def line_total(self) -> Decimal | None:
        return None if self.unit_cost is None else self.quantity * self.unit_cost


class KpiMetric(models.TextChoices):
    REVENUE = "revenue", "Revenue"
    ORDERS = "orders", "Orders"
    CONVERSION = "conversion", "Conversion rate"


class KpiAnomaly(StoreOwned):
    """A day whose KPI fell outside its forecast interval (after hysteresis)."""

    metric = models.CharField(max_length=16, choices=KpiMetric.choices)
    date = models.DateField()
    direction = models.CharField(max_length=8)  # above | below
    actual = models.FloatField()
    expected = models.FloatField()
    lo = models.FloatField()
    hi = models.FloatField()
    size = models.FloatField(help_text="(actual - expected) / expected")
    reason = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "metric"]
        constraints = [models.UniqueConstraint(fields=["store", "metric", "date"], name="kpianomaly_unique_day")]

    def __str__(self) -> str:
        return f"{self.metric} {self.date} {self.direction}"

    def shown(self, value: float, *, count: bool = False) -> str:
        """A value of this metric as a person reads it: conversion as a percentage, money with cents, an order
        count as a whole number (`count`) and its expected range with one decimal."""
        if self.metric == KpiMetric.CONVERSION:
            return f"{value:.2%}"
        if self.metric == KpiMetric.ORDERS:
            return f"{value:,.0f}" if count else f"{value:,.1f}"
        return f"{value:,.2f}"

    @property
    def shown_values(self) -> dict[str, str]:
        return {k: self.shown(getattr(self, k), count=k == "actual") for k in ("actual", "expected", "lo", "hi")}
