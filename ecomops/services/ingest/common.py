"""Shared pieces of ingest: row errors, results, field parsers, look-ups and the bulk row writer."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import import_string

from ecomops.models import Store

logger = logging.getLogger(__name__)

MAX_BULK_EVENTS = 10_000
WRITE_BATCH_SIZE = 5_000
INGEST_KEY = "_ingest_key"

EVENT_FIELDS = ("customer", "session_id", "type", "product", "occurred_at", "properties")
PRODUCT_FIELDS = ("sku", "title", "brand", "category", "price", "currency", "description", "status", "stock", "attributes")
CUSTOMER_FIELDS = ("external_id", "email", "name", "country", "created_at")
ORDER_FIELDS = (
    "number", "customer", "placed_at", "status", "currency", "subtotal", "shipping", "tax", "total",
    "shipping_address", "sku", "quantity", "unit_price", "line_total",
)  # fmt: skip

Row = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class RowError:
    """One problem: `row` is a line number (files) or a 0-based index (API); None means the input as a whole."""

    row: int | None
    field: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.reason}


class IngestRejected(Exception):
    """The input as a whole was refused; nothing was written."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = list(errors)
        first = self.errors[0] if self.errors else None
        where = "the batch" if first is None or first.row is None else f"row {first.row}"
        super().__init__(
            f"{len(self.errors)} problem(s); nothing was written. First: {where}, {first.field if first else ''}: "
            f"{first.reason if first else ''}"
        )


@dataclass
class IngestResult:
    received: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    auto_created: dict[str, int] = field(default_factory=dict)
    rejected: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "auto_created": self.auto_created,
            "rejected": len(self.rejected),
        }


# --- field parsers: value -> python, or ValueError with a human reason ---------------------------------


# Merchant data from before the web or far in the future is a broken export, not history (a year-0001 date once
# reached the database and failed there with a traceback).
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100


def parse_aware_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date-time (e.g. 2024-05-01T12:00:00Z)") from None
    else:
        raise ValueError("is required (an ISO 8601 date-time with a time zone)")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{value!s} has no time zone; add one, e.g. 'Z' or '+02:00'")
    try:
        parsed = parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValueError(f"{value!s} is outside the years {EARLIEST_YEAR}..{LATEST_YEAR}") from None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise ValueError(f"{value!s} is outside the years {EARLIEST_YEAR}..{LATEST_YEAR}")
    return parsed


def parse_text(value: Any, *, max_length: int, required: bool = False) -> str:
    if value is None:
        text = ""
    elif isinstance(value, str | int):
        text = str(value).strip()
    else:
        raise ValueError(f"must be a string, got {type(value).__name__}")
    if "\x00" in text:
        raise ValueError("contains a NUL character (\\x00), which cannot be stored")
    if required and not text:
        raise ValueError("is required")
    if len(text) > max_length:
        raise ValueError(f"is longer than {max_length} characters")
    return text


def parse_decimal(value: Any, *, max_digits: int = 12, minimum: Decimal | None = Decimal("0")) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    number = number.quantize(Decimal("0.01"))
    if minimum is not None and number < minimum:
        raise ValueError(f"must be >= {minimum}")
    if len(number.as_tuple().digits) > max_digits:
        raise ValueError(f"has more than {max_digits} digits")
    return number


def parse_int(value: Any, *, minimum: int | None = None) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a whole number") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"must be >= {minimum}")
    return number


def parse_choice(value: Any, choices: Iterable[str]) -> str:
    text = str(value or "").strip().lower()
    allowed = list(choices)
    if text not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return text


def _check_fields(row: int, data: dict, allowed: Iterable[str], errors: list[RowError]) -> None:
    allowed = set(allowed)
    for name in data:
        if name not in allowed and not name.startswith(("attributes.", "properties.")):
            errors.append(RowError(row, name, f"unknown field (allowed: {', '.join(sorted(allowed))})"))


def _nested(data: dict, prefix: str, base: Any, row: int, errors: list[RowError]) -> dict:
    """`attributes` / `properties` as a dict, merged with `attributes.<key>` columns from a file."""
    if base in (None, ""):
        result: dict = {}
    elif isinstance(base, dict):
        result = dict(base)
    elif isinstance(base, str):
        try:
            result = json.loads(base)
        except ValueError:
            result = None
        if not isinstance(result, dict):
            errors.append(RowError(row, prefix, "must be a JSON object"))
            result = {}
    else:
        errors.append(RowError(row, prefix, "must be an object"))
        result = {}
    for name, value in data.items():
        if name.startswith(prefix + ".") and value not in (None, ""):
            result[name[len(prefix) + 1 :]] = value.strip() if isinstance(value, str) else value
    return result


def ids_by_key(model, *, store: Store, key: str, values: Iterable[str], chunk: int = 900) -> dict[str, int]:
    """{natural key: id} for the store's rows among `values` (chunked: SQLite caps query parameters)."""
    values = list(values)
    ids: dict[str, int] = {}
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        ids.update(model.objects.for_store(store).filter(**{f"{key}__in": part}).values_list(key, "id"))
    return ids


def rows_write(model, objs: list, *, conflict: list[str] | None = None, update_fields: list[str] | None = None) -> None:
    """Insert model instances in bulk; with `conflict`, update `update_fields` of rows that already exist.

    PostgreSQL: COPY into the table, or (upserts) into a temporary table followed by one INSERT ... SELECT ...
    ON CONFLICT DO UPDATE; about ten times faster than bulk_create, whose per-value SQL compilation dominates.
    Elsewhere: bulk_create in batches.
    """
    if not objs:
        return
    if connection.vendor != "postgresql":
        kwargs: dict[str, Any] = {}
        if conflict:
            kwargs = (
                {"update_conflicts": True, "unique_fields": conflict, "update_fields": update_fields}
                if update_fields
                else {"ignore_conflicts": True}
            )
        model.objects.bulk_create(objs, batch_size=2000, **kwargs)
        return
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(opts.db_table)
    with connection.cursor() as cursor:
        target = table
        if conflict:
            target = connection.ops.quote_name(f"ingest_{opts.db_table}")
            cursor.execute(f"CREATE TEMPORARY TABLE {target} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
        if conflict:
            keys = ", ".join(connection.ops.quote_name(opts.get_field(name).column) for name in conflict)
            updates = ", ".join(
                f"{col} = EXCLUDED.{col}"
                for col in (connection.ops.quote_name(opts.get_field(name).column) for name in update_fields or [])
            )
            action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target} ON CONFLICT ({keys}) {action}")
            cursor.execute(f"DROP TABLE {target}")


def ingest_committed_notify(store_id: int) -> None:
    """After the current transaction commits, call each `settings.ECOMOPS_INGEST_HOOKS` entry with the store id.

    This is how feature apps hear about new data (e.g. the analytics live counters and report cache) without the
    shared domain importing them. Hooks are best-effort: one that fails is logged, never fails the ingest.
    """

    def run() -> None:
        for path in getattr(settings, "ECOMOPS_INGEST_HOOKS", []):
            try:
                import_string(path)(store_id)
            except Exception:  # a broken hook must not fail an import that has already committed
                logger.exception("ingest hook %s failed for store %s", path, store_id)

    transaction.on_commit(run)


def tables_analyse(models) -> None:
    """ANALYZE the tables a bulk load filled. PostgreSQL's autovacuum analyses them only later; until then the
    planner assumes they are small (analytics/lifecycle took 58-103 s after seeding, 0.09 s after ANALYZE)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in dict.fromkeys(models):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
