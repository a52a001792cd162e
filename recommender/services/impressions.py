"""The impression log: one row per served list (the recommender's online metrics attribute clicks and purchases
to it later, recommender.services.attribution), written in batches instead of one INSERT per request.

`impression_log(...)` gives the row its id at once (the response carries it) and, with
`settings.RECOMMENDER_IMPRESSION_BATCH` on (env RECOMMENDER_IMPRESSION_BATCH, default on; off in the test
settings, where each test's transaction must see its rows), puts it in this process's buffer. A flusher thread
writes the buffer with one bulk INSERT every FLUSH_SECONDS, or as soon as BATCH_SIZE rows wait; a process that
exits normally flushes what is left (atexit). Nothing reads an impression back by id within a second of serving
it: attribution runs over closed 7-day windows, so a row landing a fraction of a second late changes no metric.
What a crash loses: at most FLUSH_SECONDS of impressions of that process.

The ASGI fast path (ecomops.fastpath) logs through the same buffer, from the event loop: enqueueing never
touches the database.
"""

from __future__ import annotations

import atexit
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
BATCH_SIZE = 500
MAX_BUFFERED = 50_000  # the database away for a long while: drop the oldest rather than grow without bound


@dataclass(frozen=True)
class ImpressionSpec:
    """What one served list logs, minus its id and time (the same list served again logs a new row)."""

    store_id: int
    surface: str
    model_id: int | None = None
    customer_id: int | None = None
    product_ids: tuple[int, ...] = field(default_factory=tuple)
    fallback: bool = False


_buffer: list[tuple[str, datetime, ImpressionSpec]] = []
_lock = threading.Lock()
_wake = threading.Event()
_flusher: threading.Thread | None = None
_dropped = 0


def batching() -> bool:
    return getattr(settings, "RECOMMENDER_IMPRESSION_BATCH", True)


def impression_log(spec: ImpressionSpec, *, batch: bool | None = None) -> str:
    """Log one impression of `spec` now; returns its id."""
    impression_id = str(uuid.uuid4())
    now = timezone.now()
    if not (batching() if batch is None else batch):
        _write([(impression_id, now, spec)])
        return impression_id
    global _dropped
    with _lock:
        _buffer.append((impression_id, now, spec))
        if len(_buffer) > MAX_BUFFERED:
            _dropped += len(_buffer) - MAX_BUFFERED
            del _buffer[: len(_buffer) - MAX_BUFFERED]
        full = len(_buffer) >= BATCH_SIZE
    _ensure_flusher()
    if full:
        _wake.set()
    return impression_id


def pending() -> int:
    with _lock:
        return len(_buffer)


def discard() -> int:
    """Drop what is buffered (tests: rows of a previous test whose store is gone); returns how many."""
    with _lock:
        count = len(_buffer)
        _buffer.clear()
    return count


def flush() -> int:
    """Write what is buffered now (this thread); returns how many rows were written."""
    with _lock:
        rows = _buffer[:]
        _buffer.clear()
    written = 0
    for start in range(0, len(rows), BATCH_SIZE):
        try:
            written += _write(rows[start:start + BATCH_SIZE])
        except Exception:
            with _lock:  # not written (the database away): back in front of what came meanwhile
                _buffer[:0] = rows[start:]
            raise
    return written


def _write(rows) -> int:
    from recommender.models import RecommendationImpression

    objects = [
        RecommendationImpression(id=uuid.UUID(impression_id), store_id=spec.store_id, model_id=spec.model_id,
                                 surface=spec.surface, customer_id=spec.customer_id,
                                 product_ids=list(spec.product_ids), fallback=spec.fallback, created_at=created_at)
        for impression_id, created_at, spec in rows
    ]
    if not objects:
        return 0
    try:
        RecommendationImpression.objects.bulk_create(objects)
        return len(objects)
    except IntegrityError:
        # A customer, model or store deleted while its impressions waited: write the others one by one.
        written = 0
        for obj in objects:
            try:
                obj.save(force_insert=True)
                written += 1
            except IntegrityError:
                logger.info("impression %s dropped: its store, customer or model is gone", obj.pk)
        return written


def _run() -> None:
    while True:
        _wake.wait(FLUSH_SECONDS)
        _wake.clear()
        if not pending():
            continue
        try:
            close_old_connections()
            flush()
        except Exception:  # noqa: BLE001 - the database away: keep the rows for the next try, log once a round
            logger.exception("writing buffered impressions failed; retrying in %s s", FLUSH_SECONDS)
        finally:
            connection.close()  # back to the pool: this thread must not hold a connection while it sleeps


def _ensure_flusher() -> None:
    global _flusher
    if _flusher is not None and _flusher.is_alive():
        return
    with _lock:
        if _flusher is not None and _flusher.is_alive():
            return
        _flusher = threading.Thread(target=_run, name="impression-flusher", daemon=True)
        _flusher.start()


@atexit.register
def _flush_at_exit() -> None:
    if not _buffer:
        return
    try:
        flush()
    except Exception:  # noqa: BLE001 - the database gone at shutdown: say how many were lost
        logger.exception("impressions lost at exit")
