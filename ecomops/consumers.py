"""The store live socket: /ws/stores/<slug>/live/. Members only; others are closed with code 4403."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from ecomops.realtime import store_group_name
from ecomops.scoping import store_access_for

CLOSE_FORBIDDEN = 4403


class StoreLiveConsumer(AsyncJsonWebsocketConsumer):
    group_name: str | None = None

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["store_slug"]
        user = self.scope.get("user")
        try:
            access = await database_sync_to_async(store_access_for)(user, slug)
        except Http404:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.store = access.store
        self.access = access
        self.group_name = store_group_name(access.store.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "store": slug})

    async def disconnect(self, code):
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def store_message(self, event):
        await self.send_json(event["payload"])
