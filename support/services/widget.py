"""Anonymous widget sessions (signed, bound to one store) and rate limits per session and per IP."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http.request import validate_host

from ecomops.models import Store
from support.models import Conversation, ConversationStatus
from support.services.conversations import conversation_start

SALT = "support.widget.session"
SESSION_MAX_AGE_S = 30 * 24 * 3600
RATE_PER_SESSION = (20, 60)  # messages per window (s)
RATE_PER_IP = (60, 60)


def session_new() -> str:
    return secrets.token_urlsafe(18)


def session_sign(session_id: str, *, store: Store) -> str:
    return signing.dumps({"s": session_id, "store": store.pk}, salt=SALT, compress=True)


def session_verify(token: str, *, store: Store) -> str | None:
    """The session id if the token is ours, unexpired and for this store; None otherwise."""
    if not token:
        return None
    try:
        data = signing.loads(token, salt=SALT, max_age=SESSION_MAX_AGE_S)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("store") != store.pk or not isinstance(data.get("s"), str):
        return None
    return data["s"]


ORIGINS_SETTING = "widget_origins"
MAX_ORIGINS = 50


class OriginsInvalid(ValueError):
    """A line of the allowed-origins list is not an origin; the message names the line."""


def _origin_normalise(value: str) -> str | None:
    parts = urlsplit(value.strip().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        return None
    if parts.username or parts.password:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port and port != default else "")


def widget_origins_get(*, store: Store) -> list[str]:
    return list((store.settings or {}).get(ORIGINS_SETTING, []))


def widget_origins_set(*, store: Store, text: str) -> list[str]:
    """Saves the sites allowed to embed the widget (one origin a line, e.g. https://shop.example.com).
    Validates every line first; a bad one raises OriginsInvalid naming it and nothing is saved."""
    origins: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        origin = _origin_normalise(line)
        if origin is None:
            raise OriginsInvalid(f"Line {number}: {line.strip()[:100]!r} is not an origin like https://shop.example.com "
                                 "(scheme and host, optional port, no path).")
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise OriginsInvalid(f"At most {MAX_ORIGINS} origins.")
    store.settings = {**(store.settings or {}), ORIGINS_SETTING: origins}
    store.save(update_fields=["settings"])
    return origins


def widget_origin_allowed(*, store: Store, origin: str | None) -> bool:
    """Whether a browser on `origin` may open the store's chat socket: this site itself (ALLOWED_HOSTS) or a site
    the merchant listed. No Origin header (not a browser) is allowed: the check protects customers' browsers, and
    non-browser clients are held by the signed session and the rate limits."""
    if not origin:
        return True
    normalised = _origin_normalise(origin)
    if normalised is None:
        return False
    host = urlsplit(normalised).hostname or ""
    # The same hosts HttpRequest.get_host accepts (its DEBUG default when ALLOWED_HOSTS is empty).
    allowed_hosts = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if validate_host(host, allowed_hosts):
        return True
    return normalised in widget_origins_get(store=store)


def _hit(key: str, limit: int, window: int) -> bool:
    added = cache.add(key, 1, timeout=window)
    if added:
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return True
    return count <= limit


def rate_limit_allows(*, session_id: str, ip: str) -> bool:
    """Fixed-window counters in the shared cache (Redis), so every server process enforces the same limits."""
    ok_session = _hit(f"support:rl:s:{session_id}", *RATE_PER_SESSION)
    ok_ip = _hit(f"support:rl:ip:{ip}", *RATE_PER_IP)
    return ok_session and ok_ip


def open_conversation_for(*, store: Store, session_id: str) -> Conversation | None:
    return (
        Conversation.objects.for_store(store).filter(session_key=session_id)
        .exclude(status=ConversationStatus.RESOLVED).order_by("-created_at").first()
    )


def conversation_for_session(*, store: Store, session_id: str) -> Conversation:
    return open_conversation_for(store=store, session_id=session_id) or conversation_start(
        store=store, channel="widget", session_key=session_id
    )
