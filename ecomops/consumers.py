"""The store live socket: /ws/stores/<slug>/live/. Members only; others are closed with code 4403.

Every member socket also joins its user's group (`user-<id>`, ecomops.realtime), so revoking a membership,
changing its role or logging out closes it (4403 / 4409 / 4401) instead of leaving it in the store's group,
which carries customer e-mails and agents' notes. Member sockets of other apps use `MemberSocketMixin` too.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from ecomops.realtime import CLOSE_FORBIDDEN, store_group_name, user_group_name
from ecomops.scoping import store_access_for

__all__ = ["CLOSE_FORBIDDEN", "MemberSocketMixin", "StoreLiveConsumer"]


class MemberSocketMixin:
    """Join the user's group before the membership check, so a revoke sent while the socket is connecting is
    not missed; `access_revoke` closes the socket when the revoke concerns its store or its session."""

    user_group: str | None = None
    store = None

    async def member_connect(self, slug: str):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_FORBIDDEN)
            return None
        self.user_group = user_group_name(user.pk)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        try:
            access = await database_sync_to_async(store_access_for)(user, slug)
        except Http404:
            await self.close(code=CLOSE_FORBIDDEN)
            return None
        self.store = access.store
        return access

    async def member_disconnect(self):
        if self.user_group:
            await self.channel_layer.group_discard(self.user_group, self.channel_name)

    def _session_key(self) -> str | None:
        session = self.scope.get("session")
        return getattr(session, "session_key", None) if session is not None else None

    async def access_revoke(self, event):
        store_id, session_key = event.get("store_id"), event.get("session_key")
        if store_id is not None and (self.store is None or store_id != self.store.pk):
            return
        if session_key is not None and session_key != self._session_key():
            return
        try:
            await self.send_json({"type": "access.revoked", "code": event["code"], "reason": event.get("reason", "")})
        except Exception:  # noqa: BLE001 - not accepted yet or already closing: close anyway
            pass
        await self.close(code=event["code"])


class StoreLiveConsumer(MemberSocketMixin, AsyncJsonWebsocketConsumer):
    group_name: str | None = None

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["store_slug"]
        access = await self.member_connect(slug)
        if access is None:
            return
        self.access = access
        self.group_name = store_group_name(access.store.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "store": slug})

    async def disconnect(self, code):
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)
        await self.member_disconnect()

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def store_message(self, event):
        await self.send_json(event["payload"])
