"""Stock levels over time: snapshots (import, API), receipts, and the product's current stock.

`Product.stock` stays the current on-hand figure the rest of the project reads; a snapshot dated on or after the
newest one moves it, an older snapshot only fills history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ecomops.models import Product, Store
from inventory.models import StockLevel, StockMovement, StockSource

MAX_ON_HAND = 10**9


@dataclass(frozen=True)
class StockRowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


class StockImportRejected(ValueError):
    def __init__(self, errors: list[StockRowError]):
        self.errors = errors
        super().__init__(f"{len(errors)} invalid row(s); nothing was written. First: {errors[0]}")


def _parse_row(raw: dict, skus: dict[str, Product]) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    sku = str(raw.get("sku") or "").strip()
    product = skus.get(sku)
    if not sku:
        errors["sku"] = "This field is required."
    elif product is None:
        errors["sku"] = f"Unknown sku {sku[:100]!r} in this store."
    value = raw.get("date")
    day = None
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value or "").strip())
        except ValueError:
            errors["date"] = "Not a date (YYYY-MM-DD)."
    on_hand = raw.get("on_hand")
    try:
        if isinstance(on_hand, bool) or (isinstance(on_hand, float) and not on_hand.is_integer()):
            raise ValueError
        on_hand = int(str(on_hand).strip()) if not isinstance(on_hand, int) else on_hand
        if on_hand < 0:
            errors["on_hand"] = "Stock on hand cannot be negative."
        elif on_hand > MAX_ON_HAND:
            errors["on_hand"] = f"At most {MAX_ON_HAND}."
    except (TypeError, ValueError):
        errors["on_hand"] = "Not a whole number."
    return {"product": product, "date": day, "on_hand": on_hand}, errors


def _write(store: Store, rows: list[dict], source: str) -> int:
    latest: dict[int, tuple[date, int]] = {}
    for row in rows:
        StockLevel.objects.update_or_create(
            store=store, product=row["product"], date=row["date"],
            defaults={"on_hand": row["on_hand"], "source": source},
        )
        prev = latest.get(row["product"].pk)
        if prev is None or row["date"] >= prev[0]:
            latest[row["product"].pk] = (row["date"], row["on_hand"])
    for product_id, (day, on_hand) in latest.items():
        newer = StockLevel.objects.for_store(store).filter(product_id=product_id, date__gt=day).exists()
        if not newer:
            Product.objects.for_store(store).filter(pk=product_id).update(stock=on_hand)
    return len(rows)


def stock_levels_record(*, store: Store, rows: Iterable[tuple[int, dict]], source: str = StockSource.IMPORT) -> int:
    """Validate every (line, {sku, date, on_hand}) row, then write all of them or none.

    Raises StockImportRejected listing each bad row as 'line N, field: reason'."""
    rows = list(rows)
    skus = {p.sku: p for p in Product.objects.for_store(store).filter(
        sku__in={str(r.get("sku") or "").strip() for _, r in rows})}
    parsed, errors = [], []
    seen: dict[tuple[str, date], int] = {}
    for line, raw in rows:
        row, row_errors = _parse_row(raw, skus)
        for field, message in row_errors.items():
            errors.append(StockRowError(line, field, message))
        if not row_errors:
            key = (row["product"].sku, row["date"])
            if key in seen:
                errors.append(StockRowError(line, "date", f"A second level for this sku and day (first on line {seen[key]})."))
                continue
            seen[key] = line
            parsed.append(row)
    if errors:
        raise StockImportRejected(errors)
    with transaction.atomic():
        return _write(store, parsed, source)


def stock_level_set(*, store: Store, sku: str, day: date, on_hand: int, source: str = StockSource.API) -> StockLevel:
    """One snapshot (the API door); field errors as a Django ValidationError."""
    skus = {p.sku: p for p in Product.objects.for_store(store).filter(sku=sku)}
    row, errors = _parse_row({"sku": sku, "date": day, "on_hand": on_hand}, skus)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _write(store, [row], source)
    return StockLevel.objects.for_store(store).get(product=row["product"], date=row["date"])


def stock_receive(*, store: Store, product: Product, quantity: int, reference: str = "",
                  when: datetime | None = None) -> StockMovement:
    """Units arrived: a receipt movement, the product's stock raised, and today's level recorded."""
    if quantity <= 0:
        raise ValidationError({"quantity": "Received quantity must be positive."})
    when = when or timezone.now()
    with transaction.atomic():
        locked = Product.objects.for_store(store).select_for_update().get(pk=product.pk)
        locked.stock = max(0, locked.stock) + quantity
        locked.save(update_fields=["stock", "updated_at"])
        movement = StockMovement.objects.create(store=store, product=locked, occurred_at=when, quantity=quantity,
                                                source=StockSource.RECEIPT, reference=reference[:100])
        from inventory.selectors import store_today

        StockLevel.objects.update_or_create(store=store, product=locked, date=store_today(store),
                                            defaults={"on_hand": locked.stock, "source": StockSource.RECEIPT})
    product.stock = locked.stock
    return movement
