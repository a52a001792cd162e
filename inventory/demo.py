"""Demo rows for seed_demo: suppliers, supply terms, and stock history with stock-out spells.

Stock-out spells are placed on runs of at least a week without sales of a product that does sell, so the demo's
order history stays consistent with them (nothing is sold while the shelf is empty)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import numpy as np

from ecomops.models import Product, Store
from inventory import selectors
from inventory.models import ProductSupply, StockLevel, StockSource, Supplier

SUPPLIERS = (("Northwind Wholesale", 7), ("Harbor Supply Co.", 14), ("Far East Trading", 35))


def seed_inventory_demo(store: Store, rng: random.Random) -> str:
    suppliers = [Supplier.objects.get_or_create(store=store, name=name, defaults={"lead_time_days": lead})[0]
                 for name, lead in SUPPLIERS]
    products = list(Product.objects.for_store(store).order_by("pk"))
    supplies = []
    for product in products:
        supplies.append(ProductSupply(
            store=store, product=product, supplier=suppliers[rng.randrange(len(suppliers))],
            unit_cost=(product.price * Decimal("0.45")).quantize(Decimal("0.01")), pack_size=rng.choice((1, 1, 6, 12)),
        ))
    ProductSupply.objects.bulk_create(supplies, ignore_conflicts=True)
    end = selectors.store_today(store)
    history = selectors.demand_history(store, end=end, days=180, products=products)
    levels, spells = [], 0
    for i, product in enumerate(products):
        levels.append(StockLevel(store=store, product=product, date=end, on_hand=max(0, product.stock),
                                 source=StockSource.IMPORT))
        sold = history.units[i]
        if sold.sum() < 3 or rng.random() > 0.3:
            continue
        zero_runs = np.flatnonzero(np.convolve(sold == 0, np.ones(7, dtype=int), mode="valid") == 7)
        zero_runs = zero_runs[zero_runs < len(sold) - 14]
        if len(zero_runs) == 0:
            continue
        start = int(zero_runs[rng.randrange(len(zero_runs))])
        out_day = history.start + timedelta(days=start)
        levels.append(StockLevel(store=store, product=product, date=out_day, on_hand=0, source=StockSource.IMPORT))
        levels.append(StockLevel(store=store, product=product, date=out_day + timedelta(days=7),
                                 on_hand=max(1, product.stock), source=StockSource.IMPORT))
        spells += 1
    StockLevel.objects.bulk_create(levels, ignore_conflicts=True)
    return f"{len(suppliers)} suppliers, {len(supplies)} supply terms, {len(levels)} stock levels ({spells} stock-out spells)"
