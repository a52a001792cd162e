"""Hot-read caches: results kept in each web process's memory, keyed by per-store version stamps kept in Redis.

A request to a hot endpoint (trending, personal recommendations, the product list, live counters) reads the
stamps it depends on in one Redis round trip (`stamps`), then looks its result up in this process's memory under
a key that contains those stamps. A write bumps a stamp after its transaction commits (`bump`): every process's
next request misses and recomputes, so the next response reflects the write. The TTL bounds what no stamp covers
(time passing: "trending in the last 7 days", "events in the last minute").

Scopes:
    catalog   products created, changed, deleted, imported (ecomops.services.catalog, the importers)
    activity  events and orders ingested (the ingest hook): the live counters
The recommender's model stamp (recommender.services.training.stamp_key) is the third one, bumped on activation.

Values are shared between requests: callers copy before they mutate. `settings.ECOMOPS_HOT_CACHE = False`
(env ECOMOPS_HOT_CACHE=0) turns the result cache off (bench/http.py's baseline runs so).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")
CATALOG = "catalog"
ACTIVITY = "activity"
MAX_ENTRIES = 2048  # per process; a personal list is ~2 KB, so at most a few MB

_entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
_lock = threading.Lock()


def stamp_key(scope: str, store_id: int) -> str:
    return f"hot:{scope}:{store_id}"


def enabled() -> bool:
    return getattr(settings, "ECOMOPS_HOT_CACHE", True)


def stamps(keys: Sequence[str]) -> tuple[str, ...]:
    """The current value of each stamp key, in one round trip. A missing key (never bumped, or evicted) gets a new
    random value: an entry cached under the old value can never match again."""
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            fresh = uuid.uuid4().hex
            cache.add(key, fresh, timeout=None)
            found[key] = cache.get(key) or fresh
    return tuple(str(found[key]) for key in keys)


def store_stamps(store_id: int, *scopes: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    return stamps([*(stamp_key(scope, store_id) for scope in scopes), *extra])


def bump(store_id: int, *scopes: str) -> None:
    """Invalidate the store's results in `scopes` now and again after the current transaction commits.

    Now: this transaction's own later reads (and a test's, whose transaction never commits) see the write. After
    commit: another process that recomputed between the two from the not yet committed state gets a new stamp too.
    """

    def _bump() -> None:
        cache.set_many({stamp_key(scope, store_id): uuid.uuid4().hex for scope in scopes}, timeout=None)

    if transaction.get_connection().in_atomic_block:
        _bump()
    transaction.on_commit(_bump)


def on_data_ingested(store_id: int) -> None:
    """The ingest hook (settings.ECOMOPS_INGEST_HOOKS): events or orders were imported, maybe with new products."""
    bump(store_id, ACTIVITY, CATALOG)


def cached(key: Hashable, ttl: float, compute: Callable[[], T]) -> T:
    """This process's value for `key` (which must contain the stamps it depends on), computed on a miss."""
    if not enabled():
        return compute()
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
        if hit is not None and hit[0] > now:
            _entries.move_to_end(key)
            return hit[1]
    value = compute()
    with _lock:
        _entries[key] = (now + ttl, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear_local() -> None:
    """Forget this process's entries (tests: a fresh process's view)."""
    with _lock:
        _entries.clear()
