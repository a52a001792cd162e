"""Events: validation (with a fast path for clean rows), reference resolution, dedupe keys, COPY writes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction

from ecomops.models import Customer, Event, EventType, Product, Store

from .common import (
    EVENT_FIELDS,
    INGEST_KEY,
    MAX_BULK_EVENTS,
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
    parse_text,
    rows_write,
)

EVENT_LOCK_NAMESPACE = 7301  # pg_advisory_xact_lock(namespace, store id) around event imports

# --- events ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class EventDraft:
    row: int
    customer: str
    session_id: str
    type: str
    sku: str
    occurred_at: datetime
    properties: dict


_EVENT_TYPES = frozenset(EventType.values)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


_EVENT_FIELD_SET = frozenset(EVENT_FIELDS)


def _id_text(value: Any) -> str:
    if type(value) is str and len(value) <= 100:
        return value.strip()
    return parse_text(value, max_length=100)


def event_draft_validate(row: int, data: dict) -> tuple[EventDraft | None, list[RowError]]:
    """Field checks for one event; no database access. (Hot path: ~10,000 rows per API call.)"""
    errors: list[RowError] = []
    extra = data.keys() - _EVENT_FIELD_SET
    if extra:
        _check_fields(row, data, EVENT_FIELDS, errors)
    values: dict[str, Any] = {}
    for name in ("customer", "session_id", "product"):
        try:
            values[name] = _id_text(data.get(name))
        except ValueError as exc:
            errors.append(RowError(row, name, str(exc)))
    try:
        occurred_at = parse_aware_datetime(data.get("occurred_at"))
    except ValueError as exc:
        errors.append(RowError(row, "occurred_at", str(exc)))
    event_type = data.get("type")
    if not isinstance(event_type, str) or event_type not in _EVENT_TYPES:
        errors.append(RowError(row, "type", f"{event_type!r} is not one of {', '.join(EventType.values)}"))
    base = data.get("properties")
    if extra or not (base is None or type(base) is dict):
        properties = _nested(data, "properties", base, row, errors)
    else:
        properties = dict(base) if base else {}
    if INGEST_KEY in properties:
        del properties[INGEST_KEY]
    if not errors and not values["customer"] and not values["session_id"]:
        errors.append(RowError(row, "customer", "an event needs a customer or a session_id"))
    if errors:
        return None, errors
    return (
        EventDraft(
            row=row,
            customer=values["customer"],
            session_id=values["session_id"],
            type=event_type,
            sku=values["product"],
            occurred_at=occurred_at,
            properties=properties,
        ),
        [],
    )


class EventImporter:
    """Validates, resolves and writes events for one store, chunk by chunk, keeping lookups across chunks.

    Use inside one `transaction.atomic()`: with `create_missing`, resolve() creates unknown customers and
    products, and write() appends events; the caller decides whether to commit.
    """

    def __init__(self, *, store: Store, create_missing: bool = False, use_copy: bool | None = None):
        self.store = store
        self.create_missing = create_missing
        self.use_copy = connection.vendor == "postgresql" if use_copy is None else use_copy
        self.product_ids: dict[str, int] = {}
        self.customer_ids: dict[str, int] = {}
        self.occurrences: dict[bytes, int] = {}
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            # One event import per store at a time, so two runs of the same file cannot both miss the other's keys.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [EVENT_LOCK_NAMESPACE, store.pk])
        self.store_had_events = Event.objects.for_store(store).exists()
        self.result = IngestResult(auto_created={"customers": 0, "products": 0})

    def validate(self, rows: Iterable[Row]) -> tuple[list[EventDraft], list[RowError]]:
        drafts, errors = [], []
        append = drafts.append
        fields, types, fromiso = _EVENT_FIELD_SET, _EVENT_TYPES, datetime.fromisoformat
        for row, data in rows:
            # Fast path for the common, clean row (same rules as event_draft_validate, which reports problems).
            customer = data.get("customer") or ""
            session_id = data.get("session_id") or ""
            sku = data.get("product") or ""
            occurred_at = data.get("occurred_at")
            properties = data.get("properties")
            if (
                fields.issuperset(data)
                and type(customer) is str and len(customer) <= 100
                and type(session_id) is str and len(session_id) <= 100
                and type(sku) is str and len(sku) <= 100
                and type(data.get("type")) is str and data["type"] in types
                and (properties is None or (type(properties) is dict and INGEST_KEY not in properties))
            ):  # fmt: skip
                try:
                    when = occurred_at if type(occurred_at) is datetime else fromiso(occurred_at)
                except (TypeError, ValueError):
                    when = None
                customer, session_id = customer.strip(), session_id.strip()
                if when is not None and when.tzinfo is not None and (customer or session_id):
                    append(
                        EventDraft(row, customer, session_id, data["type"], sku.strip(), when.astimezone(UTC), properties or {})
                    )
                    continue
            draft, row_errors = event_draft_validate(row, data)
            if draft is None:
                errors.extend(row_errors)
            else:
                append(draft)
        return drafts, errors

    def resolve(self, drafts: list[EventDraft]) -> tuple[list[EventDraft], list[RowError]]:
        """Look up (or create) the referenced customers and products; unknown ones are row errors."""
        self._load(Product, "sku", {d.sku for d in drafts if d.sku}, self.product_ids, drafts)
        self._load(Customer, "external_id", {d.customer for d in drafts if d.customer}, self.customer_ids, drafts)
        good, errors = [], []
        for draft in drafts:
            if draft.sku and draft.sku not in self.product_ids:
                errors.append(RowError(draft.row, "product", f"unknown product sku {draft.sku!r} in this store"))
            elif draft.customer and draft.customer not in self.customer_ids:
                errors.append(RowError(draft.row, "customer", f"unknown customer {draft.customer!r} in this store"))
            else:
                good.append(draft)
        return good, errors

    def _load(self, model, key: str, wanted: set[str], cache: dict[str, int], drafts: list[EventDraft]) -> None:
        missing = wanted - cache.keys()
        if not missing:
            return
        found = ids_by_key(model, store=self.store, key=key, values=missing)
        cache.update(found)
        missing -= found.keys()
        if missing and self.create_missing:
            if model is Product:
                objs = [Product(store=self.store, sku=sku, title=sku) for sku in missing]
            else:
                first_seen: dict[str, datetime] = {}
                for d in drafts:
                    if d.customer in missing and (d.customer not in first_seen or d.occurred_at < first_seen[d.customer]):
                        first_seen[d.customer] = d.occurred_at
                objs = [Customer(store=self.store, external_id=ext, created_at=first_seen[ext]) for ext in missing]
            rows_write(model, objs)
            cache.update(ids_by_key(model, store=self.store, key=key, values=missing))
            self.result.auto_created["products" if model is Product else "customers"] += len(objs)

    def _key(self, draft: EventDraft) -> str:
        base = "\x1f".join(
            (
                draft.customer,
                "" if draft.customer else draft.session_id,
                draft.type,
                draft.sku,
                str((draft.occurred_at - _EPOCH) // _MICROSECOND),
            )
        ).encode()
        digest = hashlib.blake2b(base, digest_size=12).digest()
        n = self.occurrences.get(digest, 0)
        self.occurrences[digest] = n + 1
        return digest.hex() if n == 0 else f"{digest.hex()}.{n}"

    def _existing_keys(self, keys: list[str], lo: datetime, hi: datetime) -> set[str]:
        if connection.vendor == "postgresql":
            # One array parameter instead of 10,000 placeholders (psycopg splits and binds each one otherwise).
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT properties->>'{INGEST_KEY}' FROM {Event._meta.db_table}"
                    f" WHERE store_id = %s AND occurred_at >= %s AND occurred_at <= %s"
                    f" AND properties->>'{INGEST_KEY}' = ANY(%s)",
                    [self.store.pk, lo, hi, keys],
                )
                return {key for (key,) in cursor.fetchall()}
        existing: set[str] = set()
        for start in range(0, len(keys), 900):
            existing.update(
                Event.objects.for_store(self.store)
                .filter(occurred_at__gte=lo, occurred_at__lte=hi, **{f"properties__{INGEST_KEY}__in": keys[start : start + 900]})
                .values_list(f"properties__{INGEST_KEY}", flat=True)
            )
        return existing

    def write(self, drafts: list[EventDraft]) -> int:
        """Append resolved drafts; returns how many were written (the rest were already in the store)."""
        if not drafts:
            return 0
        keyed = [(self._key(d), d) for d in drafts]
        if self.store_had_events:
            lo = min(d.occurred_at for d in drafts)
            hi = max(d.occurred_at for d in drafts)
            existing = self._existing_keys([k for k, _ in keyed], lo, hi)
            if existing:
                keyed = [(k, d) for k, d in keyed if k not in existing]
                self.result.duplicates += len(drafts) - len(keyed)
        store_id = self.store.pk
        rows = [
            (
                store_id,
                self.customer_ids[d.customer] if d.customer else None,
                d.session_id,
                d.type,
                self.product_ids[d.sku] if d.sku else None,
                d.occurred_at,
                {**d.properties, INGEST_KEY: key},
            )
            for key, d in keyed
        ]
        if self.use_copy:
            events_copy(rows)
        else:
            Event.objects.bulk_create(
                [
                    Event(store_id=s, customer_id=c, session_id=sid, type=t, product_id=p, occurred_at=o, properties=pr)
                    for s, c, sid, t, p, o, pr in rows
                ],
                batch_size=WRITE_BATCH_SIZE,
            )
        self.result.created += len(rows)
        return len(rows)


EVENT_COPY_COLUMNS = ("store_id", "customer_id", "session_id", "type", "product_id", "occurred_at", "properties")


def events_copy(rows: Iterable[tuple]) -> None:
    """COPY rows (in EVENT_COPY_COLUMNS order, properties as dicts) into the events table (PostgreSQL only)."""
    sql = f"COPY {Event._meta.db_table} ({', '.join(EVENT_COPY_COLUMNS)}) FROM STDIN"
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for store_id, customer_id, session_id, type_, product_id, occurred_at, properties in rows:
            if len(properties) == 1 and INGEST_KEY in properties:  # the common case: no properties of its own
                rendered = f'{{"{INGEST_KEY}":"{properties[INGEST_KEY]}"}}'
            else:
                rendered = dumps(properties)
            copy.write_row((store_id, customer_id, session_id, type_, product_id, occurred_at, rendered))


def events_bulk_ingest(*, store: Store, rows: Sequence[dict]) -> IngestResult:
    """The bulk API: validate the whole batch (fields, then references) and write all of it or nothing."""
    if len(rows) > MAX_BULK_EVENTS:
        raise IngestRejected(
            [RowError(None, "events", f"{len(rows):,} events sent; at most {MAX_BULK_EVENTS:,} per request")]
        )
    errors = []
    indexed = []
    for index, data in enumerate(rows):
        if isinstance(data, dict):
            indexed.append((index, data))
        else:
            errors.append(RowError(index, "non_field_errors", "each event must be a JSON object"))
    with transaction.atomic():
        importer = EventImporter(store=store)
        drafts, field_errors = importer.validate(indexed)
        errors += field_errors
        if errors:
            raise IngestRejected(sorted(errors, key=lambda e: e.row))
        drafts, ref_errors = importer.resolve(drafts)
        if ref_errors:
            raise IngestRejected(ref_errors)
        if importer.write(drafts):
            ingest_committed_notify(store.pk)
    importer.result.received = len(rows)
    return importer.result
