"""Throttles that survive their cache: with Redis down, counting falls back to this process's memory.

DRF's throttles keep their counters in the default cache (Redis). When it is unreachable, a plain throttle
raises and every API request answers 500. These fall back to a per-process local-memory cache (the limit
still holds per process, roughly, instead of not at all) and log the outage once a minute, not per request.
When Redis is back the shared counters are used again on the next request.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from rest_framework import throttling

logger = logging.getLogger(__name__)

_local_cache = LocMemCache("ecomops-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})
_last_warning = 0.0


def _warn(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > 60:
        _last_warning = now
        logger.warning("throttle cache unavailable (%s: %s); counting in process memory until it is back",
                       exc.__class__.__name__, exc)


class CacheFallbackMixin:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - redis.ConnectionError, TimeoutError, OSError...
            _warn(exc)
            self.cache = _local_cache  # this instance only; the next request tries the shared cache again
            return super().allow_request(request, view)


class UserRateThrottle(CacheFallbackMixin, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(CacheFallbackMixin, throttling.AnonRateThrottle):
    pass


class ScopedRateThrottle(CacheFallbackMixin, throttling.ScopedRateThrottle):
    pass
