"""A short-lived result cache for analytics reports, invalidated when new data is ingested.

Reports are SQL aggregates over up to millions of rows; the page asks for the same ones again and again. A result
is cached per (store, data version, report, parameters) for `REPORT_TTL_SECONDS`. The ingest hook bumps the store's
data version (`analytics_cache_invalidate`), so new events show up on the next request, and the TTL bounds the
staleness of reports that depend on "now" (RFM recency, "today").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.cache import cache

from ecomops.models import Store

REPORT_TTL_SECONDS = 300


def _version_key(store_id: int) -> str:
    return f"analytics:version:{store_id}"


def analytics_cache_invalidate(store_id: int) -> None:
    try:
        cache.incr(_version_key(store_id))
    except ValueError:  # no version yet: nothing cached for this store
        cache.set(_version_key(store_id), 1, None)


def cached_report(store: Store, report: str, params: dict[str, Any], compute: Callable[[], Any]) -> Any:
    version = cache.get_or_set(_version_key(store.pk), 1, None)
    # created_at tells apart stores that reuse a primary key (SQLite reuses rowids after a rollback).
    identity = f"{store.pk}:{store.created_at.timestamp() if store.created_at else ''}"
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    key = f"analytics:report:{identity}:{version}:{report}:{digest}"
    hit = cache.get(key)
    if hit is not None:
        return hit
    value = compute()
    cache.set(key, value, REPORT_TTL_SECONDS)
    return value
