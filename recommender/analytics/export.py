"""CSV export of the RFM customer list, streamed from a server-side query in chunks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from ecomops.models import Store

from .rfm import SEGMENT_LABELS, RfmSpec, rfm_customers_query
from .sql import analytics_cursor

CSV_COLUMNS = (
    "external_id", "name", "email", "country", "segment", "r", "f", "m", "last_order_at", "orders", "revenue",
)
CHUNK_ROWS = 2000


def rfm_csv_rows(store: Store, spec: RfmSpec | None = None, *, segment: str | None = None) -> Iterator[str]:
    """Yields CSV text: a header line, then one line per customer (largest spenders first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    q = rfm_customers_query(store, spec, segment=segment)
    with analytics_cursor() as cursor:
        cursor.execute(q.sql, q.db_params)
        names = [col[0] for col in cursor.description]
        while rows := cursor.fetchmany(CHUNK_ROWS):
            buffer.seek(0)
            buffer.truncate()
            for raw in rows:
                row = dict(zip(names, raw, strict=True))
                row["segment"] = SEGMENT_LABELS[row["segment"]]
                last = row["last_order_at"]
                row["last_order_at"] = last.isoformat() if hasattr(last, "isoformat") else last
                row["revenue"] = f"{float(row['revenue']):.2f}"
                writer.writerow([_safe(row[c]) for c in CSV_COLUMNS])
            yield buffer.getvalue()


def _safe(value):
    """Neutralise spreadsheet formulas in free text (CSV injection): prefix =,+,-,@ with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
