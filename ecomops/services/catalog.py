"""Catalog writes: create, update, delete and bulk upsert products by SKU.

Field formats (decimal places, choices, lengths) are checked by the caller's input serializer; the rules that
need the database or the whole batch live here: a SKU is unique per store, a new product needs a title, one
SKU appears once per batch, a product that has been ordered is archived rather than deleted. A bulk upsert is
validated as a whole first and then written in one transaction, so a bad row means nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from ecomops import hotcache
from ecomops.models import OrderLine, Product, Store

# Fields a caller may set on a product besides its SKU.
PRODUCT_FIELDS = ("title", "brand", "category", "price", "currency", "attributes", "description", "status", "stock")
BULK_UPSERT_MAX_ROWS = 5000


@dataclass(frozen=True)
class RowError:
    """One problem in one row of a batch; `row` is the 0-based index in the submitted list (None: the batch)."""

    row: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


class BatchValidationError(Exception):
    """A batch was rejected as a whole; `errors` names each bad row and field. Nothing was written."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = list(errors)
        first = self.errors[0] if self.errors else None
        if first is None:
            summary = "Invalid batch."
        elif first.row is None:
            summary = f"Field '{first.field}': {first.message}"
        else:
            summary = f"Row {first.row}, field '{first.field}': {first.message}"
        if len(self.errors) > 1:
            summary += f" (and {len(self.errors) - 1} more error(s))"
        super().__init__(summary)


@dataclass(frozen=True)
class BulkUpsertResult:
    created: int
    updated: int
    skus_created: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.created + self.updated


def _attribute_errors(attributes: Any) -> list[str]:
    if not isinstance(attributes, Mapping):
        return ["Attributes must be an object of name -> value."]
    problems = []
    for key, value in attributes.items():
        if not isinstance(key, str) or not key.strip():
            problems.append("Attribute names must be non-empty strings.")
        elif value is not None and not isinstance(value, str | int | float | bool):
            problems.append(f"Attribute {key!r} must be a string, number or boolean, not a nested structure.")
    return problems


def _check_fields(fields: Mapping[str, Any]) -> dict[str, list[str]]:
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown product field(s): {', '.join(sorted(unknown))}")
    errors: dict[str, list[str]] = {}
    if "attributes" in fields:
        problems = _attribute_errors(fields["attributes"])
        if problems:
            errors["attributes"] = problems
    if "title" in fields and not str(fields["title"] or "").strip():
        errors["title"] = ["A product needs a title."]
    return errors


def product_create(*, store: Store, sku: str, **fields: Any) -> Product:
    """Create one product. Raises ValidationError naming the field when the SKU is taken or a value is bad."""
    errors = _check_fields(fields)
    if not fields.get("title"):
        errors.setdefault("title", ["A product needs a title."])
    if Product.objects.for_store(store).filter(sku=sku).exists():
        errors["sku"] = [f"A product with SKU {sku!r} already exists in this store."]
    if errors:
        raise ValidationError(errors)
    fields.setdefault("currency", store.currency)
    product = Product.objects.create(store=store, sku=sku, **fields)
    hotcache.bump(store.pk, hotcache.CATALOG)  # product lists and served recommendations show it next request
    return product


def product_update(*, product: Product, sku: str | None = None, **fields: Any) -> Product:
    """Change the given fields (a partial update); the SKU may be renamed if the new one is free."""
    errors = _check_fields(fields)
    if sku is not None and sku != product.sku:
        if Product.objects.for_store(product.store_id).filter(sku=sku).exists():
            errors["sku"] = [f"A product with SKU {sku!r} already exists in this store."]
        else:
            fields["sku"] = sku
    if errors:
        raise ValidationError(errors)
    for name, value in fields.items():
        setattr(product, name, value)
    product.save()
    hotcache.bump(product.store_id, hotcache.CATALOG)
    return product


def product_delete(*, product: Product) -> None:
    """Delete a product that was never ordered; ordered products are kept for the order history."""
    if OrderLine.objects.for_store(product.store_id).filter(product=product).exists():
        raise ValidationError(
            {"sku": [f"Product {product.sku!r} appears in orders and cannot be deleted; set its status to archived."]}
        )
    try:
        product.delete()
    except ProtectedError:  # e.g. a purchase order line (inventory) still names it: kept for that history
        raise ValidationError({"sku": [f"Product {product.sku!r} is referenced by purchase orders and cannot be "
                                       "deleted; set its status to archived."]}) from None
    hotcache.bump(product.store_id, hotcache.CATALOG)


def products_bulk_upsert(*, store: Store, rows: Sequence[Mapping[str, Any]]) -> BulkUpsertResult:
    """Create or update products by SKU, all or nothing.

    Each row is a mapping with `sku` and any of PRODUCT_FIELDS. Existing products change only the fields a row
    gives; new ones take the model defaults (currency: the store's). Raises BatchValidationError listing every
    bad row (0-based index) before anything is written.
    """
    if len(rows) > BULK_UPSERT_MAX_ROWS:
        raise BatchValidationError(
            [
                RowError(
                    row=BULK_UPSERT_MAX_ROWS,
                    field="sku",
                    message=f"At most {BULK_UPSERT_MAX_ROWS} rows per request; got {len(rows)}.",
                )
            ]
        )
    errors: list[RowError] = []
    first_row_of_sku: dict[str, int] = {}
    for index, row in enumerate(rows):
        sku = row.get("sku")
        if not sku:
            errors.append(RowError(row=index, field="sku", message="Every row needs a SKU."))
            continue
        if sku in first_row_of_sku:
            errors.append(
                RowError(row=index, field="sku", message=f"SKU {sku!r} already appears in row {first_row_of_sku[sku]}.")
            )
        else:
            first_row_of_sku[sku] = index
        fields = {k: v for k, v in row.items() if k != "sku"}
        try:
            for name, messages in _check_fields(fields).items():
                errors.extend(RowError(row=index, field=name, message=m) for m in messages)
        except TypeError as exc:
            errors.append(RowError(row=index, field="sku", message=str(exc)))

    with transaction.atomic():
        hotcache.bump(store.pk, hotcache.CATALOG)  # runs only if this transaction commits
        existing = {
            p.sku: p
            for p in Product.objects.for_store(store).select_for_update().filter(sku__in=list(first_row_of_sku))
        }
        for sku, index in first_row_of_sku.items():
            if sku not in existing and not rows[index].get("title"):
                errors.append(RowError(row=index, field="title", message=f"SKU {sku!r} is new, so it needs a title."))
        if errors:
            raise BatchValidationError(sorted(errors, key=lambda e: (e.row or 0, e.field)))

        # One INSERT ... ON CONFLICT (store, sku) DO UPDATE for the whole batch (bulk_update's CASE expressions
        # take seconds for thousands of rows). A row for an existing SKU starts from the current values, which
        # the row lock above keeps current, so the fields it does not give are written back unchanged.
        now = timezone.now()
        products: list[Product] = []
        changed_fields: set[str] = set()
        created_skus: list[str] = []
        for sku, index in first_row_of_sku.items():
            fields = {k: v for k, v in rows[index].items() if k != "sku"}
            current = existing.get(sku)
            if current is None:
                values = {"currency": store.currency, **fields}
                created_skus.append(sku)
            else:
                values = {**{name: getattr(current, name) for name in PRODUCT_FIELDS}, **fields}
                changed_fields.update(fields)
            products.append(Product(store=store, sku=sku, created_at=now, updated_at=now, **values))
        Product.objects.bulk_create(
            products,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["store", "sku"],
            update_fields=sorted(changed_fields | {"updated_at"}),
        )
    return BulkUpsertResult(created=len(created_skus), updated=len(existing), skus_created=created_skus)
