"""The chat widget's websocket: /ws/support/<store_slug>/chat/?session=<signed token>.

Anonymous customers get a signed session (django.core.signing, salted per app, bound to the store). Messages are
rate-limited per session and per IP, stored before the bot answers, and answered in a worker thread; generated
tokens stream back as `token` events and the final reply arrives as a `message` event through the conversation's
group (so an agent's reply reaches the customer the same way).
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import connections

from ecomops.models import Store
from support import selectors
from support.services import widget
from support.services.answering import widget_message_receive
from support.services.conversations import conversation_group, conversation_rate, message_payload

CLOSE_NO_STORE = 4404
CLOSE_ORIGIN_NOT_ALLOWED = 4403
logger = logging.getLogger(__name__)


# Answers run in a small pool of their own: the models are CPU-bound (more threads than cores only slow every
# answer down) and each thread holds a database connection while it answers, so 20 chats never need 20.
ANSWER_THREADS = int(os.environ.get("SUPPORT_ANSWER_THREADS", "4"))
_answer_pool = ThreadPoolExecutor(max_workers=ANSWER_THREADS, thread_name_prefix="support-answer")


def _answer_and_release(kwargs):
    """Answer in a pool thread, then close that thread's DB connection (pool threads are not request-scoped)."""
    try:
        return widget_message_receive(**kwargs)
    finally:
        connections.close_all()


class WidgetChatConsumer(AsyncJsonWebsocketConsumer):
    conversation = None
    group = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks: set[asyncio.Task] = set()

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
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("session") or [""])[0]
        self.session_id = widget.session_verify(token, store=self.store) or widget.session_new()
        client = self.scope.get("client") or ["unknown", 0]
        self.ip = client[0] or "unknown"
        await self.accept()
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
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
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
        allowed = await database_sync_to_async(widget.rate_limit_allows)(session_id=self.session_id, ip=self.ip)
        if not allowed:
            await self.send_json({"type": "error", "code": "rate_limited",
                                  "message": "You're sending messages very quickly. Please wait a moment and try again."})
            return
        text = content.get("text")
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if self.conversation is None:
            self.conversation = await database_sync_to_async(widget.conversation_for_session)(
                store=self.store, session_id=self.session_id
            )
            await self._join(self.conversation)
            await self.send_json({"type": "conversation", "conversation": str(self.conversation.public_id)})
        await self.send_json({"type": "typing"})
        # Answer in a background task so this consumer keeps dispatching (the conversation group's events, the
        # next message) while the model generates; tokens are pushed straight to this socket as they come.
        task = asyncio.ensure_future(self._answer(text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, text: str) -> None:
        send = async_to_sync(self.send_json)

        def on_token(piece: str) -> None:
            try:
                send({"type": "token", "text": piece})
            except Exception:  # noqa: BLE001 - the socket may be gone; the answer is still stored
                pass

        # Off the shared sync thread, so one slow generation does not stall every other chat's look-ups.
        kwargs = {"store": self.store, "conversation": self.conversation, "text": text, "on_token": on_token}
        try:
            reply = await asyncio.get_running_loop().run_in_executor(_answer_pool, _answer_and_release, kwargs)
        except Exception:  # noqa: BLE001 - never leave the customer without a reply
            logger.exception("widget answer failed")
            await self.send_json({"type": "error", "message": "Sorry, something went wrong. Please try again."})
            return
        # The stored reply also rides on `done`, straight down this socket: a group event lost under load must not
        # leave the customer without an answer (the widget de-duplicates by message id).
        message = await database_sync_to_async(message_payload)(reply.message) if reply.message else None
        await self.send_json({"type": "done", "handoff": reply.handoff, "intent": reply.intent, "message": message})

    async def chat_token(self, event):
        await self.send_json({"type": "token", "text": event["text"]})

    async def chat_event(self, event):
        await self.send_json(event["payload"])
