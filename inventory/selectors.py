"""Reads of inventory, always scoped to one store: demand history, stock over time, forecasts, reorder lists."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db.models import F, Sum
from django.db.models.functions import TruncDate

from ecomops.models import OrderLine, Product, Store
from ecomops.models.orders import REVENUE_STATUSES
from inventory.ml.reorder import ReorderInputs, ReorderPlan, reorder_plan
from inventory.models import (
    DemandForecast,
    ForecastScope,
    ForecastStatus,
    ForecastVersion,
    InventorySettings,
    KpiAnomaly,
    ProductSupply,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockLevel,
    Supplier,
)


def settings_for(store: Store) -> InventorySettings:
    """The store's planning settings; unsaved defaults when it never set any."""
    return InventorySettings.objects.for_store(store).first() or InventorySettings(store=store)


def latest_version(store: Store) -> ForecastVersion | None:
    return ForecastVersion.objects.for_store(store).filter(status=ForecastStatus.READY).order_by("-version").first()


def forecast_versions(store: Store):
    return ForecastVersion.objects.for_store(store).order_by("-version")


def product_forecast(store: Store, product: Product) -> DemandForecast | None:
    version = latest_version(store)
    if version is None:
        return None
    return DemandForecast.objects.for_store(store).filter(version=version, scope=ForecastScope.PRODUCT,
                                                          product=product).first()


def forecasts_of(store: Store, version: ForecastVersion, scope: str):
    return DemandForecast.objects.for_store(store).filter(version=version, scope=scope)


def suppliers(store: Store):
    return Supplier.objects.for_store(store).order_by("name")


def supplier_get(store: Store, pk: int) -> Supplier | None:
    return Supplier.objects.for_store(store).filter(pk=pk).first()


def purchase_orders(store: Store):
    return PurchaseOrder.objects.for_store(store).select_related("supplier").prefetch_related("lines__product")


def purchase_order_get(store: Store, pk: int) -> PurchaseOrder | None:
    return purchase_orders(store).filter(pk=pk).first()


def recent_anomalies(store: Store, *, days: int = 7, today: date | None = None):
    today = today or store_today(store)
    return KpiAnomaly.objects.for_store(store).filter(date__gte=today - timedelta(days=days)).order_by("-date", "metric")


def store_today(store: Store) -> date:
    from django.utils import timezone

    return timezone.now().astimezone(zoneinfo.ZoneInfo(store.timezone)).date()


# --- demand and stock history --------------------------------------------------------------------------------


@dataclass
class DemandHistory:
    products: list[Product]
    start: date
    end: date
    units: np.ndarray  # products x days
    revenue: np.ndarray  # products x days
    in_stock: np.ndarray  # products x days, False on stock-out days

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def demand_history(store: Store, *, end: date, days: int = 365, products: list[Product] | None = None) -> DemandHistory:
    """Units and revenue per product and local day from paid/shipped/delivered order lines, and stock-out days.

    A stock-out day is a day whose known stock level (the latest snapshot on or before it) is 0; products with no
    snapshot at all count as in stock. Days before a product's first sale or snapshot are still part of its
    history (zeros): a young product's short life is the model's business, not hidden here."""
    start = end - timedelta(days=days - 1)
    tz = zoneinfo.ZoneInfo(store.timezone)
    products = products if products is not None else list(Product.objects.for_store(store).order_by("pk"))
    index = {p.pk: i for i, p in enumerate(products)}
    units = np.zeros((len(products), days))
    revenue = np.zeros((len(products), days))
    rows = (
        OrderLine.objects.for_store(store)
        .filter(order__status__in=REVENUE_STATUSES, order__placed_at__date__gte=start - timedelta(days=1),
                order__placed_at__date__lte=end + timedelta(days=1))
        .annotate(day=TruncDate("order__placed_at", tzinfo=tz))
        .values("product_id", "day")
        .annotate(units=Sum("quantity"), revenue=Sum("line_total"))
    )
    for row in rows:
        i = index.get(row["product_id"])
        d = (row["day"] - start).days
        if i is None or not 0 <= d < days:
            continue
        units[i, d] += row["units"]
        revenue[i, d] += float(row["revenue"])
    return DemandHistory(products=products, start=start, end=end, units=units, revenue=revenue,
                         in_stock=in_stock_matrix(store, products, start=start, end=end))


def in_stock_matrix(store: Store, products: list[Product], *, start: date, end: date) -> np.ndarray:
    days = (end - start).days + 1
    index = {p.pk: i for i, p in enumerate(products)}
    flags = np.ones((len(products), days), dtype=bool)
    levels: dict[int, list[tuple[date, int]]] = {}
    for product_id, day, on_hand in (
        StockLevel.objects.for_store(store).filter(product_id__in=index, date__lte=end)
        .order_by("product_id", "date").values_list("product_id", "date", "on_hand")
    ):
        levels.setdefault(product_id, []).append((day, on_hand))
    for product_id, snaps in levels.items():
        row = flags[index[product_id]]
        for n, (day, on_hand) in enumerate(snaps):
            until = snaps[n + 1][0] if n + 1 < len(snaps) else end + timedelta(days=1)
            a, b = max(0, (day - start).days), min(days, (until - start).days)
            if b > a:
                row[a:b] = on_hand > 0
    return flags


def stock_history(store: Store, product: Product, *, limit: int = 400):
    return StockLevel.objects.for_store(store).filter(product=product).order_by("-date")[:limit]


# --- reorder planning ----------------------------------------------------------------------------------------


@dataclass
class ReorderRow:
    product: Product
    supplier: Supplier | None
    on_hand: int
    on_order: int
    lead_time_days: int
    forecast_28: float
    velocity: float
    plan: ReorderPlan
    unit_cost: object
    stockout_on: date | None = None  # the day the forecast runs the shelf empty (None: not within the horizon)


def on_order_by_product(store: Store) -> dict[int, int]:
    rows = (
        PurchaseOrderLine.objects.for_store(store)
        .filter(purchase_order__status=PurchaseOrderStatus.APPROVED)
        .values("product_id").annotate(open=Sum(F("quantity") - F("received_quantity")))
    )
    return {r["product_id"]: int(r["open"] or 0) for r in rows}


def reorder_rows(store: Store) -> list[ReorderRow]:
    """A reorder plan for every product with a forecast in the latest version."""
    version = latest_version(store)
    if version is None:
        return []
    config = settings_for(store)
    supplies = {s.product_id: s for s in ProductSupply.objects.for_store(store).select_related("supplier")}
    on_order = on_order_by_product(store)
    out = []
    for fc in forecasts_of(store, version, ForecastScope.PRODUCT).select_related("product"):
        supply = supplies.get(fc.product_id)
        supplier = supply.supplier if supply else None
        lead = (supply.lead_time_days if supply and supply.lead_time_days else None) or (
            supplier.lead_time_days if supplier else config.default_lead_time_days)
        product = fc.product
        plan = reorder_plan(ReorderInputs(
            mean=np.asarray(fc.mean), lo=np.asarray(fc.lo), hi=np.asarray(fc.hi), level=version.level,
            on_hand=max(0, product.stock), on_order=on_order.get(product.pk, 0), lead_time_days=lead,
            review_period_days=config.review_period_days, service_level=config.service_level,
            pack_size=supply.pack_size if supply else 1, min_order_qty=supply.min_order_qty if supply else 0,
        ))
        # stockout_in_days counts from the forecast's first day: day N is the N-th day of the forecast
        stockout_on = (fc.start_date + timedelta(days=max(plan.stockout_in_days - 1, 0))
                       if plan.stockout_in_days is not None else None)
        out.append(ReorderRow(product=product, supplier=supplier, on_hand=max(0, product.stock),
                              on_order=on_order.get(product.pk, 0), lead_time_days=lead,
                              forecast_28=float(np.sum(fc.mean[:28])), velocity=fc.velocity, plan=plan,
                              unit_cost=supply.unit_cost if supply else None, stockout_on=stockout_on))
    return out


def reorder_lists(store: Store) -> dict[str, list[ReorderRow]]:
    """"order now" (position at or below the reorder point), "stock-out soon" (runs out within the horizon,
    soonest first) and "overstocked" (more days of cover than the store's overstock threshold)."""
    config = settings_for(store)
    rows = reorder_rows(store)
    order_now = sorted((r for r in rows if r.plan.order_now), key=lambda r: (r.plan.stockout_in_days is None,
                                                                            r.plan.stockout_in_days or 0))
    stockout = sorted((r for r in rows if r.plan.stockout_in_days is not None), key=lambda r: r.plan.stockout_in_days)
    overstocked = sorted(
        (r for r in rows if r.on_hand > 0 and (r.plan.days_of_cover is None or r.plan.days_of_cover > config.overstock_days)),
        key=lambda r: -(r.plan.days_of_cover or 1e9),
    )
    return {"order_now": order_now, "stockout_soon": stockout, "overstocked": overstocked, "all": rows}
