"""Products, customers and orders: validation and upserts by natural key (sku, external_id, order number)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from ecomops import hotcache
from ecomops.models import Customer, Order, OrderLine, OrderStatus, Product, ProductStatus, Store

from .common import (
    CUSTOMER_FIELDS,
    ORDER_FIELDS,
    PRODUCT_FIELDS,
    WRITE_BATCH_SIZE,
    IngestRejected,
    IngestResult,
    Row,
    RowError,
    _check_fields,
    _nested,
    ids_by_key,
    ingest_committed_notify,
    parse_aware_datetime,
    parse_choice,
    parse_decimal,
    parse_int,
    parse_text,
    rows_write,
)

# --- products ----------------------------------------------------------------------------------------------

_PRODUCT_PARSERS = {
    "sku": lambda v: parse_text(v, max_length=100, required=True),
    "title": lambda v: parse_text(v, max_length=300, required=True),
    "brand": lambda v: parse_text(v, max_length=200),
    "category": lambda v: parse_text(v, max_length=300),
    "price": lambda v: parse_decimal(v, max_digits=12),
    "currency": lambda v: _currency(v),
    "description": lambda v: parse_text(v, max_length=100_000),
    "status": lambda v: parse_choice(v, ProductStatus.values),
    "stock": lambda v: parse_int(v),
}


def _currency(value: Any) -> str:
    text = parse_text(value, max_length=3, required=True).upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise ValueError(f"{value!r} is not an ISO 4217 code such as EUR")
    return text


def _parse_row(row: int, data: dict, parsers: dict, allowed, errors: list[RowError]) -> dict:
    _check_fields(row, data, allowed, errors)
    values = {}
    for name, parse in parsers.items():
        if name in data:
            try:
                values[name] = parse(data[name])
            except ValueError as exc:
                errors.append(RowError(row, name, str(exc)))
    return values


def _upsert(model, *, store: Store, key: str, objs: dict[str, Any], update_fields: list[str]) -> tuple[int, int]:
    existing = ids_by_key(model, store=store, key=key, values=objs)
    rows_write(model, list(objs.values()), conflict=["store", key], update_fields=update_fields)
    return len(objs) - len(existing), len(existing)



def products_upsert(*, store: Store, rows: Iterable[Row], skip_invalid: bool = False) -> IngestResult:
    """Create or update products by sku. Later rows with the same sku win.

    Only the fields the input provides are updated on existing products; a new product without a title is
    titled by its sku.
    """
    errors: list[RowError] = []
    objs: dict[str, Product] = {}
    present: set[str] = set()
    received = 0
    for row, data in rows:
        received += 1
        row_errors: list[RowError] = []
        values = _parse_row(row, data, _PRODUCT_PARSERS, PRODUCT_FIELDS, row_errors)
        if "sku" not in data:
            row_errors.append(RowError(row, "sku", "is required"))
        attributes = _nested(data, "attributes", data.get("attributes"), row, row_errors)
        if row_errors:
            errors.extend(row_errors)
            continue
        present.update(values)
        if attributes or "attributes" in data or any(k.startswith("attributes.") for k in data):
            values["attributes"] = attributes
            present.add("attributes")
        values.setdefault("currency", store.currency)
        values.setdefault("title", values["sku"])  # new products only: title is not updated unless given
        objs[values["sku"]] = Product(store=store, **values)
    result = IngestResult(received=received, rejected=errors)
    if errors and not skip_invalid:
        raise IngestRejected(errors)
    update_fields = sorted((present | {"currency"}) - {"sku"}) + ["updated_at"]
    with transaction.atomic():
        result.created, result.updated = _upsert(Product, store=store, key="sku", objs=objs, update_fields=update_fields)
        hotcache.bump(store.pk, hotcache.CATALOG)
    return result


# --- customers ---------------------------------------------------------------------------------------------


def _email(value: Any) -> str:
    text = parse_text(value, max_length=254)
    if text:
        try:
            validate_email(text)
        except ValidationError:
            raise ValueError(f"{text!r} is not an email address") from None
    return text


def _country(value: Any) -> str:
    text = parse_text(value, max_length=2).upper()
    if text and not re.fullmatch(r"[A-Z]{2}", text):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 code such as DE")
    return text


_CUSTOMER_PARSERS = {
    "external_id": lambda v: parse_text(v, max_length=100, required=True),
    "email": _email,
    "name": lambda v: parse_text(v, max_length=200),
    "country": _country,
    "created_at": parse_aware_datetime,
}


def customers_upsert(*, store: Store, rows: Iterable[Row], skip_invalid: bool = False) -> IngestResult:
    """Create or update customers by external_id. created_at defaults to now for new customers."""
    errors: list[RowError] = []
    objs: dict[str, Customer] = {}
    present: set[str] = set()
    received = 0
    now = timezone.now()
    for row, data in rows:
        received += 1
        row_errors: list[RowError] = []
        values = _parse_row(row, data, _CUSTOMER_PARSERS, CUSTOMER_FIELDS, row_errors)
        if "external_id" not in data:
            row_errors.append(RowError(row, "external_id", "is required"))
        if row_errors:
            errors.extend(row_errors)
            continue
        present.update(values)
        values.setdefault("created_at", now)
        objs[values["external_id"]] = Customer(store=store, **values)
    result = IngestResult(received=received, rejected=errors)
    if errors and not skip_invalid:
        raise IngestRejected(errors)
    with transaction.atomic():
        result.created, result.updated = _upsert(
            Customer, store=store, key="external_id", objs=objs, update_fields=sorted(present - {"external_id"})
        )
    return result


# --- orders ------------------------------------------------------------------------------------------------

_MONEY = lambda v: parse_decimal(v, max_digits=14)  # noqa: E731
_ORDER_PARSERS = {
    "number": lambda v: parse_text(v, max_length=64, required=True),
    "customer": lambda v: parse_text(v, max_length=100, required=True),
    "placed_at": parse_aware_datetime,
    "status": lambda v: parse_choice(v, OrderStatus.values),
    "currency": _currency,
    "subtotal": _MONEY,
    "shipping": _MONEY,
    "tax": _MONEY,
    "total": _MONEY,
    "shipping_address": lambda v: parse_text(v, max_length=10_000),
    "sku": lambda v: parse_text(v, max_length=100),
    "quantity": lambda v: parse_int(v, minimum=1),
    "unit_price": lambda v: parse_decimal(v, max_digits=12),
    "line_total": _MONEY,
}
_ORDER_LEVEL = ("customer", "placed_at", "status", "currency", "subtotal", "shipping", "tax", "total", "shipping_address")


def orders_upsert(
    *, store: Store, rows: Iterable[Row], skip_invalid: bool = False, create_missing: bool = False
) -> IngestResult:
    """Create or update orders by number; rows sharing a number are the lines of one order (lines replaced).

    Order-level fields come from the order's first row. A row with a `sku` is a line: quantity (default 1) and
    unit_price or line_total (the other is derived). Missing subtotal = sum of lines; missing total =
    subtotal + shipping + tax. Unknown customers and skus are errors unless `create_missing`.
    """
    errors: list[RowError] = []
    orders: dict[str, dict] = {}
    received = 0
    for row, data in rows:
        received += 1
        row_errors: list[RowError] = []
        values = _parse_row(row, data, _ORDER_PARSERS, ORDER_FIELDS, row_errors)
        for required in ("number", "customer", "placed_at"):
            if required not in data:
                row_errors.append(RowError(row, required, "is required"))
        line = None
        if not row_errors and values.get("sku"):
            qty = values.get("quantity", 1)
            if "unit_price" in values:
                unit, total = values["unit_price"], values.get("line_total", values["unit_price"] * qty)
            elif "line_total" in values:
                total = values["line_total"]
                unit = (total / qty).quantize(Decimal("0.01"))
            else:
                row_errors.append(RowError(row, "unit_price", "a line needs unit_price or line_total"))
            if not row_errors:
                line = {"row": row, "sku": values["sku"], "quantity": qty, "unit_price": unit, "line_total": total}
        if row_errors:
            errors.extend(row_errors)
            if values.get("number") in orders:
                orders[values["number"]]["bad"] = True
            continue
        order = orders.get(values["number"])
        if order is None:
            order = orders[values["number"]] = {"row": row, "lines": [], "bad": False}
            order.update({k: values[k] for k in _ORDER_LEVEL if k in values})
        elif order["customer"] != values["customer"]:
            errors.append(RowError(row, "customer", f"order {values['number']} already belongs to {order['customer']!r}"))
            order["bad"] = True
            continue
        if line:
            order["lines"].append(line)

    result = IngestResult(received=received, auto_created={"customers": 0, "products": 0})
    with transaction.atomic():
        customer_ids, product_ids = _order_references(store, orders, create_missing, result)
        for order in orders.values():
            if order["customer"] not in customer_ids:
                errors.append(RowError(order["row"], "customer", f"unknown customer {order['customer']!r} in this store"))
                order["bad"] = True
            for line in order["lines"]:
                if line["sku"] not in product_ids:
                    errors.append(RowError(line["row"], "sku", f"unknown product sku {line['sku']!r} in this store"))
                    order["bad"] = True
        if errors and not skip_invalid:
            raise IngestRejected(sorted(errors, key=lambda e: e.row))
        result.rejected = sorted(errors, key=lambda e: e.row)
        good = {n: o for n, o in orders.items() if not o["bad"]}
        objs = {}
        for number, order in good.items():
            subtotal = order.get("subtotal", sum((ln["line_total"] for ln in order["lines"]), Decimal("0.00")))
            shipping, tax = order.get("shipping", Decimal("0.00")), order.get("tax", Decimal("0.00"))
            objs[number] = Order(
                store=store,
                number=number,
                customer_id=customer_ids[order["customer"]],
                placed_at=order["placed_at"],
                status=order.get("status", OrderStatus.PAID),
                currency=order.get("currency", store.currency),
                subtotal=subtotal,
                shipping=shipping,
                tax=tax,
                total=order.get("total", subtotal + shipping + tax),
                shipping_address=order.get("shipping_address", ""),
            )
        fields = ["customer", "placed_at", "status", "currency", "subtotal", "shipping", "tax", "total", "shipping_address"]
        result.created, result.updated = _upsert(Order, store=store, key="number", objs=objs, update_fields=fields)
        if objs:
            ingest_committed_notify(store.pk)
        numbers = list(good)
        order_ids: dict[str, int] = {}
        for start in range(0, len(numbers), WRITE_BATCH_SIZE):
            chunk = numbers[start : start + WRITE_BATCH_SIZE]
            order_ids.update(ids_by_key(Order, store=store, key="number", values=chunk))
            OrderLine.objects.for_store(store).filter(order_id__in=[order_ids[n] for n in chunk]).delete()
        rows_write(
            OrderLine,
            [
                OrderLine(
                    store=store,
                    order_id=order_ids[number],
                    product_id=product_ids[ln["sku"]],
                    quantity=ln["quantity"],
                    unit_price=ln["unit_price"],
                    line_total=ln["line_total"],
                )
                for number, order in good.items()
                for ln in order["lines"]
            ],
        )
    return result


def _order_references(store: Store, orders: dict, create_missing: bool, result: IngestResult):
    first_order: dict[str, datetime] = {}
    skus: set[str] = set()
    for order in orders.values():
        ext = order["customer"]
        if ext not in first_order or order["placed_at"] < first_order[ext]:
            first_order[ext] = order["placed_at"]
        skus.update(ln["sku"] for ln in order["lines"])
    lookups = []
    for model, key, wanted in ((Customer, "external_id", set(first_order)), (Product, "sku", skus)):
        ids = ids_by_key(model, store=store, key=key, values=wanted)
        missing = wanted - ids.keys()
        if missing and create_missing:
            if model is Customer:
                objs = [Customer(store=store, external_id=ext, created_at=first_order[ext]) for ext in missing]
            else:
                objs = [Product(store=store, sku=sku, title=sku) for sku in missing]
            rows_write(model, objs)
            ids.update(ids_by_key(model, store=store, key=key, values=missing))
            result.auto_created["customers" if model is Customer else "products"] = len(objs)
        lookups.append(ids)
    return lookups[0], lookups[1]
