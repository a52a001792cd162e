"""Input and output serializers of the inventory API (explicit per operation, STYLE.md §9)."""

from __future__ import annotations

from rest_framework import serializers

MAX_BATCH = 5000


class StockLevelIn(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    date = serializers.DateField()
    on_hand = serializers.IntegerField(min_value=0, max_value=10**9)


class StockLevelBatchIn(serializers.Serializer):
    levels = StockLevelIn(many=True, allow_empty=False, max_length=MAX_BATCH)


class StockLevelOut(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    date = serializers.DateField()
    on_hand = serializers.IntegerField()
    source = serializers.CharField()


class StockLevelQuery(serializers.Serializer):
    sku = serializers.CharField(max_length=100, required=False)


class ForecastOut(serializers.Serializer):
    scope = serializers.CharField()
    key = serializers.CharField()
    model_name = serializers.CharField()
    method = serializers.CharField()
    start_date = serializers.DateField()
    mean = serializers.ListField(child=serializers.FloatField())
    lo = serializers.ListField(child=serializers.FloatField())
    hi = serializers.ListField(child=serializers.FloatField())
    velocity = serializers.FloatField()
    stockout_days = serializers.IntegerField()
    level = serializers.IntegerField(source="version.level")
    version = serializers.IntegerField(source="version.version")


class ProductForecastOut(serializers.Serializer):
    sku = serializers.CharField()
    on_hand = serializers.IntegerField()
    forecast = ForecastOut(allow_null=True, help_text="null until a forecast version covers the product")


class ForecastQuery(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["product", "category", "store", "kpi"], default="product")


class ForecastVersionOut(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.CharField()
    horizon_days = serializers.IntegerField()
    level = serializers.IntegerField()
    history_start = serializers.DateField(allow_null=True)
    history_end = serializers.DateField(allow_null=True)
    stats = serializers.JSONField()
    error = serializers.CharField()
    job_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    trained_at = serializers.DateTimeField(allow_null=True)


class ReorderRowOut(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    title = serializers.CharField(source="product.title")
    supplier = serializers.CharField(source="supplier.name", allow_null=True, default=None)
    on_hand = serializers.IntegerField()
    on_order = serializers.IntegerField()
    lead_time_days = serializers.IntegerField()
    velocity = serializers.FloatField()
    forecast_28 = serializers.FloatField()
    safety_stock = serializers.FloatField(source="plan.safety_stock")
    reorder_point = serializers.FloatField(source="plan.reorder_point")
    order_now = serializers.BooleanField(source="plan.order_now")
    suggested_qty = serializers.IntegerField(source="plan.suggested_qty")
    days_of_cover = serializers.FloatField(source="plan.days_of_cover", allow_null=True)
    stockout_in_days = serializers.IntegerField(source="plan.stockout_in_days", allow_null=True)


class ReorderListsOut(serializers.Serializer):
    order_now = ReorderRowOut(many=True)
    stockout_soon = ReorderRowOut(many=True)
    overstocked = ReorderRowOut(many=True)


class SettingsIO(serializers.Serializer):
    service_level = serializers.FloatField(min_value=0.5, max_value=0.999, required=False)
    default_lead_time_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    review_period_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    overstock_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    horizon_days = serializers.IntegerField(min_value=7, max_value=90, required=False)
    nightly_forecast = serializers.BooleanField(required=False)


class SupplierIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    lead_time_days = serializers.IntegerField(min_value=1, max_value=365)


class SupplierOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    lead_time_days = serializers.IntegerField()


class SupplyIn(serializers.Serializer):
    supplier_id = serializers.IntegerField(required=False, allow_null=True)
    lead_time_days = serializers.IntegerField(min_value=1, max_value=365, required=False, allow_null=True)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True)
    pack_size = serializers.IntegerField(min_value=1, max_value=100000, default=1)
    min_order_qty = serializers.IntegerField(min_value=0, max_value=10**7, default=0)


class POLineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    quantity = serializers.IntegerField(min_value=0, max_value=10**7)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True)


class POLinesIn(serializers.Serializer):
    lines = POLineIn(many=True, max_length=2000)


class POCreateIn(POLinesIn):
    supplier_id = serializers.IntegerField()
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class POReceiveIn(serializers.Serializer):
    quantities = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=10**7), required=False,
                                       help_text="sku -> units counted; omitted: every line in full")


class POLineOut(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    title = serializers.CharField(source="product.title")
    quantity = serializers.IntegerField()
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    received_quantity = serializers.IntegerField()


class POOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    supplier = SupplierOut()
    status = serializers.CharField()
    note = serializers.CharField()
    expected_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    total = serializers.DecimalField(max_digits=16, decimal_places=2)
    lines = POLineOut(many=True)


class AnomalyOut(serializers.Serializer):
    metric = serializers.CharField()
    date = serializers.DateField()
    direction = serializers.CharField()
    actual = serializers.FloatField()
    expected = serializers.FloatField()
    lo = serializers.FloatField()
    hi = serializers.FloatField()
    size = serializers.FloatField()
    reason = serializers.CharField()


class SuggestOut(serializers.Serializer):
    orders = POOut(many=True)
    without_supplier = serializers.ListField(child=serializers.CharField())
