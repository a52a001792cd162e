"""The chat widget over a real websocket (Redis channel layer) with its answers made by a REAL Celery worker on the
`inference` queue: signed sessions sent as the first message (never in the URL), chat end to end, rate limits that
hold across reconnects and behind proxies, the inbox's live updates, and an agent's reply reaching the customer."""

from __future__ import annotations

import random

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from ecomops.routing import websocket_urlpatterns
from support import consumers
from support.models import Conversation, Message
from support.services import widget
from support.services.conversations import agent_reply_send
from tests.ecomops.live_servers import start_celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _answer_worker(use_lm: bool):
    """A Celery worker on `inference` only, as production runs the widget's answers (SUPPORT_USE_LM in its env)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPORT_USE_LM", "1" if use_lm else "0")
        return start_celery_worker(queues="inference", timeout=180)


@pytest.fixture(scope="module")
def answer_worker(django_db_setup, django_db_blocker):
    """One worker for this module, quoting passages (no LM: the LM over the socket is test_lm.py's)."""
    with django_db_blocker.unblock():
        process = _answer_worker(use_lm=False)
    yield process
    process.stop()


@pytest.fixture
def lm_answer_worker(transactional_db):
    """A worker that generates with SmolLM2 (test_lm.py's socket test)."""
    process = _answer_worker(use_lm=True)
    yield process
    process.stop()


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """ORM calls ran in asgiref worker threads; close their connections so the test DB can be dropped."""
    yield
    await sync_to_async(connections.close_all, thread_sensitive=True)()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test runs on its own event loop: a layer left with a receive pending (a test that timed out) holds a lock
    bound to the old loop, and every later test would fail on it. A fresh layer per test keeps one failure one."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def fresh_limits():
    """The limits live in the shared cache (this run's Redis db): every test starts from zero."""
    from django.core.cache import cache

    cache.clear()


def random_ip() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def chat(slug: str, token: str = "", *, ip: str | None = None, forwarded_for: str | None = None,
         path_suffix: str = "") -> WebsocketCommunicator:
    """A widget socket. `token` is sent by `start()` as the first message, never in the URL."""
    headers = [(b"x-forwarded-for", forwarded_for.encode())] if forwarded_for else []
    c = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/support/{slug}/chat/{path_suffix}",
                              headers=headers)
    c.scope["client"] = (ip or random_ip(), 5000)
    c.first_token = token
    return c


async def start(c: WebsocketCommunicator, token: str | None = None) -> dict:
    """Connect, read `ready`, send the session message, return the `session` answer."""
    connected, code = await c.connect()
    assert connected, code
    assert (await c.receive_json_from(timeout=10))["type"] == "ready"
    await c.send_json_to({"type": "session", "token": c.first_token if token is None else token})
    session = await c.receive_json_from(timeout=10)
    assert session["type"] == "session"
    return session


def live(user, slug: str) -> WebsocketCommunicator:
    c = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{slug}/live/")
    c.scope["user"] = user
    return c


async def answer_of(c, timeout: float = 120) -> tuple[dict, list[dict]]:
    """Read until the bot's (or a hand-off's) stored reply and the `done` marker have both arrived."""
    seen: list[dict] = []
    bot = None
    while bot is None or not any(m["type"] == "done" for m in seen):
        m = await c.receive_json_from(timeout=timeout)
        seen.append(m)
        if m["type"] == "message" and m["message"]["role"] == "bot":
            bot = m
        if m["type"] == "done" and m.get("message") and bot is None:
            bot = {"type": "message", "message": m["message"]}
    return bot, seen


async def until(c, predicate, timeout: float = 20) -> dict:
    while True:
        m = await c.receive_json_from(timeout=timeout)
        if predicate(m):
            return m


@pytest.fixture
def quoting(answer_worker):
    """Answer by quoting the best passage (the module's worker runs with SUPPORT_USE_LM=0)."""
    return answer_worker


async def test_chat_end_to_end_with_a_resumable_signed_session(faq, classifier, store, quoting):
    c = chat(store.slug)
    hello = await start(c)
    assert hello["conversation"] is None and hello["token"]
    await c.send_json_to({"type": "message", "text": "How long does shipping take?"})
    bot, seen = await answer_of(c)
    assert "3 to 5 business days" in bot["message"]["text"] and bot["message"]["sources"][0]["cited"]
    done = next(m for m in seen if m["type"] == "done")
    assert done["request"] and done["message"]["id"] == bot["message"]["id"]
    await c.disconnect()
    # The answer was made by the worker, not in this (web) process.
    assert "support.widget_answer" in quoting.output() and "succeeded" in quoting.output()

    again = chat(store.slug, hello["token"])
    resumed = await start(again)
    assert resumed["conversation"] is not None
    assert [m["role"] for m in resumed["history"]] == ["customer", "bot"]
    await again.disconnect()

    forged = chat(store.slug, hello["token"][:-3] + "abc")
    assert (await start(forged))["conversation"] is None  # a fresh anonymous session
    await forged.disconnect()


async def test_a_token_in_the_url_is_ignored(faq, classifier, store, quoting):
    c = chat(store.slug)
    first = await start(c)
    await c.send_json_to({"type": "message", "text": "How long does shipping take?"})
    await answer_of(c)
    await c.disconnect()
    in_url = chat(store.slug, path_suffix=f"?session={first['token']}")
    assert (await start(in_url, token=""))["conversation"] is None
    await in_url.disconnect()


async def test_a_socket_that_never_sends_its_session_is_closed(store, monkeypatch):
    monkeypatch.setattr(consumers, "SESSION_TIMEOUT_S", 0.3)
    c = chat(store.slug)
    assert (await c.connect())[0]
    assert (await c.receive_json_from(timeout=10))["type"] == "ready"
    assert (await c.receive_json_from(timeout=10))["code"] == "no_session"
    assert (await c.receive_output(timeout=10)) == {"type": "websocket.close", "code": 4408}
    await c.disconnect()  # let the closed consumer's task finish before the loop closes


async def test_a_message_before_the_session_starts_a_fresh_one(faq, classifier, store, quoting):
    c = chat(store.slug)
    assert (await c.connect())[0]
    await c.receive_json_from(timeout=10)  # ready
    await c.send_json_to({"type": "message", "text": "How long does shipping take?"})
    session = await until(c, lambda m: m["type"] == "session")
    assert session["conversation"] is None and session["token"]
    bot, _ = await answer_of(c)
    assert "business days" in bot["message"]["text"]
    await c.disconnect()


async def test_a_session_of_one_store_is_not_valid_for_another(store, other_store):
    token = await database_sync_to_async(widget.session_sign)("abc", store=store)
    assert await database_sync_to_async(widget.session_verify)(token, store=other_store) is None
    assert await database_sync_to_async(widget.session_verify)(token, store=store) == "abc"


async def test_unknown_store_is_closed(transactional_db):
    c = chat("no-such-store")
    connected, code = await c.connect()
    assert not connected and code == 4404
    await c.disconnect()


async def test_messages_are_rate_limited_per_session(store, monkeypatch, quoting):
    monkeypatch.setattr(widget, "RATE_PER_SESSION", (2, 60))
    c = chat(store.slug)
    await start(c)
    for _ in range(2):
        await c.send_json_to({"type": "message", "text": ""})
        await answer_of(c)
    await c.send_json_to({"type": "message", "text": "one more"})
    err = await until(c, lambda m: m["type"] == "error")
    assert err["code"] == "rate_limited"
    assert await database_sync_to_async(lambda: Message.objects.filter(text="one more").exists())() is False
    await c.disconnect()


async def send_one(slug: str, text: str, **where) -> dict:
    """A new session (no token) sends one message: the first `error` or the bot's `done`."""
    c = chat(slug, **where)
    await start(c)
    await c.send_json_to({"type": "message", "text": text})
    outcome = await until(c, lambda m: m["type"] in ("error", "done"), timeout=60)
    await c.disconnect()
    return outcome


async def test_a_new_session_per_reconnect_does_not_reset_the_client_budget(store, monkeypatch, quoting):
    monkeypatch.setattr(widget, "RATE_PER_CLIENT", (3, 60))
    outcomes = [await send_one(store.slug, "", ip="203.0.113.5") for _ in range(4)]
    assert [o["type"] for o in outcomes] == ["done", "done", "done", "error"]
    assert outcomes[-1]["code"] == "rate_limited"
    # Another visitor of the same store has a budget of its own.
    assert (await send_one(store.slug, "", ip="203.0.113.6"))["type"] == "done"


async def test_a_spoofed_forwarded_for_gets_no_fresh_budget_without_trusted_proxies(store, monkeypatch, settings, quoting):
    settings.NUM_PROXIES = 0
    monkeypatch.setattr(widget, "RATE_PER_CLIENT", (2, 60))
    outcomes = [await send_one(store.slug, "", ip="198.51.100.1", forwarded_for=f"192.0.2.{i}") for i in range(3)]
    assert [o["type"] for o in outcomes] == ["done", "done", "error"]


async def test_behind_one_proxy_the_right_most_forwarded_address_is_the_client(store, monkeypatch, settings, quoting):
    settings.NUM_PROXIES = 1
    monkeypatch.setattr(widget, "RATE_PER_CLIENT", (2, 60))
    proxy = "10.0.0.2"  # every visitor's socket comes from the load balancer
    same = [await send_one(store.slug, "", ip=proxy, forwarded_for=f"6.6.6.{i}, 203.0.113.7") for i in range(3)]
    assert [o["type"] for o in same] == ["done", "done", "error"]
    # A different visitor behind the same proxy is not limited by the first one's messages.
    assert (await send_one(store.slug, "", ip=proxy, forwarded_for="203.0.113.8"))["type"] == "done"


async def test_starting_new_conversations_is_limited_per_client(store, monkeypatch, quoting):
    monkeypatch.setattr(widget, "RATE_NEW_CONVERSATIONS", (2, 600))
    outcomes = [await send_one(store.slug, "", ip="203.0.113.9") for _ in range(3)]
    assert [o["type"] for o in outcomes] == ["done", "done", "error"]
    assert "new conversations" in outcomes[-1]["message"]
    count = await database_sync_to_async(lambda: Conversation.objects.for_store(store).count())()
    assert count == 2


async def test_messages_are_limited_per_conversation(store, monkeypatch, quoting):
    monkeypatch.setattr(widget, "RATE_PER_CONVERSATION", (2, 60))
    c = chat(store.slug)
    session = await start(c)
    await c.send_json_to({"type": "message", "text": ""})
    await answer_of(c)
    await c.disconnect()
    # The same conversation resumed from another address: still the same conversation's budget.
    again = chat(store.slug, session["token"])
    await start(again)
    await again.send_json_to({"type": "message", "text": ""})
    await answer_of(again)
    await again.send_json_to({"type": "message", "text": "third"})
    assert (await until(again, lambda m: m["type"] == "error"))["code"] == "rate_limited"
    await again.disconnect()


async def test_inbox_gets_live_updates_and_the_agent_reply_reaches_the_customer(faq, classifier, store, owner, quoting):
    inbox = live(owner, store.slug)
    assert (await inbox.connect())[0]
    await inbox.receive_json_from()  # hello
    c = chat(store.slug)
    await start(c)
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
