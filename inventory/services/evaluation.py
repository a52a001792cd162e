"""The series `evaluate_forecast` scores: from an orders file (any file import_orders reads, same parser and
presets) or from a store's own order history.

What a series is, for a file (`series`):
  sku     one series per sku (units per day); the default when the file has more than one sku
  cohort  one series per customer acquisition cohort (month of the customer's first order): for files of a single
          "product" such as CDNOW, whose every line is a CD with no sku
  total   a single series of all units per day
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from ecomops.services.ingest import ORDER_FIELDS
from ecomops.services.ingest.files import Converter, FileSpec, preset_spec, read_records
from inventory.ml.evaluation import EvalSeries

SERIES_KINDS = ("auto", "sku", "cohort", "total")
MAX_ERRORS_SHOWN = 10


class OrdersFileError(ValueError):
    pass


def _day(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    text = str(value or "").strip()
    if not text:
        raise ValueError("placed_at is empty")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


def series_from_orders_file(path: Path, *, preset: str | None = None, series: str = "auto",
                            spec: FileSpec | None = None) -> tuple[list[EvalSeries], dict]:
    """(series aligned on one calendar, description). Bad rows raise OrdersFileError naming their lines."""
    if series not in SERIES_KINDS:
        raise OrdersFileError(f"series must be one of {', '.join(SERIES_KINDS)}")
    spec = spec or (preset_spec("orders", preset) if preset else FileSpec())
    converter = Converter(spec, fields=ORDER_FIELDS)
    converter.check_targets()
    lines: list[tuple[str, str, date, float, float]] = []  # sku, customer, day, units, revenue
    errors: list[str] = []
    for line_no, record in read_records(path, spec):
        row, row_errors = converter.convert(line_no, record)
        errors.extend(str(e) for e in row_errors)
        if row is None or row_errors:
            continue
        try:
            day = _day(row.get("placed_at"))
            qty = float(row.get("quantity") or 1)
            total = row.get("line_total")
            if total in (None, ""):
                total = Decimal(str(row.get("unit_price") or 0)) * Decimal(str(qty))
            revenue = float(Decimal(str(total)))
        except (ValueError, InvalidOperation) as exc:
            errors.append(f"line {line_no}: {exc}")
            continue
        if qty < 0 or not np.isfinite(qty):
            errors.append(f"line {line_no}: quantity must not be negative")
            continue
        lines.append((str(row.get("sku") or ""), str(row.get("customer") or ""), day, qty, revenue))
    if errors:
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
        raise OrdersFileError(f"{len(errors)} bad row(s) in {path.name}: {shown}")
    if not lines:
        raise OrdersFileError(f"{path.name} has no order lines")
    skus = {sku for sku, *_ in lines}
    kind = series if series != "auto" else ("sku" if len(skus) > 1 else "cohort")
    first_order: dict[str, date] = {}
    for _, customer, day, _, _ in lines:
        if customer not in first_order or day < first_order[customer]:
            first_order[customer] = day
    start = min(day for _, _, day, _, _ in lines)
    end = max(day for _, _, day, _, _ in lines)
    n_days = (end - start).days + 1
    units: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n_days))
    revenue: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n_days))
    for sku, customer, day, qty, rev in lines:
        key = sku if kind == "sku" else f"cohort {first_order[customer]:%Y-%m}" if kind == "cohort" else "total"
        units[key][(day - start).days] += qty
        revenue[key][(day - start).days] += rev
    result = [EvalSeries(key=k, units=units[k], revenue=revenue[k]) for k in sorted(units)]
    return result, {"series_kind": kind, "start": start.isoformat(), "end": end.isoformat(), "lines": len(lines)}


def series_from_store(store, *, days: int = 365) -> tuple[list[EvalSeries], dict]:
    """Every product of the store with at least one sale, units per day up to yesterday, stock-out days marked."""
    from inventory import selectors

    end = selectors.store_today(store) - timedelta(days=1)
    history = selectors.demand_history(store, end=end, days=days)
    result = []
    for i, product in enumerate(history.products):
        if history.units[i].sum() <= 0:
            continue
        result.append(EvalSeries(key=product.sku, units=history.units[i], revenue=history.revenue[i],
                                 in_stock=history.in_stock[i]))
    return result, {"series_kind": "sku", "start": history.start.isoformat(), "end": end.isoformat(),
                    "store": store.slug}
