"""Categories fixtures: a store with three clearly different categories of products (and some without one)."""

from __future__ import annotations

import pytest

from categories.models import AttributeSuggestion, CategorySuggestion, SuggestionReason, SuggestionSource
from tests.factories import ProductFactory

COLOURS = ["black", "white", "navy blue", "red", "grey", "green", "beige", "pink"]
CATALOGUE = {
    "Footwear > Running Shoes": ["Trail running shoes", "Cushioned road running shoe", "Lightweight racing flats",
                                 "Breathable mesh running sneakers", "Marathon running trainers"],
    "Kitchen > Kettles": ["Electric kettle with auto shut-off", "Stainless steel cordless kettle",
                          "Glass electric water kettle", "Gooseneck pour-over kettle", "Rapid boil electric kettle"],
    "Audio > Headphones": ["Wireless over-ear headphones", "Noise cancelling bluetooth headphones",
                           "Studio monitor headphones", "Foldable wired headphones", "Kids volume-limited headphones"],
}
DESCRIPTIONS = {
    "Footwear > Running Shoes": "A responsive foam midsole and grippy rubber outsole for daily runs.",
    "Kitchen > Kettles": "Boils water quickly for tea and coffee, with a limescale filter.",
    "Audio > Headphones": "Soft ear cushions and rich bass for music, calls and podcasts.",
}


def make_catalogue(store, *, per_category: int = 12, prefix: str = "P"):
    """per_category products in each category (titles vary by colour and model line)."""
    products = []
    n = 0
    for category, titles in CATALOGUE.items():
        for i in range(per_category):
            title = f"{titles[i % len(titles)].capitalize()} {COLOURS[i % len(COLOURS)]} model {i}"
            products.append(ProductFactory(store=store, sku=f"{prefix}-{n:04d}", title=title, brand="Acme",
                                           category=category, description=DESCRIPTIONS[category], attributes={}))
            n += 1
    return products


@pytest.fixture
def catalogue(store):
    return make_catalogue(store)


def category_suggestion(product, path="Kitchen > Kettles", confidence=0.95, **kw) -> CategorySuggestion:
    return CategorySuggestion.objects.create(
        store=product.store, product=product, path=path, confidence=confidence, current_category=product.category,
        reason=kw.pop("reason", SuggestionReason.MISSING), source=kw.pop("source", SuggestionSource.STORE), **kw)


def attribute_suggestion(product, name="colour", value="black", confidence=0.9, **kw) -> AttributeSuggestion:
    return AttributeSuggestion.objects.create(store=product.store, product=product, name=name, value=value,
                                              confidence=confidence, evidence=value, **kw)
