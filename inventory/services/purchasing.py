"""Suppliers, supply terms, and purchase orders: suggest (a draft per supplier), edit, approve, export, receive."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ecomops.models import Product, Store
from inventory import selectors
from inventory.models import (
    InventorySettings,
    ProductSupply,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
)
from inventory.services.stock import stock_receive

MAX_QUANTITY = 10**7


def settings_update(*, store: Store, **values) -> InventorySettings:
    """Update the store's planning settings; field errors for values out of range (lead time <= 0 included)."""
    config = InventorySettings.objects.for_store(store).first() or InventorySettings(store=store)
    allowed = {"service_level", "default_lead_time_days", "review_period_days", "overstock_days", "horizon_days",
               "nightly_forecast"}
    for key, value in values.items():
        if key not in allowed:
            raise ValidationError({key: "Unknown setting."})
        if value is not None:
            setattr(config, key, value)
    config.full_clean(exclude=["store"])
    config.save()
    return config


def supplier_create(*, store: Store, name: str, lead_time_days: int, email: str = "") -> Supplier:
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "This field is required."
    elif Supplier.objects.for_store(store).filter(name=name).exists():
        errors["name"] = "A supplier with this name exists."
    if not isinstance(lead_time_days, int) or lead_time_days <= 0:
        errors["lead_time_days"] = "Lead time must be at least 1 day."
    if errors:
        raise ValidationError(errors)
    supplier = Supplier(store=store, name=name[:200], lead_time_days=lead_time_days, email=email or "")
    supplier.full_clean(exclude=["store"])
    supplier.save()
    return supplier


def supply_set(*, store: Store, sku: str, supplier: Supplier | None, lead_time_days: int | None = None,
               unit_cost: Decimal | None = None, pack_size: int = 1, min_order_qty: int = 0) -> ProductSupply:
    product = Product.objects.for_store(store).filter(sku=sku).first()
    errors = {}
    if product is None:
        errors["sku"] = f"Unknown sku {sku[:100]!r} in this store."
    if lead_time_days is not None and lead_time_days <= 0:
        errors["lead_time_days"] = "Lead time must be at least 1 day."
    if pack_size < 1:
        errors["pack_size"] = "At least 1."
    if unit_cost is not None and unit_cost < 0:
        errors["unit_cost"] = "Cannot be negative."
    if errors:
        raise ValidationError(errors)
    supply, _ = ProductSupply.objects.update_or_create(
        store=store, product=product,
        defaults={"supplier": supplier, "lead_time_days": lead_time_days, "unit_cost": unit_cost,
                  "pack_size": pack_size, "min_order_qty": min_order_qty},
    )
    return supply


def _next_number(store: Store) -> str:
    count = PurchaseOrder.objects.for_store(store).count() + 1
    while True:
        number = f"PO-{count:05d}"
        if not PurchaseOrder.objects.for_store(store).filter(number=number).exists():
            return number
        count += 1


@dataclass
class Suggestion:
    orders: list[PurchaseOrder] = field(default_factory=list)
    without_supplier: list[str] = field(default_factory=list)  # skus to order that have no supplier yet


def purchase_orders_suggest(*, store: Store) -> Suggestion:
    """A draft purchase order per supplier holding every product the plan says to order now.

    An existing draft of that supplier is rewritten (suggestions replace suggestions; approved orders stay)."""
    lists = selectors.reorder_lists(store)
    by_supplier: dict[int, list] = {}
    result = Suggestion()
    for row in lists["order_now"]:
        if row.plan.suggested_qty <= 0:
            continue
        if row.supplier is None:
            result.without_supplier.append(row.product.sku)
            continue
        by_supplier.setdefault(row.supplier.pk, []).append(row)
    with transaction.atomic():
        for rows in by_supplier.values():
            supplier = rows[0].supplier
            po = PurchaseOrder.objects.for_store(store).filter(supplier=supplier, status=PurchaseOrderStatus.DRAFT).first()
            if po is None:
                po = PurchaseOrder.objects.create(
                    store=store, supplier=supplier, number=_next_number(store),
                    expected_on=selectors.store_today(store) + timedelta(days=supplier.lead_time_days),
                    note="Suggested from the demand forecast",
                )
            else:
                po.lines.all().delete()
            PurchaseOrderLine.objects.bulk_create([
                PurchaseOrderLine(store=store, purchase_order=po, product=r.product, quantity=r.plan.suggested_qty,
                                  unit_cost=r.unit_cost) for r in rows
            ])
            result.orders.append(po)
    return result


def purchase_order_create(*, store: Store, supplier: Supplier, lines: list[dict], note: str = "") -> PurchaseOrder:
    with transaction.atomic():
        po = PurchaseOrder.objects.create(store=store, supplier=supplier, number=_next_number(store), note=note[:2000],
                                          expected_on=selectors.store_today(store) + timedelta(days=supplier.lead_time_days))
        purchase_order_lines_set(purchase_order=po, lines=lines)
    return po


def _require(po: PurchaseOrder, *statuses: str, action: str) -> None:
    if po.status not in statuses:
        raise ValidationError({"status": f"Cannot {action} a purchase order that is {po.status}."})


def purchase_order_lines_set(*, purchase_order: PurchaseOrder, lines: list[dict]) -> PurchaseOrder:
    """Replace a draft's lines with [{sku, quantity, unit_cost?}]; quantity 0 drops a line."""
    po = purchase_order
    _require(po, PurchaseOrderStatus.DRAFT, action="edit")
    store = po.store
    skus = [str(line.get("sku") or "") for line in lines]
    products = {p.sku: p for p in Product.objects.for_store(store).filter(sku__in=skus)}
    errors, new = [], []
    for n, line in enumerate(lines):
        e = {}
        sku = str(line.get("sku") or "")
        if sku not in products:
            e["sku"] = f"Unknown sku {sku[:100]!r} in this store."
        qty = line.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 0 <= qty <= MAX_QUANTITY:
            e["quantity"] = f"A whole number from 0 to {MAX_QUANTITY}."
        cost = line.get("unit_cost")
        if cost not in (None, ""):
            try:
                cost = Decimal(str(cost))
                if not cost.is_finite() or cost < 0 or cost >= Decimal("1e10"):
                    raise InvalidOperation
            except InvalidOperation:
                e["unit_cost"] = "A non-negative amount."
        else:
            cost = None
        if e:
            errors.append({"line": n, **e})
        elif qty > 0:
            new.append(PurchaseOrderLine(store=store, purchase_order=po, product=products[sku], quantity=qty,
                                         unit_cost=cost))
    if len({line.product_id for line in new}) != len(new):
        errors.append({"sku": "Each product may appear once."})
    if errors:
        raise ValidationError({"lines": [str(e) for e in errors]})
    with transaction.atomic():
        po.lines.all().delete()
        PurchaseOrderLine.objects.bulk_create(new)
    return po


def purchase_order_approve(*, purchase_order: PurchaseOrder, user=None) -> PurchaseOrder:
    po = purchase_order
    _require(po, PurchaseOrderStatus.DRAFT, action="approve")
    if not po.lines.exists():
        raise ValidationError({"lines": "A purchase order needs at least one line to be approved."})
    po.status, po.approved_at, po.approved_by = PurchaseOrderStatus.APPROVED, timezone.now(), user
    po.save(update_fields=["status", "approved_at", "approved_by"])
    return po


def purchase_order_cancel(*, purchase_order: PurchaseOrder) -> PurchaseOrder:
    po = purchase_order
    _require(po, PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.APPROVED, action="cancel")
    po.status = PurchaseOrderStatus.CANCELLED
    po.save(update_fields=["status"])
    return po


def purchase_order_receive(*, purchase_order: PurchaseOrder, quantities: dict[str, int] | None = None) -> PurchaseOrder:
    """Receive an approved order into stock: every line in full, or `quantities` {sku: units} as counted."""
    po = purchase_order
    _require(po, PurchaseOrderStatus.APPROVED, action="receive")
    lines = list(po.lines.select_related("product"))
    quantities = quantities or {}
    unknown = [s for s in quantities if s not in {line.product.sku for line in lines}]
    if unknown:
        raise ValidationError({"quantities": f"Not on this order: {', '.join(unknown)[:200]}"})
    bad = [s for s, q in quantities.items() if isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= MAX_QUANTITY]
    if bad:
        raise ValidationError({"quantities": f"Whole numbers from 0 to {MAX_QUANTITY} (bad: {', '.join(bad)[:200]})."})
    with transaction.atomic():
        for line in lines:
            qty = quantities.get(line.product.sku, line.quantity) if quantities else line.quantity
            if qty > 0:
                stock_receive(store=po.store, product=line.product, quantity=qty, reference=po.number)
            line.received_quantity = qty
            line.save(update_fields=["received_quantity"])
        po.status, po.received_at = PurchaseOrderStatus.RECEIVED, timezone.now()
        po.save(update_fields=["status", "received_at"])
    return po


def _csv_cell(value) -> str:
    # A cell a spreadsheet would run as a formula is quoted as text (CSV injection).
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def purchase_order_csv(*, purchase_order: PurchaseOrder) -> str:
    po = purchase_order
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["po_number", "supplier", "status", "sku", "title", "quantity", "unit_cost", "line_total",
                     "currency"])
    currency = po.store.currency
    for line in po.lines.select_related("product"):
        total = line.quantity * line.unit_cost if line.unit_cost is not None else ""
        writer.writerow([_csv_cell(v) for v in (po.number, po.supplier.name, po.status, line.product.sku,
                                                 line.product.title, line.quantity, line.unit_cost, total, currency)])
    return buffer.getvalue()
