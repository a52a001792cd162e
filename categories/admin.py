from django.contrib import admin

from categories.models import AttributeSuggestion, CategoryModel, CategorySuggestion


@admin.register(CategoryModel)
class CategoryModelAdmin(admin.ModelAdmin):
    list_display = ("store", "source", "features", "threshold", "target_precision", "created_at")
    list_filter = ("source", "store")
    exclude = ("head",)
    readonly_fields = ("classes", "stats", "job")


@admin.register(CategorySuggestion)
class CategorySuggestionAdmin(admin.ModelAdmin):
    list_display = ("store", "product", "path", "confidence", "reason", "source", "status", "decided_by")
    list_filter = ("status", "reason", "source", "store")
    search_fields = ("product__title", "product__sku", "path")
    raw_id_fields = ("product", "model")


@admin.register(AttributeSuggestion)
class AttributeSuggestionAdmin(admin.ModelAdmin):
    list_display = ("store", "product", "name", "value", "confidence", "existing_value", "status", "decided_by")
    list_filter = ("status", "name", "store")
    search_fields = ("product__title", "product__sku", "value")
    raw_id_fields = ("product",)
