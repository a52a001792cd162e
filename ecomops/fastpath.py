"""The hot GET endpoints' fast path: an ASGI route in front of Django that answers a repeated request from bytes
this process already rendered, without running Django's middleware, DRF's view, its authentication, membership
look-up or renderer.

Routes: `GET /api/v1/stores/<slug>/recommendations/trending`, `…/recommendations/customers/<external_id>` and
`…/products/`, with an `Authorization: Token …` header (sessions — the browser — always take the full path).

A request goes through Django, the reference, unless all of these hold, in this process's memory:
  - the token is known (resolved by TokenAuthentication on an earlier request) and
  - its user is a member of the store with this slug (resolved by StoreScopedMixin on an earlier request),
  - both under the current auth version (one Redis key, `AUTH_VERSION`, bumped by every save or delete of a
    token, user, membership or store: a revoked token or a removed member takes the full path — 401 / 404 —
    on the very next request, in every process; TTL `IDENTITY_SECONDS` bounds a write that bypasses signals),
  - a 200 answer of the view for exactly this request (store, path, query string, Host, Accept,
    X-Forwarded-Proto/Host) is kept under the store's current catalog stamp (ecomops.hotcache: a product write
    or an import shows on the next request), for at most `ENTRY_SECONDS`,
  - the user's throttle counter (ecomops.api.throttling, the same key DRF's throttle counts into) is within
    its rate; over it, Django answers the 429 itself (DRF's body and Retry-After).
The auth version and the stamps come in one Redis round trip (MGET), the throttle in a second one; then the kept
status, headers and body go out. A recommendation list carries a fresh impression id and logs its impression row
(the same fields the view logged, through recommender.services.impressions' buffer), so the recommender's online
metrics count every list served.

Filling: when an eligible request falls through to Django, the view (`note()`) writes into the ASGI scope who was
authenticated, which store was resolved, the stamps it read before computing, and its impression; after a
200 without Set-Cookie this layer keeps the status, headers and body. Everything read before the view ran
(the auth version, the stamps) is what the entry is filed under, so a write racing the request can only make
the entry unreachable, never stale. The entry is also put in Redis (under a hash of its key, for its TTL), so
another worker process's first request for it is answered from there instead of running the view again.

`settings.ECOMOPS_FAST_PATH` (env ECOMOPS_FAST_PATH) or the hot cache off: everything goes through Django.
"""

from __future__ import annotations

import asyncio
import hashlib
import pickle
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer
from django.db import transaction

from ecomops import hotcache

SCOPE_KEY = "ecomops.fastpath"
AUTH_VERSION = "hot:auth"
IDENTITY_SECONDS = 30.0
ENTRY_SECONDS = 60.0  # at most the views' own TTLs (personal 60 s; trending asks for less, see its view)
MAX_ENTRIES = 2048
MAX_IDENTITIES = 20_000
MAX_BODY = 512 * 1024
PREFIX = "/api/v1/stores/"
ROUTES = (
    (re.compile(r"/api/v1/stores/([-a-zA-Z0-9_]+)/recommendations/trending"), "trending"),
    (re.compile(r"/api/v1/stores/([-a-zA-Z0-9_]+)/recommendations/customers/([^/]+)"), "personal"),
    (re.compile(r"/api/v1/stores/([-a-zA-Z0-9_]+)/products/"), "products"),
)


def _stamp_names(route: str, store_id: int) -> list[str]:
    """The stamps each route's answer is filed under, in the order its view reports them."""
    names = [hotcache.stamp_key(hotcache.CATALOG, store_id)]
    if route == "personal":
        from recommender.services.training import stamp_key

        names.append(stamp_key(store_id))
    return names


def _freshness(store_id: int, external_id: str):
    from django.db import close_old_connections

    from recommender.services.serving import customer_freshness

    close_old_connections()  # what Django does around a request: back to the pool / per CONN_MAX_AGE after
    try:
        return customer_freshness(store_id, external_id)
    finally:
        close_old_connections()
_KEY_HEADERS = (b"host", b"accept", b"x-forwarded-proto", b"x-forwarded-host")
_DROP_HEADERS = {b"content-length", b"server-timing"}
_serializer = RedisSerializer()


@dataclass
class Entry:
    expires: float
    status: int
    headers: list[tuple[bytes, bytes]]
    parts: tuple[bytes, ...]  # the body, or the body before and after its impression id
    impression: Any = None  # recommender.services.impressions.ImpressionSpec


_tokens: dict[str, tuple[str, int, float]] = {}  # token key -> (auth version, user id, expires)
_members: dict[tuple[int, str], tuple[str, int, float]] = {}  # (user id, slug) -> (auth version, store id, expires)
_entries: OrderedDict[tuple, Entry] = OrderedDict()
_clients: dict[int, tuple[asyncio.AbstractEventLoop, Any]] = {}


def enabled() -> bool:
    return getattr(settings, "ECOMOPS_FAST_PATH", True) and hotcache.enabled()


def clear_local() -> None:
    """Forget this process's identities and answers (tests: a fresh process's view)."""
    _tokens.clear()
    _members.clear()
    _entries.clear()


def clear_shared() -> None:
    """Forget the answers kept in Redis for every process (tests)."""
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=cache.make_key("fast:*")))
    if keys:
        client.delete(*keys)


def bump_auth() -> None:
    """Every process's remembered tokens and memberships stop counting: now and after the transaction commits."""

    def _bump() -> None:
        cache.set(AUTH_VERSION, uuid.uuid4().hex, timeout=None)

    if transaction.get_connection().in_atomic_block:
        _bump()
    transaction.on_commit(_bump)


def on_identity_changed(sender, **kwargs) -> None:
    """post_save / post_delete of Token, User, Membership, Store (ecomops.receivers)."""
    bump_auth()


def capturing(request) -> dict | None:
    """The fast path's note for this request when it will keep the answer; None otherwise (not ASGI, not a
    route of the fast path, no token)."""
    scope = getattr(request, "scope", None)  # ASGIRequest; a DRF Request passes the attribute through
    return scope.get(SCOPE_KEY) if isinstance(scope, dict) else None


def note(request, *, store_id: int, stamps: tuple[str, ...], ttl: float, impression=None,
         impression_id: str | None = None, extra=None) -> None:
    """Called by the view once it has answered: who, which store, the stamps it read before computing."""
    ctx = capturing(request)
    if ctx is None:
        return
    auth = getattr(request, "auth", None)
    if getattr(auth, "key", None) != ctx["token"]:  # authenticated some other way: nothing to remember
        return
    ctx.update(user_id=request.user.pk, store_id=store_id, stamps=tuple(stamps), ttl=min(ttl, ENTRY_SECONDS),
               impression=impression, impression_id=impression_id, extra=extra)


def _redis():
    """An asyncio Redis client for the running loop (one per worker process in production)."""
    import redis.asyncio

    loop = asyncio.get_running_loop()
    held = _clients.get(id(loop))
    if held is None or held[0] is not loop:
        if len(_clients) > 8:  # loops of finished tests
            _clients.clear()
        held = (loop, redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=3))
        _clients[id(loop)] = held
    return held[1]


def _decode(raw) -> str | None:
    return None if raw is None else str(_serializer.loads(raw))


class FastPath:
    """ASGI middleware for the "http" protocol (ecomops.asgi)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(PREFIX):
            return await self.app(scope, receive, send)
        route = slug = None
        for pattern, name in ROUTES:
            match = pattern.fullmatch(scope["path"])
            if match:
                route, slug, arg = name, match.group(1), match.group(2) if name == "personal" else None
                break
        if route is None or not enabled():
            return await self.app(scope, receive, send)
        token, keyed = None, []
        for name, value in scope["headers"]:
            if name == b"authorization" and token is None:
                token = value
            elif name in _KEY_HEADERS:
                keyed.append((name, value))
        if token is None or not token.startswith(b"Token "):
            return await self.app(scope, receive, send)
        token = token[6:].strip().decode("latin-1")
        started = time.perf_counter()
        try:
            return await self._handle(scope, receive, send, route, slug, arg, token, tuple(sorted(keyed)), started)
        except _RedisDown:
            return await self.app(scope, receive, send)

    async def _handle(self, scope, receive, send, route, slug, arg, token, keyed, started):
        client = _redis()
        now = time.monotonic()
        user = _tokens.get(token)
        member = _members.get((user[1], slug)) if user and user[2] > now else None
        if member is not None and member[2] > now:
            names = [cache.make_key(name) for name in (AUTH_VERSION, *_stamp_names(route, member[1]))]
            values = await _call(client.mget(names))
            version, stamps = _decode(values[0]), tuple(_decode(v) for v in values[1:])
            if version is not None and version == user[0] == member[0] and None not in stamps:
                # A personal list also depends on the customer's newest event and order line: one indexed query.
                extra = await _call(sync_to_async(_freshness)(member[1], arg)) if route == "personal" else None
                key = (route, member[1], stamps, extra, keyed, scope["path"], scope["query_string"])
                entry = _entries.get(key)
                if entry is None or entry.expires <= now:
                    entry = await _shared_get(client, key, now)  # filled by another worker process
                if entry is not None and entry.expires > now:
                    if await self._within_rate(client, user[1]):
                        _entries.move_to_end(key)
                        return await _serve(entry, send, started)
                    return await self.app(scope, receive, send)  # DRF answers the 429 (and counts it)
        else:
            version = _decode(await _call(client.get(cache.make_key(AUTH_VERSION))))
        if version is None:  # never bumped, or evicted: start one; this request just takes the full path
            await _call(client.set(cache.make_key(AUTH_VERSION), _serializer.dumps(uuid.uuid4().hex), nx=True))
            return await self.app(scope, receive, send)
        ctx: dict[str, Any] = {"token": token}
        return await self._fill(dict(scope, **{SCOPE_KEY: ctx}), receive, send, ctx, route, slug, token, keyed,
                                version)

    @staticmethod
    async def _within_rate(client, user_id: int) -> bool:
        from ecomops.api.throttling import UserRateThrottle, async_counter_hit, counter_key

        throttle = UserRateThrottle()
        if throttle.rate is None:
            return True
        ident = throttle.cache_format % {"scope": throttle.scope, "ident": user_id}
        count, _ = await async_counter_hit(client, counter_key(ident), throttle.duration)
        return count <= throttle.num_requests

    async def _fill(self, scope, receive, send, ctx, route, slug, token, keyed, version):
        response: dict[str, Any] = {"chunks": [], "size": 0}

        async def capture(message):
            if message["type"] == "http.response.start":
                response["status"], response["headers"] = message["status"], list(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                response["size"] += len(message.get("body", b""))
                if response["size"] <= MAX_BODY:
                    response["chunks"].append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if response.get("status") != 200 or "user_id" not in ctx or response["size"] > MAX_BODY:
            return
        headers = [(n.lower(), v) for n, v in response["headers"]]
        if any(n == b"set-cookie" for n, _ in headers):
            return
        body = b"".join(response["chunks"])
        parts: tuple[bytes, ...] = (body,)
        if ctx.get("impression") is not None:
            parts = tuple(body.split(ctx["impression_id"].encode()))
            if len(parts) != 2:
                return
        now = time.monotonic()
        if len(_tokens) > MAX_IDENTITIES or len(_members) > MAX_IDENTITIES:
            _tokens.clear()
            _members.clear()
        _tokens[token] = (version, ctx["user_id"], now + IDENTITY_SECONDS)
        _members[(ctx["user_id"], slug)] = (version, ctx["store_id"], now + IDENTITY_SECONDS)
        key = (route, ctx["store_id"], ctx["stamps"], ctx.get("extra"), keyed, scope["path"], scope["query_string"])
        kept = [h for h in headers if h[0] not in _DROP_HEADERS]
        _entries[key] = Entry(now + ctx["ttl"], 200, kept, parts, ctx.get("impression"))
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
        try:  # the answer is already sent: a Redis failure here only means other workers fill it themselves
            blob = pickle.dumps((time.time() + ctx["ttl"], kept, parts, ctx.get("impression")))
            await _redis().set(_shared_key(key), blob, ex=max(1, int(ctx["ttl"])))
        except Exception:  # noqa: BLE001, S110
            pass


def _shared_key(key: tuple) -> str:
    return cache.make_key("fast:" + hashlib.sha256(repr(key).encode()).hexdigest())


async def _shared_get(client, key: tuple, now: float) -> Entry | None:
    """Another worker's kept answer for `key` (the same stamps, so just as fresh), kept here too from now on."""
    raw = await _call(client.get(_shared_key(key)))
    if raw is None:
        return None
    expires_at, headers, parts, impression = pickle.loads(raw)  # noqa: S301 - our own cache, like Django's
    entry = Entry(now + (expires_at - time.time()), 200, headers, parts, impression)
    if entry.expires > now:
        _entries[key] = entry
    return entry


class _RedisDown(Exception):
    pass


async def _call(awaitable):
    try:
        return await awaitable
    except Exception as exc:  # noqa: BLE001 - redis.ConnectionError, TimeoutError, OSError: Django decides
        raise _RedisDown from exc


async def _serve(entry: Entry, send, started: float) -> None:
    body = entry.parts[0]
    if entry.impression is not None:
        from recommender.services.impressions import impression_log

        body = entry.parts[0] + impression_log(entry.impression, batch=True).encode() + entry.parts[1]
    headers = [*entry.headers, (b"content-length", str(len(body)).encode()),
               (b"server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.2f};desc=fast".encode())]
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
