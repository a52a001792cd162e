"""The chat widget's websocket: /ws/support/<store_slug>/chat/.

The session token never travels in the URL (URLs end up in access logs and proxies): after the socket opens the
server says `ready`, and the client's first message is `{"type": "session", "token": "<signed token or empty>"}`;
the server answers `session` with the (new or resumed) token, the conversation and its history. A client that
sends anything else first starts a fresh anonymous session; one that sends nothing is closed (4408).

Messages are rate-limited per session, per conversation and per store + client address (behind trusted proxies:
NUM_PROXIES), and answered on the `inference` Celery queue (support.tasks.support_widget_answer): vetted text
streams back as `token` events and the stored reply as `message` + `done`, all through the conversation's group,
so an agent's reply reaches the customer the same way and the web process never runs a model.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from ecomops.client_identity import client_ip_from_scope
from ecomops.models import Store
from support import selectors
from support.services import widget
from support.services.conversations import conversation_group, conversation_rate, message_payload

CLOSE_NO_STORE = 4404
CLOSE_ORIGIN_NOT_ALLOWED = 4403
CLOSE_NO_SESSION = 4408
SESSION_TIMEOUT_S = 15.0  # how long an opened socket may stay without its `session` message
MAX_INPUT_CHARS = 10_000  # longer messages are cut here; the answering service explains its own 2,000 limit
RATE_LIMITED = "You're sending messages very quickly. Please wait a moment and try again."
TOO_MANY_CONVERSATIONS = "Too many new conversations from your network. Please wait a few minutes and try again."
UNAVAILABLE = "The assistant is unavailable right now. Please try again in a moment."
logger = logging.getLogger(__name__)


class WidgetChatConsumer(AsyncJsonWebsocketConsumer):
    conversation = None
    group = None
    session_id: str | None = None
    _session_timer: asyncio.Task | None = None

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["store_slug"]
        self.store = await database_sync_to_async(lambda: Store.objects.filter(slug=slug).first())()
        if self.store is None:
            await self.close(code=CLOSE_NO_STORE)
            return
        origin = dict(self.scope.get("headers") or []).get(b"origin", b"").decode("latin-1")
        if not widget.widget_origin_allowed(store=self.store, origin=origin):
            logger.info("widget socket for %s refused: origin %r is not in the store's allowed origins", slug, origin)
            await self.close(code=CLOSE_ORIGIN_NOT_ALLOWED)
            return
        self.client = client_ip_from_scope(self.scope)
        await self.accept()
        await self.send_json({"type": "ready", "store": self.store.name})
        self._session_timer = asyncio.ensure_future(self._close_without_session())

    async def _close_without_session(self) -> None:
        await asyncio.sleep(SESSION_TIMEOUT_S)
        if self.session_id is None:
            await self.send_json({"type": "error", "code": "no_session",
                                  "message": "Send {\"type\": \"session\", \"token\": ...} first."})
            await self.close(code=CLOSE_NO_SESSION)

    async def _start_session(self, token) -> None:
        if self._session_timer is not None:
            self._session_timer.cancel()
        token = token if isinstance(token, str) else ""
        self.session_id = await database_sync_to_async(widget.session_verify)(token, store=self.store) or widget.session_new()
        self.conversation = await database_sync_to_async(widget.open_conversation_for)(store=self.store, session_id=self.session_id)
        history = []
        if self.conversation is not None:
            await self._join(self.conversation)
            history = await database_sync_to_async(
                lambda: [message_payload(m) for m in selectors.messages_for(self.conversation, internal=False)]
            )()
        await self.send_json({
            "type": "session",
            "token": widget.session_sign(self.session_id, store=self.store),
            "conversation": str(self.conversation.public_id) if self.conversation else None,
            "status": self.conversation.status if self.conversation else "bot",
            "history": history,
            "store": self.store.name,
        })

    async def _join(self, conversation):
        self.group = conversation_group(conversation)
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def disconnect(self, code):
        if self._session_timer is not None:
            self._session_timer.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if self.session_id is None:
            await self._start_session(content.get("token") if kind == "session" else "")
            if kind == "session":
                return
        if kind == "session":
            await self.send_json({"type": "error", "code": "session_set", "message": "The session is already set."})
            return
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        if kind == "csat":
            if self.conversation is None:
                return
            try:
                await database_sync_to_async(conversation_rate)(conversation=self.conversation, score=content.get("score"))
            except ValueError as exc:
                await self.send_json({"type": "error", "message": str(exc)})
                return
            await self.send_json({"type": "csat", "ok": True})
            return
        if kind != "message":
            await self.send_json({"type": "error", "message": "Unknown message type."})
            return
        await self._message(content.get("text"))

    async def _message(self, text) -> None:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        text = text[:MAX_INPUT_CHARS]
        allowed = await database_sync_to_async(widget.rate_limit_allows)(
            store=self.store, session_id=self.session_id, client=self.client, conversation=self.conversation,
        )
        if not allowed:
            await self.send_json({"type": "error", "code": "rate_limited", "message": RATE_LIMITED})
            return
        if self.conversation is None:
            if not await database_sync_to_async(widget.conversation_start_allows)(store=self.store, client=self.client):
                await self.send_json({"type": "error", "code": "rate_limited", "message": TOO_MANY_CONVERSATIONS})
                return
            self.conversation = await database_sync_to_async(widget.conversation_for_session)(
                store=self.store, session_id=self.session_id
            )
            await self._join(self.conversation)
            await self.send_json({"type": "conversation", "conversation": str(self.conversation.public_id)})
            await database_sync_to_async(widget.conversation_message_counted)(conversation=self.conversation)
        await self.send_json({"type": "typing"})
        try:
            await database_sync_to_async(widget.widget_answer_request)(conversation=self.conversation, text=text)
        except Exception:  # noqa: BLE001 - the broker is unreachable: say so instead of waiting forever
            logger.exception("queueing a widget answer failed")
            await self.send_json({"type": "error", "code": "unavailable", "message": UNAVAILABLE})

    async def chat_token(self, event):
        await self.send_json({"type": "token", "text": event["text"], "request": event.get("request")})

    async def chat_event(self, event):
        await self.send_json(event["payload"])
