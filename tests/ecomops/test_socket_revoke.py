"""A socket lives no longer than the right that opened it: removing a membership, changing its role or logging
out closes the user's open store sockets, through the per-user group on the real Redis channel layer."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections
from django.test import Client

from ecomops.models import Membership, Role
from ecomops.realtime import CLOSE_ACCESS_CHANGED, CLOSE_FORBIDDEN, CLOSE_SESSION_ENDED, store_broadcast
from ecomops.routing import websocket_urlpatterns
from ecomops.services.members import membership_grant, membership_remove, membership_role_change
from tests.factories import MembershipFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
async def close_thread_connections():
    yield
    await sync_to_async(connections.close_all, thread_sensitive=True)()


async def test_the_channel_layer_is_redis(settings):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"


async def open_socket(user, slug: str, session_key: str | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{slug}/live/")
    communicator.scope["user"] = user
    if session_key is not None:
        communicator.scope["session"] = await database_sync_to_async(SessionStore)(session_key=session_key)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    return communicator


async def closed_with(communicator, timeout: float = 5) -> tuple[int, list[dict]]:
    """Read until the server closes the socket: (close code, the JSON messages before it)."""
    import json

    seen = []
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output.get("code"), seen
        seen.append(json.loads(output["text"]))


async def stays_open(communicator) -> bool:
    await communicator.send_json_to({"type": "ping"})
    return (await communicator.receive_json_from(timeout=5)) == {"type": "pong"}


@database_sync_to_async
def shop_with_members():
    store, other = StoreFactory(slug="revoke-shop"), StoreFactory(slug="revoke-other")
    agent = UserFactory(username="agent")
    membership = MembershipFactory(store=store, user=agent, role=Role.MANAGER)
    MembershipFactory(store=other, user=agent, role=Role.MANAGER)
    colleague = MembershipFactory(store=store, role=Role.OWNER).user
    return store, other, agent, membership, colleague


async def test_removing_a_membership_closes_the_members_socket_to_that_store_only():
    store, other, agent, membership, colleague = await shop_with_members()
    agent_socket = await open_socket(agent, store.slug)
    agent_other_socket = await open_socket(agent, other.slug)
    colleague_socket = await open_socket(colleague, store.slug)

    await database_sync_to_async(membership_remove)(membership=membership)

    code, messages = await closed_with(agent_socket)
    assert code == CLOSE_FORBIDDEN == 4403
    assert messages[-1] == {"type": "access.revoked", "code": 4403, "reason": "You are no longer a member of this store."}
    assert await stays_open(agent_other_socket)
    assert await stays_open(colleague_socket)
    # The store's live messages (customer e-mails, notes) reach the colleague, and a reconnect is refused.
    await database_sync_to_async(store_broadcast)(store.pk, "support.message", {"text": "note"}, on_commit=False)
    assert (await colleague_socket.receive_json_from())["text"] == "note"
    again = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{store.slug}/live/")
    again.scope["user"] = agent
    connected, code = await again.connect()
    assert not connected and code == 4403
    # Let every consumer's task finish (also the refused and the closed ones) before the loop closes.
    for communicator in (again, agent_socket, agent_other_socket, colleague_socket):
        await communicator.disconnect()


async def test_a_role_change_closes_the_socket_and_a_reconnect_gets_the_new_role():
    store, _other, agent, membership, _colleague = await shop_with_members()
    socket = await open_socket(agent, store.slug)
    await database_sync_to_async(membership_role_change)(membership=membership, role=Role.ANALYST)
    code, messages = await closed_with(socket)
    assert code == CLOSE_ACCESS_CHANGED == 4409
    assert "Analyst" in messages[-1]["reason"]
    await socket.disconnect()
    again = await open_socket(agent, store.slug)
    assert await stays_open(again)
    await again.disconnect()
    # Granting the role it already has changes nothing, so nothing is closed.
    third = await open_socket(agent, store.slug)
    await database_sync_to_async(membership_grant)(store=store, user=agent, role=Role.ANALYST)
    assert await stays_open(third)
    await third.disconnect()


async def test_logout_closes_the_sockets_of_that_session_only():
    store, _other, agent, _membership, _colleague = await shop_with_members()
    laptop, phone = Client(), Client()
    await database_sync_to_async(laptop.force_login)(agent)
    await database_sync_to_async(phone.force_login)(agent)
    laptop_key = await database_sync_to_async(lambda: laptop.session.session_key)()
    phone_key = await database_sync_to_async(lambda: phone.session.session_key)()
    assert laptop_key != phone_key
    laptop_socket = await open_socket(agent, store.slug, session_key=laptop_key)
    phone_socket = await open_socket(agent, store.slug, session_key=phone_key)

    response = await database_sync_to_async(laptop.post)("/logout/")  # the real LogoutView
    assert response.status_code == 302

    code, messages = await closed_with(laptop_socket)
    assert code == CLOSE_SESSION_ENDED == 4401
    assert messages[-1]["reason"] == "You were logged out."
    assert await stays_open(phone_socket)
    await laptop_socket.disconnect()
    await phone_socket.disconnect()


async def test_deleting_the_user_closes_their_sockets():
    store, other, agent, _membership, _colleague = await shop_with_members()
    first, second = await open_socket(agent, store.slug), await open_socket(agent, other.slug)
    await database_sync_to_async(agent.delete)()  # memberships go by cascade, without the service
    assert (await closed_with(first))[0] == 4403
    assert (await closed_with(second))[0] == 4403
    await first.disconnect()
    await second.disconnect()
    assert not await database_sync_to_async(Membership.objects.filter(user_id=agent.pk).exists)()


async def test_an_anonymous_socket_is_refused():
    from django.contrib.auth.models import AnonymousUser

    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/stores/revoke-shop/live/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()
    assert not connected and code == 4403
    await communicator.disconnect()  # let the refused consumer's task finish before the loop closes


async def test_the_admin_role_change_and_delete_revoke_through_the_services():
    """The admin is the page where memberships are edited: its saves and deletes send the revoke (real layer)."""
    from channels.layers import get_channel_layer

    from ecomops.realtime import user_group_name

    store, _other, agent, membership, _colleague = await shop_with_members()
    admin_client = Client()
    staff = await database_sync_to_async(lambda: UserFactory(username="ops", is_staff=True, is_superuser=True))()
    await database_sync_to_async(admin_client.force_login)(staff)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(user_group_name(agent.pk), channel)

    url = f"/admin/ecomops/membership/{membership.pk}/change/"
    response = await database_sync_to_async(admin_client.post)(
        url, {"user": agent.pk, "store": store.pk, "role": Role.ANALYST})
    assert response.status_code == 302, response.content[:500]
    event = await layer.receive(channel)
    assert event["type"] == "access.revoke" and event["code"] == 4409 and event["store_id"] == store.pk

    response = await database_sync_to_async(admin_client.post)(
        f"/admin/ecomops/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    event = await layer.receive(channel)
    assert event["code"] == 4403 and event["store_id"] == store.pk
    assert not await database_sync_to_async(Membership.objects.filter(pk=membership.pk).exists)()
    await layer.group_discard(user_group_name(agent.pk), channel)
