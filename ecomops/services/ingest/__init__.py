"""Every way data gets in: validation and bulk writes of events, products, customers and orders.

Shared by the bulk API (`POST /api/v1/stores/<slug>/events/bulk`) and the `import_*` management commands, which
are thin doors: they turn files into rows of canonical fields and hand them here.

Rows are `(row_number, {canonical field: value})`. Validation never writes; every problem comes back as a
`RowError(row, field, reason)` so the API can answer 400 naming the row index and field, and the commands can
print the line and column. Writes are upserts by natural key, so re-running the same input is idempotent:

- products by `sku`, customers by `external_id`, orders by `number` (their lines are replaced);
- events have no natural key, so each gets a deterministic dedupe key stored in `properties["_ingest_key"]`:
  a hash of (customer external id, or the session id for anonymous events; type; product sku; occurred_at in
  microseconds since the epoch; n), where n counts identical tuples within one input, so genuinely repeated events survive and re-sent
  ones are recognised. Events whose key already exists in the store are counted as duplicates, not written.

On PostgreSQL events go in through psycopg 3 `COPY ... FROM STDIN` (nothing to resolve: duplicates are
filtered beforehand), elsewhere through `bulk_create` in batches. Products, customers, orders and lines use COPY too
on PostgreSQL (upserts through a temporary table and INSERT ... ON CONFLICT DO UPDATE); see rows_write().
"""

from .common import (
    CUSTOMER_FIELDS,
    EVENT_FIELDS,
    INGEST_KEY,
    MAX_BULK_EVENTS,
    ORDER_FIELDS,
    PRODUCT_FIELDS,
    IngestRejected,
    IngestResult,
    RowError,
    ids_by_key,
    ingest_committed_notify,
    rows_write,
    tables_analyse,
)
from .events import EVENT_COPY_COLUMNS, EventDraft, EventImporter, event_draft_validate, events_bulk_ingest, events_copy
from .tables import customers_upsert, orders_upsert, products_upsert

__all__ = [
    "CUSTOMER_FIELDS",
    "EVENT_COPY_COLUMNS",
    "EVENT_FIELDS",
    "INGEST_KEY",
    "MAX_BULK_EVENTS",
    "ORDER_FIELDS",
    "PRODUCT_FIELDS",
    "EventDraft",
    "EventImporter",
    "IngestRejected",
    "IngestResult",
    "RowError",
    "customers_upsert",
    "event_draft_validate",
    "events_bulk_ingest",
    "events_copy",
    "ids_by_key",
    "ingest_committed_notify",
    "orders_upsert",
    "products_upsert",
    "rows_write",
    "tables_analyse",
]
