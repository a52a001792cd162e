"""Issue 12 on the support pages, in headless Chromium against Daphne: inbox rows say who wrote, what they
last wrote, when and where it stands (no UUIDs), a message that arrives live updates the preview, and the
analytics charts of a store without conversations show an empty state instead of "−1 conversations"."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connections

from ecomops.realtime import store_broadcast
from support.models import Conversation, ConversationStatus, Message, MessageRole
from tests.browser import needs_chromium
from tests.dashboard_browser import chart, merchant_page  # the live_url fixture comes from tests/conftest.py
from tests.factories import CustomerFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

PASSWORD = "inbox-pass-2026"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def shop():
    store = StoreFactory(slug="inbox-shop", name="Inbox Shop")
    MembershipFactory(store=store, user=UserFactory(username="agent", password=PASSWORD))
    return store


def test_inbox_rows_show_customer_preview_time_and_status(live_url):
    store = shop()
    ada = CustomerFactory(store=store, name="Ada Lovelace", email="ada@example.com")
    waiting = Conversation.objects.create(store=store, customer=ada, status=ConversationStatus.WAITING,
                                          last_intent="track_order", handoff_reason="asked for a person")
    Message.objects.create(store=store, conversation=waiting, role=MessageRole.CUSTOMER, text="Where is my order #1042?")
    Message.objects.create(store=store, conversation=waiting, role=MessageRole.BOT, text="Let me hand you to a colleague.")
    anonymous = Conversation.objects.create(store=store, status=ConversationStatus.BOT, last_intent="shipping_info")
    Message.objects.create(store=store, conversation=anonymous, role=MessageRole.CUSTOMER, text="Do you ship to Norway?")
    with merchant_page(live_url, "agent", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/support/")
        rows = page.locator("#inbox-table tbody tr[data-conversation]")
        expect(rows).to_have_count(2)
        first = rows.nth(0)  # waiting for a human comes first
        expect(first.locator(".c-customer")).to_contain_text("Ada Lovelace")
        expect(first.locator(".c-preview")).to_have_text("Where is my order #1042?")  # the customer's words, not the bot's
        expect(first.locator(".c-status")).to_contain_text("Waiting for a human")
        expect(first.locator(".c-status")).to_contain_text("asked for a person")
        expect(first.locator(".c-intent")).to_have_text("Track order")
        expect(first.locator(".c-updated")).to_contain_text("ago")
        second = rows.nth(1)
        expect(second.locator(".c-customer")).to_contain_text("Visitor")
        expect(second.locator(".c-preview")).to_have_text("Do you ship to Norway?")
        assert not UUID.search(page.locator("#inbox-table").inner_text())
        expect(page.locator("body[data-live='on']")).to_be_attached()

        def customer_writes():
            try:
                store_broadcast(store.pk, "support.message", {"message": {
                    "conversation": str(anonymous.public_id), "role": "customer", "text": "And to Iceland?"}},
                    on_commit=False)
            finally:
                connections.close_all()

        t = threading.Thread(target=customer_writes)
        t.start()
        t.join()
        expect(second.locator(".c-preview")).to_have_text("And to Iceland?")
        assert not page.errors, page.errors


def test_support_analytics_without_conversations_shows_empty_states(live_url):
    store = shop()
    with merchant_page(live_url, "agent", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/support/analytics/")
        for chart_id in ("deflection-chart", "response-chart", "handoff-chart", "csat-chart"):
            assert chart(page, chart_id)["empty"], chart_id
        assert page.locator(".main-svg").count() == 0  # no "−1 conversations" axes
        assert not page.errors, page.errors
    conversation = Conversation.objects.create(store=store, status=ConversationStatus.RESOLVED, csat=4)
    Message.objects.create(store=store, conversation=conversation, role=MessageRole.CUSTOMER, text="Thanks!")
    with merchant_page(live_url, "agent", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/support/analytics/")
        csat = chart(page, "csat-chart")
        assert csat["traces"][0]["y"] == [0, 0, 0, 1, 0]
        assert csat["yaxis"]["range"][0] == 0 and csat["yaxis"]["tickvals"] == ["0", "1"]  # whole conversations
        deflection = chart(page, "deflection-chart")
        assert deflection["yaxis"]["range"][0] == 0
        assert all("." not in t and "−" not in t for t in deflection["yaxis"]["tickvals"])
