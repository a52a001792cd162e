"""Anonymous widget sessions (signed, bound to one store) and rate limits per session and per IP."""

from __future__ import annotations

import secrets

from django.core import signing
from django.core.cache import cache

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
