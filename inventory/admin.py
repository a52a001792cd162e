from django.contrib import admin

from inventory.models import (
    DemandForecast,
    ForecastVersion,
    InventorySettings,
    KpiAnomaly,
    ProductSupply,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
    StockMovement,
    Supplier,
)


class POLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    raw_id_fields = ("product",)


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = ("number", "store", "supplier", "status", "created_at", "approved_at", "received_at")
    list_filter = ("status", "store")
    search_fields = ("number", "supplier__name")
    inlines = [POLineInline]


@admin.register(ForecastVersion)
class ForecastVersionAdmin(admin.ModelAdmin):
    list_display = ("store", "version", "status", "horizon_days", "history_end", "trained_at")
    list_filter = ("status", "store")


@admin.register(DemandForecast)
class DemandForecastAdmin(admin.ModelAdmin):
    list_display = ("store", "version", "scope", "key", "model_name", "velocity")
    list_filter = ("scope", "model_name")
    search_fields = ("key",)
    raw_id_fields = ("product", "version")


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ("store", "product", "date", "on_hand", "source")
    list_filter = ("source",)
    raw_id_fields = ("product",)


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = ("store", "product", "occurred_at", "quantity", "source", "reference")
    raw_id_fields = ("product",)


@admin.register(KpiAnomaly)
class KpiAnomalyAdmin(admin.ModelAdmin):
    list_display = ("store", "metric", "date", "direction", "actual", "expected", "size", "reason")
    list_filter = ("metric", "direction")


admin.site.register(Supplier)
admin.site.register(ProductSupply, raw_id_fields=("product",))
admin.site.register(InventorySettings)
