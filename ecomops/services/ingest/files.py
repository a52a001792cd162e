"""Reading import files: CSV / TSV / whitespace / JSONL records -> rows of canonical fields for services.ingest.

A `FileSpec` says how to read one file: its format, how source columns map to canonical fields
(`--map col=field`; `attributes.<key>` / `properties.<key>` targets collect extra columns; `-` ignores one),
constants (`--set field=value`), how times are written, how event type values translate, and for JSONL
whether a list field holds the real records (`--explode events`: one row per item, top-level scalars merged in).
Named presets fill a spec for each real dataset in ../shared/datasets (see PRESETS).

Conversion problems (a time that does not parse, an unmapped event type) are reported against the source
column, exactly like the service's own validation errors.
"""

from __future__ import annotations

import csv
import json
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .common import RowError

FORMATS = ("csv", "tsv", "ws", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "ws"}
TIME_FIELDS = ("occurred_at", "placed_at", "created_at")
_PLAIN, _TIME, _TYPE, _NESTED = range(4)


@dataclass
class FileSpec:
    format: str | None = None  # None: from the extension
    delimiter: str | None = None
    columns: list[str] | None = None  # names for a file without a header row
    mapping: dict[str, str] = field(default_factory=dict)  # source column -> canonical field ("-" = ignore)
    constants: dict[str, str] = field(default_factory=dict)  # canonical field -> value for every row
    time_format: str = "iso"  # iso | unix | unix_ms | a strptime pattern
    time_zone: str = "UTC"  # for naive times from a strptime pattern
    type_map: dict[str, str] = field(default_factory=dict)  # event type in the file -> EventType value
    skip_types: set[str] = field(default_factory=set)  # event types in the file that are not imported
    explode: str | None = None  # JSONL: the list field whose items are the rows
    sessionize_minutes: int | None = None  # derive session_id per customer from inactivity gaps
    derive: Callable[[dict], dict] | None = None  # preset-only: compute extra source columns per record
    limit: int | None = None  # stop after this many records (rows after explode)

    def resolved_format(self, path: Path) -> str:
        fmt = self.format or _EXTENSIONS.get(path.suffix.lower())
        if fmt not in FORMATS:
            raise ValueError(f"Cannot tell the format of {path.name}; pass --format ({', '.join(FORMATS)}).")
        return fmt


def read_records(path: Path, spec: FileSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, raw record) per record; line numbers count from 1 and include the header line."""
    fmt = spec.resolved_format(path)
    count = 0
    for line_no, record in _raw_records(path, fmt, spec):
        if spec.derive:
            record = spec.derive(record)
        yield line_no, record
        count += 1
        if spec.limit is not None and count >= spec.limit:
            return


def _raw_records(path: Path, fmt: str, spec: FileSpec) -> Iterator[tuple[int, dict]]:
    if fmt == "jsonl":
        with path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    yield line_no, {"__error__": f"not valid JSON: {exc.msg}"}
                    continue
                if not isinstance(record, dict):
                    yield line_no, {"__error__": "each line must be a JSON object"}
                    continue
                if spec.explode:
                    items = record.get(spec.explode)
                    if not isinstance(items, list):
                        yield line_no, {"__error__": f"field {spec.explode!r} must be a list"}
                        continue
                    top = {k: v for k, v in record.items() if k != spec.explode}
                    for item in items:
                        yield line_no, {**top, **item} if isinstance(item, dict) else {"__error__": "list item is not an object"}
                else:
                    yield line_no, record
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if fmt == "ws":
            rows = ((n, line.split()) for n, line in enumerate(handle, start=1) if line.strip())
        else:
            delimiter = spec.delimiter or ("\t" if fmt == "tsv" else ",")
            reader = csv.reader(handle, delimiter=delimiter)
            rows = _csv_rows(reader)
        header = spec.columns
        for line_no, values in rows:
            if header is None:
                header = [name.strip() for name in values]
                continue
            if len(values) > len(header) and not any(v.strip() for v in values[len(header) :]):
                values = values[: len(header)]
            if len(values) != len(header):
                yield line_no, {"__error__": f"has {len(values)} columns, the header has {len(header)}"}
                continue
            yield line_no, {name: value for name, value in zip(header, values, strict=True) if name}


def _csv_rows(reader) -> Iterator[tuple[int, list[str]]]:
    start = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. an unterminated quote: reported on its line, not as a traceback
            raise ValueError(f"line {start}: not valid CSV ({exc})") from None
        yield start, values
        start = reader.line_num + 1


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


class Converter:
    """Turns raw records into canonical rows; remembers which column fed which field, for error messages."""

    def __init__(self, spec: FileSpec, *, fields: tuple[str, ...]):
        self.spec = spec
        self.fields = fields
        self.mapping = dict(spec.mapping)
        self._identity_checked = False
        self._tz = zoneinfo.ZoneInfo(spec.time_zone)
        self.source_of: dict[str, str] = {target: source for source, target in self.mapping.items() if target != "-"}
        for name in spec.constants:
            self.source_of.setdefault(name, f"--set {name}")

    def check_targets(self) -> None:
        for source, target in self.mapping.items():
            if target != "-" and target not in self.fields and not target.startswith(("attributes.", "properties.")):
                raise ValueError(f"--map {source}={target}: unknown field {target!r} (fields: {', '.join(self.fields)})")

    def column(self, field_name: str) -> str:
        return self.source_of.get(field_name, field_name)

    def _first_record(self, record: dict) -> None:
        # Columns named like a canonical field map to it unless mapped explicitly.
        self._identity_checked = True
        for name in record:
            if name not in self.mapping and (name in self.fields or name.startswith(("attributes.", "properties."))):
                self.mapping[name] = name
                self.source_of.setdefault(name, name)
        self._plan = [
            (source, target, _TIME if target in TIME_FIELDS else _TYPE if target == "type" else
             _NESTED if target.startswith(("attributes.", "properties.")) else _PLAIN)
            for source, target in self.mapping.items()
            if target != "-"
        ]  # fmt: skip
        self._plain = [(source, target) for source, target, kind in self._plan if kind == _PLAIN]
        self._special = [(source, target, kind) for source, target, kind in self._plan if kind != _PLAIN]
        missing = [source for source in self.mapping if source not in record]
        if missing and "__error__" not in record:
            raise ValueError(
                f"column(s) {', '.join(missing)} not in the file (columns: {', '.join(record)}); check --map/--preset"
            )

    def convert(self, line: int, record: dict) -> tuple[dict | None, list[RowError]]:
        """(canonical row, errors); (None, []) for a record that is deliberately skipped (e.g. --skip-type)."""
        if "__error__" in record:
            return None, [RowError(line, "(record)", record["__error__"])]
        if not self._identity_checked:
            self._first_record(record)
        nul = next((source for source, value in record.items() if _has_nul(source) or _has_nul(value)), None)
        if nul is not None:  # PostgreSQL text cannot hold U+0000: a clean row error, not a failed COPY
            return None, [RowError(line, str(nul).replace("\x00", "\\x00"), "contains a NUL character (\\x00)")]
        # Text fields are stripped by the service's validation; here only what conversion itself needs.
        row: dict[str, Any] = {target: record.get(source) for source, target in self._plain}
        if self.spec.constants:
            row.update(self.spec.constants)
        errors: list[RowError] = []
        for source, target, kind in self._special:
            value = record.get(source)
            if type(value) is str:
                value = value.strip()
            if kind == _TIME:
                if value not in (None, ""):
                    try:
                        value = self._time(value)
                    except ValueError as exc:
                        errors.append(RowError(line, source, str(exc)))
                        continue
            elif kind == _TYPE:
                key = str(value)
                if key in self.spec.skip_types:
                    return None, []
                value = self.spec.type_map.get(key, key)
            elif kind == _NESTED and value in (None, ""):
                continue
            row[target] = value
        return row, errors

    def _time(self, value: Any):
        fmt = self.spec.time_format
        if fmt == "iso":
            return value if isinstance(value, datetime) else str(value)
        try:
            if fmt == "unix":
                return datetime.fromtimestamp(float(value), tz=UTC)
            if fmt == "unix_ms":
                return datetime.fromtimestamp(float(value) / 1000, tz=UTC)
            parsed = datetime.strptime(str(value), fmt)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"{value!r} does not match the time format {fmt!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self._tz)


def sessionize(rows: list[tuple[int, dict]], minutes: int) -> None:
    """Give rows without a session_id one derived per customer: a new session after `minutes` of inactivity.

    The id is '<customer>-<unix seconds of the session's first event>', so it is stable across re-runs."""
    gap = timedelta(minutes=minutes)
    by_customer: dict[str, list[dict]] = {}
    for _, row in rows:
        if not row.get("session_id") and row.get("customer") and isinstance(row.get("occurred_at"), datetime):
            by_customer.setdefault(str(row["customer"]), []).append(row)
    for customer, events in by_customer.items():
        events.sort(key=lambda r: r["occurred_at"])
        session, last = None, None
        for row in events:
            if last is None or row["occurred_at"] - last > gap:
                session = f"{customer}-{int(row['occurred_at'].timestamp())}"
            row["session_id"] = session
            last = row["occurred_at"]


# --- presets: one per real dataset in ../shared/datasets -------------------------------------------------


def _cdnow_number(record: dict) -> dict:
    # CDNOW rows are (customer, day, line); one order per customer and day, its rows become its lines.
    return {**record, "order_number": f"CDNOW-{record.get('customer_id', '')}-{record.get('date', '')}"}


def _amazon_item_title(record: dict) -> dict:
    return {**record, "title": f"Grocery item {record.get('item_id', '')}"}


PRESETS: dict[str, dict[str, FileSpec]] = {
    "catalog": {
        "myntra": FileSpec(
            format="csv",
            mapping={
                "Product_ID": "sku", "Product_Name": "title", "Product_Brand": "brand", "Gender": "category",
                "Price": "price", "Description": "description", "Primary_Color": "attributes.colour",
                "Num_Images": "attributes.num_images",
            },  # fmt: skip
            constants={"currency": "INR"},
        ),
        "amazon-grocery": FileSpec(
            format="tsv",
            mapping={"item_id": "sku", "title": "title", "i_category": "category", "r_complement": "-", "r_substitute": "-"},
            derive=_amazon_item_title,
        ),
    },
    "customers": {},
    "orders": {
        "cdnow": FileSpec(
            format="ws",
            mapping={
                "order_number": "number", "customer_id": "customer", "date": "placed_at",
                "number_of_cds": "quantity", "dollar_value": "line_total",
            },  # fmt: skip
            constants={"sku": "CDNOW-CD", "currency": "USD", "status": "delivered"},
            time_format="%Y%m%d",
            derive=_cdnow_number,
        ),
    },
    "events": {
        "amazon-grocery": FileSpec(
            format="tsv",
            mapping={"user_id": "customer", "item_id": "product", "time": "occurred_at"},
            constants={"type": "purchase"},
            time_format="unix",
        ),
        "rees46": FileSpec(
            format="csv",
            mapping={
                "event_time": "occurred_at", "event_type": "type", "product_id": "product", "user_id": "customer",
                "user_session": "session_id", "price": "properties.price", "brand": "properties.brand",
                "category_code": "properties.category_code", "category_id": "properties.category_id",
            },  # fmt: skip
            time_format="%Y-%m-%d %H:%M:%S UTC",
            type_map={"cart": "add_to_cart"},
        ),
        "taobao": FileSpec(
            format="csv",
            columns=["user_id", "item_id", "category_id", "behavior_type", "timestamp"],
            mapping={
                "user_id": "customer", "item_id": "product", "category_id": "properties.category_id",
                "behavior_type": "type", "timestamp": "occurred_at",
            },  # fmt: skip
            time_format="unix",
            type_map={"pv": "view", "cart": "add_to_cart", "buy": "purchase"},
            skip_types={"fav"},
            sessionize_minutes=30,
        ),
        "otto": FileSpec(
            format="jsonl",
            explode="events",
            mapping={"session": "session_id", "aid": "product", "ts": "occurred_at", "type": "type"},
            time_format="unix_ms",
            type_map={"clicks": "view", "carts": "add_to_cart", "orders": "purchase"},
        ),
        "tianchi": FileSpec(
            format="csv",
            mapping={
                "user_id": "customer", "item_id": "product", "behavior_type": "type",
                "user_geohash": "properties.user_geohash", "item_category": "properties.item_category",
                "time": "occurred_at",
            },  # fmt: skip
            time_format="%Y-%m-%d %H",
            time_zone="Asia/Shanghai",
            type_map={"1": "view", "3": "add_to_cart", "4": "purchase"},
            skip_types={"2"},
            sessionize_minutes=30,
        ),
    },
}

# The README's exact command per dataset (the commands' --help shows these too).
DATASET_COMMANDS = {
    "catalog": [
        "python manage.py import_catalog ../shared/datasets/myntra-catalog/myntra_products_catalog.csv --store demo --preset myntra",
        "python manage.py import_catalog ../shared/datasets/amazon-grocery-5core/item_meta.csv --store demo --preset amazon-grocery",
    ],
    "customers": [],
    "orders": [
        "python manage.py import_orders ../shared/datasets/cdnow/CDNOW_master.txt --store demo --preset cdnow --create-missing",
    ],
    "events": [
        "python manage.py import_events ../shared/datasets/amazon-grocery-5core/train.csv --store demo --preset amazon-grocery --create-missing",
        "python manage.py import_events ../shared/datasets/rees46-oct2019-head/2019-Oct-sample.csv --store demo --preset rees46 --create-missing",
        "python manage.py import_events ../shared/datasets/taobao-userbehavior-slice/UserBehavior.csv --store demo --preset taobao --create-missing",
        "python manage.py import_events ../shared/datasets/otto-fixture/train.jsonl --store demo --preset otto --create-missing",
        "python manage.py import_events ../shared/datasets/tianchi-mobile-2014-head/sample_user_behavior.csv --store demo --preset tianchi --create-missing",
    ],
}


def preset_spec(kind: str, name: str) -> FileSpec:
    presets = PRESETS[kind]
    if name not in presets:
        raise ValueError(f"Unknown preset {name!r} for this command (known: {', '.join(presets) or 'none'}).")
    spec = presets[name]
    return replace(spec, mapping=dict(spec.mapping), constants=dict(spec.constants), type_map=dict(spec.type_map))
