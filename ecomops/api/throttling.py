"""Throttles that survive their cache: with Redis down, counting falls back to this process's memory.

The per-user API throttle (every API request pays it) is one Redis counter per user and window: `SET key 0 EX
window NX; INCR key; TTL key` in one round trip (a fixed window that starts at the user's first request in it),
instead of DRF's list of every request time in the window, read and written whole (pickled) on each request.
The ASGI fast path (ecomops.fastpath) counts into the same key (`counter_key`, `async_counter_hit`), so a client
has one budget whichever way its requests are answered. A window holds at most `num_requests`; two windows
back to back can let up to twice that through within one window's length (DRF's sliding log would not).

DRF's throttles keep their counters in the default cache (Redis). When it is unreachable, a plain throttle
raises and every API request answers 500. These fall back to a per-process local-memory cache (the limit
still holds per process, roughly, instead of not at all) and log the outage once a minute, not per request.
When Redis is back the shared counters are used again on the next request.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
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


_local_counts: dict[str, tuple[int, float]] = {}


def counter_key(ident: str) -> str:
    """The raw Redis key of a user's counter (under the cache's own prefix)."""
    return cache.make_key(f"ratecount:{ident}")


def _local_hit(key: str, duration: int) -> tuple[int, float]:
    now = time.monotonic()
    count, reset = _local_counts.get(key, (0, 0.0))
    if reset <= now:
        count, reset = 0, now + duration
        if len(_local_counts) > 10_000:
            _local_counts.clear()
    _local_counts[key] = (count + 1, reset)
    return count + 1, reset - now


def counter_hit(key: str, duration: int) -> tuple[int, float]:
    """(requests in this window including this one, seconds until the window ends)."""
    try:
        pipe = cache._cache.get_client(key, write=True).pipeline(transaction=True)
        pipe.set(key, 0, ex=duration, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - redis.ConnectionError, TimeoutError, OSError...
        _warn(exc)
        return _local_hit(key, duration)
    return int(count), float(ttl if ttl and ttl > 0 else duration)


async def async_counter_hit(client, key: str, duration: int) -> tuple[int, float]:
    """`counter_hit` on an asyncio Redis client (the fast path, on the event loop)."""
    try:
        async with client.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=duration, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
    except Exception as exc:  # noqa: BLE001
        _warn(exc)
        return _local_hit(key, duration)
    return int(count), float(ttl if ttl and ttl > 0 else duration)


class UserRateThrottle(throttling.UserRateThrottle):
    """DRF's user throttle (same rate setting, same ident: the user, else the client address), counted in one
    Redis counter per window."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        count, self._wait = counter_hit(counter_key(self.key), self.duration)
        return count <= self.num_requests

    def wait(self):
        return self._wait


class SlidingLogUserRateThrottle(CacheFallbackMixin, throttling.UserRateThrottle):
    """DRF's own user throttle (a list of request times per user): what every request paid before."""


class AnonRateThrottle(CacheFallbackMixin, throttling.AnonRateThrottle):
    pass


class ScopedRateThrottle(CacheFallbackMixin, throttling.ScopedRateThrottle):
    pass


def counter_clear(*idents: str) -> None:
    """Forget these throttle idents' counters (e.g. "throttle_user_7"): tests, or lifting a limit by hand."""
    keys = [counter_key(ident) for ident in idents]
    cache._cache.get_client(keys[0], write=True).delete(*keys)
    for key in keys:
        _local_counts.pop(key, None)
