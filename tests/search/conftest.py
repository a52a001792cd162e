"""A small catalogue in two stores, indexed with the real MiniLM (tests using `indexed` are marked slow)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from ecomops.models import ProductStatus
from search.selectors import vector_cache_clear
from search.services import search_reindex
from tests.factories import ProductFactory

CATALOG = [
    # sku, title, brand, category, price, stock, attributes, status
    ("EAR-B", "Auralis Compact Earbuds, black", "Auralis", "Electronics > Audio", "79.00", 5, {"colour": "black"}, "active"),
    ("EAR-W", "Auralis Compact Earbuds, white", "Auralis", "Electronics > Audio", "79.00", 5, {"colour": "white"}, "active"),
    ("EAR-P", "Pulse Audio Pro Earbuds, sand", "Pulse Audio", "Electronics > Audio", "39.00", 0, {"colour": "sand"}, "active"),
    ("HP-B", "Auralis Wireless headphones, black", "Auralis", "Electronics > Audio", "199.00", 3, {"colour": "black"}, "active"),
    ("SPK-G", "Pulse Audio Bluetooth speaker, graphite", "Pulse Audio", "Electronics > Audio", "59.00", 8, {"colour": "graphite"}, "active"),
    ("TS-B", "Northline Classic T-shirt, black", "Northline", "Apparel > Tops", "19.00", 20, {"colour": "black", "size": "M"}, "active"),
    ("TS-N", "Northline Classic T-shirt, navy", "Northline", "Apparel > Tops", "19.00", 20, {"colour": "navy", "size": "L"}, "active"),
    ("HO-O", "Kestrel Relaxed Hoodie, olive", "Kestrel", "Apparel > Tops", "59.00", 4, {"colour": "olive"}, "active"),
    ("KET-1", "Copperleaf Kettle 1.7 l, steel", "Copperleaf", "Home > Kitchen", "49.00", 6, {"material": "stainless steel"}, "active"),
    ("KET-2", "Oakhearth Kettle, cream", "Oakhearth", "Home > Kitchen", "35.00", 2, {"colour": "cream"}, "active"),
    ("KB-8", "Summit Supply Kettlebell 8 kg", "Summit Supply", "Sports > Fitness", "29.00", 9, {"weight": "8 kg"}, "active"),
    ("KB-16", "Summit Supply Kettlebell 16 kg", "Summit Supply", "Sports > Fitness", "49.00", 9, {"weight": "16 kg"}, "active"),
    ("MUG-1", "Brightware Stoneware mug, cobalt", "Brightware", "Home > Kitchen", "12.00", 30, {"colour": "cobalt"}, "active"),
    ("YM-1", "Stride Co. Yoga mat, teal", "Stride Co.", "Sports > Fitness", "39.00", 7, {"colour": "teal"}, "active"),
    ("DRAFT-1", "Auralis Prototype Earbuds, black", "Auralis", "Electronics > Audio", "99.00", 0, {"colour": "black"}, "draft"),
]


def catalog_create(store, rows=CATALOG):
    return [ProductFactory(store=store, sku=sku, title=title, brand=brand, category=category, price=Decimal(price),
                           stock=stock, attributes=attributes, status=ProductStatus(status), description="")
            for sku, title, brand, category, price, stock, attributes, status in rows]


@pytest.fixture
def indexed(store, other_store):
    """Both stores' catalogues indexed; the rival store sells black earbuds too (isolation checks)."""
    catalog_create(store)
    catalog_create(other_store, [
        ("R-EAR", "Rival Earbuds, black", "Rival", "Electronics > Audio", "9.00", 50, {"colour": "black"}, "active"),
        ("R-KET", "Rival Kettle, black", "Rival", "Home > Kitchen", "9.00", 50, {"colour": "black"}, "active"),
    ])
    search_reindex(store=store)
    search_reindex(store=other_store)
    yield store
    vector_cache_clear()


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()  # throttle counters: this session's own Redis db
    yield
