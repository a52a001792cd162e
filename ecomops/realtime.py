"""The one helper that pushes live messages to a store's websocket group (STYLE.md §5).

Messages are sent after the surrounding transaction commits, so the browser never sees a state that is then
rolled back. Every message is JSON with a `type` such as `job.progress`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger(__name__)


def store_group_name(store_id: int) -> str:
    return f"store-{store_id}"


def _send_now(store_id: int, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            store_group_name(store_id), {"type": "store.message", "payload": message}
        )
    except Exception:  # a broadcast failure must never break the write that caused it
        logger.exception("live broadcast to store %s failed", store_id)


def store_broadcast(store_id: int, message_type: str, data: dict[str, Any], *, on_commit: bool = True) -> None:
    """Send `{"type": message_type, **data}` to every open socket of the store."""
    message = json.loads(json.dumps({"type": message_type, **data}, cls=DjangoJSONEncoder))
    if on_commit:
        transaction.on_commit(lambda: _send_now(store_id, message))
    else:
        _send_now(store_id, message)


class ChannelLayerGuard:
    """ASGI wrapper for websockets: while the channel layer (Redis) is unreachable, a socket ends with close code
    4503 "unavailable, try again" (accepted first, so the browser sees that code) instead of the server answering
    the handshake with HTTP 500 or dropping it with 1011. static/js/live.js reconnects on it with backoff.
    (Not the standard 1013: Daphne's websocket library only lets a server send 1000 or 3000-4999.)"""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        state = {"accepted": False, "closed": False}

        async def tracking_send(message):
            if message["type"] == "websocket.accept":
                state["accepted"] = True
            elif message["type"] == "websocket.close":
                state["closed"] = True
            await send(message)

        try:
            return await self.app(scope, receive, tracking_send)
        except (RedisConnectionError, RedisTimeoutError, ConnectionError) as exc:
            logger.warning("websocket %s: channel layer unavailable (%s); closing with %s", scope.get("path"), exc,
                           CLOSE_TRY_AGAIN_LATER)
            if state["closed"]:
                return None
            if not state["accepted"]:
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
            return None


CLOSE_TRY_AGAIN_LATER = 4503  # like the app's 4403: an HTTP status in the 4000 range
# --- Per-user groups: a socket lives no longer than the right that opened it ------------------------------
# Every member socket also joins `user-<id>`. A revoke message there closes the user's sockets: those of one
# store (membership removed or its role changed), those of one session (logout), or all of them.
CLOSE_SESSION_ENDED = 4401  # logged out: the session that opened the socket is gone
CLOSE_FORBIDDEN = 4403  # no longer a member of the store (the dashboard does not reconnect)
CLOSE_ACCESS_CHANGED = 4409  # the role changed: reconnect to get the new rights


def user_group_name(user_id: int) -> str:
    return f"user-{user_id}"


def user_sockets_revoke(user_id: int, *, code: int, reason: str, store_id: int | None = None,
                        session_key: str | None = None, on_commit: bool = True) -> None:
    """Close the user's open sockets, narrowed to one store and/or one session when given."""
    event = {"type": "access.revoke", "code": code, "reason": reason, "store_id": store_id, "session_key": session_key}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(user_group_name(user_id), event)
        except Exception:  # the write stands; the socket then lives until it reconnects and is re-checked
            logger.exception("revoking the sockets of user %s failed", user_id)

    if on_commit:
        transaction.on_commit(send)
    else:
        send()
