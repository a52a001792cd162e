"""The chat widget's services: anonymous sessions (signed, bound to one store), the allowed origins, rate limits
that a reconnect cannot reset, and answers generated on the `inference` Celery queue and streamed back through the
channel layer (task -> conversation group -> every socket of that conversation), as the copywriter streams drafts.

Limits are counted in the shared cache (Redis), so every server process enforces the same ones. They are keyed by
the session, by the conversation, and by store + client address (the address the trusted proxies saw:
ecomops.client_identity with NUM_PROXIES), so a client that drops its token and reconnects gets a new session but
not a new budget; starting new conversations is limited per store + client as well.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import get_channel_layer
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.http.request import validate_host

from ecomops.models import Store
from support.models import Conversation, ConversationStatus
from support.services.answering import widget_message_receive
from support.services.conversations import conversation_group, conversation_start, message_payload

logger = logging.getLogger(__name__)
SALT = "support.widget.session"
SESSION_MAX_AGE_S = 30 * 24 * 3600
RATE_PER_SESSION = (20, 60)  # messages per window (s)
RATE_PER_CONVERSATION = (20, 60)
# Per store + client address, every session of that client together (settings, from the environment).
RATE_PER_CLIENT = (settings.SUPPORT_WIDGET_MESSAGES_PER_CLIENT_PER_MIN, 60)
RATE_NEW_CONVERSATIONS = (settings.SUPPORT_WIDGET_NEW_CONVERSATIONS_PER_CLIENT_PER_10_MIN, 600)
ANSWER_TASK = "support.widget_answer"
ANSWER_QUEUE = "inference"
ANSWER_FAILED = "Sorry, something went wrong while answering. Please try again."


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


def rate_limit_allows(*, store: Store, session_id: str, client: str, conversation: Conversation | None = None) -> bool:
    """One more customer message? Counted per session, per conversation and per store + client address."""
    checks = [
        _hit(f"support:rl:s:{session_id}", *RATE_PER_SESSION),
        _hit(f"support:rl:c:{store.pk}:{client}", *RATE_PER_CLIENT),
    ]
    if conversation is not None:
        checks.append(conversation_message_counted(conversation=conversation))
    return all(checks)


def conversation_message_counted(*, conversation: Conversation) -> bool:
    """Count a message against its conversation (also the first one, sent before the conversation existed)."""
    return _hit(f"support:rl:conv:{conversation.pk}", *RATE_PER_CONVERSATION)


def conversation_start_allows(*, store: Store, client: str) -> bool:
    """One more new conversation from this client address? (A new session per reconnect costs a conversation.)"""
    return _hit(f"support:rl:new:{store.pk}:{client}", *RATE_NEW_CONVERSATIONS)


def open_conversation_for(*, store: Store, session_id: str) -> Conversation | None:
    return (
        Conversation.objects.for_store(store).filter(session_key=session_id)
        .exclude(status=ConversationStatus.RESOLVED).order_by("-created_at").first()
    )


def conversation_for_session(*, store: Store, session_id: str) -> Conversation:
    return open_conversation_for(store=store, session_id=session_id) or conversation_start(
        store=store, channel="widget", session_key=session_id
    )


def widget_answer_request(*, conversation: Conversation, text: str) -> str:
    """Queue the bot's answer to a customer message on the `inference` queue; returns the request id that the
    streamed tokens and the final `done` carry. The message text travels with the task because the answering
    service stores the question itself (so a message is never stored twice); it is bounded by the consumer."""
    request_id = secrets.token_hex(8)
    transaction.on_commit(lambda: current_app.send_task(
        ANSWER_TASK, args=[conversation.pk, text, request_id], queue=ANSWER_QUEUE,
    ))
    return request_id


def _push(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:  # noqa: BLE001 - the answer is stored; the widget shows it on its next (re)connect
        logger.warning("support: push to %s failed", group, exc_info=True)


def widget_answer_run(*, conversation_id: int, text: str, request_id: str) -> str:
    """In the worker: answer through the support answering service, streaming vetted text to the conversation's
    sockets as it comes, then `done` with the stored reply (also after commit, as a `message`, from the service)."""
    conversation = Conversation.objects.select_related("store").filter(pk=conversation_id).first()
    if conversation is None:
        return "gone"
    group = conversation_group(conversation)

    def on_token(piece: str) -> None:
        _push(group, {"type": "chat.token", "text": piece, "request": request_id})

    try:
        reply = widget_message_receive(store=conversation.store, conversation=conversation, text=text,
                                       on_token=on_token)
    except Exception:  # noqa: BLE001 - incl. the soft time limit: never leave the customer without a word
        logger.exception("widget answer failed for conversation %s", conversation.public_id)
        _push(group, {"type": "chat.event", "payload": {"type": "error", "request": request_id,
                                                        "message": ANSWER_FAILED}})
        return "failed"
    payload = {
        "type": "done", "request": request_id, "handoff": reply.handoff, "intent": reply.intent,
        "message": message_payload(reply.message) if reply.message else None,
    }
    transaction.on_commit(lambda: _push(group, {"type": "chat.event", "payload": payload}))
    return "handoff" if reply.handoff else "answered"
