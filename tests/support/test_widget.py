"""The chat widget over a real websocket (Redis channel layer): signed sessions, chat end to end, rate limits,
the inbox's live updates, and an agent's reply reaching the customer."""

from __future__ import annotations

import random

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from ecomops.routing import websocket_urlpatterns
from support.models import Conversation, Message
from support.services import widget
from support.services.conversations import agent_reply_send

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """ORM calls ran in asgiref worker threads; close their connections so the test DB can be dropped."""
    yield
    await sync_to_async(connections.close_all, thread_sensitive=True)()


def chat(slug: str, token: str = "") -> WebsocketCommunicator:
    c = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/support/{slug}/chat/?session={token}")
    c.scope["client"] = (f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}", 5000)
    return c


def live(user, slug: str) -> WebsocketCommunicator:
    c = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{slug}/live/")
    c.scope["user"] = user
    return c


async def answer_of(c, timeout: float = 60) -> tuple[dict, list[dict]]:
    """Read until the bot's (or a hand-off's) stored reply and the `done` marker have both arrived."""
    seen: list[dict] = []
    bot = None
    while bot is None or not any(m["type"] == "done" for m in seen):
        m = await c.receive_json_from(timeout=timeout)
        seen.append(m)
        if m["type"] == "message" and m["message"]["role"] == "bot":
            bot = m
    return bot, seen


async def until(c, predicate, timeout: float = 20) -> dict:
    while True:
        m = await c.receive_json_from(timeout=timeout)
        if predicate(m):
            return m


@pytest.fixture
def quoting(settings):
    """Answer by quoting the best passage (no LM) — the LM path over the socket is test_lm.py's."""
    settings.SUPPORT_USE_LM = False


async def test_chat_end_to_end_with_a_resumable_signed_session(faq, classifier, store, quoting):
    c = chat(store.slug)
    assert (await c.connect())[0]
    hello = await c.receive_json_from(timeout=10)
    assert hello["type"] == "session" and hello["conversation"] is None and hello["token"]
    await c.send_json_to({"type": "message", "text": "How long does shipping take?"})
    bot, _ = await answer_of(c)
    assert "3 to 5 business days" in bot["message"]["text"] and bot["message"]["sources"][0]["cited"]
    await c.disconnect()

    again = chat(store.slug, hello["token"])
    assert (await again.connect())[0]
    resumed = await again.receive_json_from(timeout=10)
    assert resumed["conversation"] is not None
    assert [m["role"] for m in resumed["history"]] == ["customer", "bot"]
    await again.disconnect()

    forged = chat(store.slug, hello["token"][:-3] + "abc")
    assert (await forged.connect())[0]
    assert (await forged.receive_json_from(timeout=10))["conversation"] is None  # a fresh anonymous session
    await forged.disconnect()


async def test_a_session_of_one_store_is_not_valid_for_another(store, other_store):
    token = await database_sync_to_async(widget.session_sign)("abc", store=store)
    assert await database_sync_to_async(widget.session_verify)(token, store=other_store) is None
    assert await database_sync_to_async(widget.session_verify)(token, store=store) == "abc"


async def test_unknown_store_is_closed(db):
    c = chat("no-such-store")
    connected, code = await c.connect()
    assert not connected and code == 4404
    await c.disconnect()


async def test_messages_are_rate_limited_per_session(store, monkeypatch, quoting):
    monkeypatch.setattr(widget, "RATE_PER_SESSION", (2, 60))
    c = chat(store.slug)
    await c.connect()
    await c.receive_json_from(timeout=10)
    for _ in range(2):
        await c.send_json_to({"type": "message", "text": ""})
        await answer_of(c)
    await c.send_json_to({"type": "message", "text": "one more"})
    err = await until(c, lambda m: m["type"] == "error")
    assert err["code"] == "rate_limited"
    assert await database_sync_to_async(lambda: Message.objects.filter(text="one more").exists())() is False
    await c.disconnect()


async def test_inbox_gets_live_updates_and_the_agent_reply_reaches_the_customer(faq, classifier, store, owner, quoting):
    inbox = live(owner, store.slug)
    assert (await inbox.connect())[0]
    await inbox.receive_json_from()  # hello
    c = chat(store.slug)
    await c.connect()
    await c.receive_json_from(timeout=10)
    await c.send_json_to({"type": "message", "text": "I want to talk to a real person"})
    await answer_of(c)
    update = await until(inbox, lambda m: m["type"] == "support.conversation" and m["conversation"]["status"] == "waiting")
    assert update["conversation"]["handoff_reason"] == "customer asked for a human"
    seen = await until(inbox, lambda m: m["type"] == "support.message" and m["message"]["role"] == "bot")
    assert seen["message"]["answer_mode"] == "handoff"

    conversation = await database_sync_to_async(lambda: Conversation.objects.get(public_id=update["conversation"]["id"]))()
    await database_sync_to_async(agent_reply_send)(conversation=conversation, text="Hi, Sam here. How can I help?", author=owner)
    reply = await until(c, lambda m: m["type"] == "message" and m["message"]["role"] == "agent")
    assert reply["message"]["text"] == "Hi, Sam here. How can I help?"
    await c.send_json_to({"type": "csat", "score": 4})
    await until(c, lambda m: m["type"] == "csat")
    assert await database_sync_to_async(lambda: Conversation.objects.get(pk=conversation.pk).csat)() == 4
    await c.disconnect()
    await inbox.disconnect()
