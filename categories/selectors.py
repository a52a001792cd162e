"""Reads of suggestions and models, always scoped to a store (STYLE.md §2)."""

from __future__ import annotations

from django.db.models import QuerySet

from categories.models import AttributeSuggestion, CategoryModel, CategorySuggestion, SuggestionStatus
from ecomops.models import Product, Store


def current_model(store: Store) -> CategoryModel | None:
    return CategoryModel.objects.for_store(store).order_by("-created_at").first()


def category_suggestions(store: Store, *, status: str | None = SuggestionStatus.PENDING,
                         min_confidence: float | None = None, reason: str | None = None) -> QuerySet:
    qs = CategorySuggestion.objects.for_store(store).select_related("product", "decided_by")
    if status:
        qs = qs.filter(status=status)
    if min_confidence is not None:
        qs = qs.filter(confidence__gte=min_confidence)
    if reason:
        qs = qs.filter(reason=reason)
    return qs.order_by("-confidence", "pk")


def attribute_suggestions(store: Store, *, status: str | None = SuggestionStatus.PENDING,
                          min_confidence: float | None = None, name: str | None = None) -> QuerySet:
    qs = AttributeSuggestion.objects.for_store(store).select_related("product", "decided_by")
    if status:
        qs = qs.filter(status=status)
    if min_confidence is not None:
        qs = qs.filter(confidence__gte=min_confidence)
    if name:
        qs = qs.filter(name=name)
    return qs.order_by("-confidence", "product__title", "name", "pk")


def product_suggestions(store: Store, product: Product) -> dict:
    """The pending suggestions of one product (the product page's panel)."""
    return {
        "category": category_suggestions(store).filter(product=product).first(),
        "attributes": list(attribute_suggestions(store).filter(product=product)),
    }


def labelled_products(store: Store) -> QuerySet:
    return Product.objects.for_store(store).exclude(category="").order_by("pk")
