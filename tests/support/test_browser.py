"""The widget and the inbox in a real browser (Playwright + Debian Chromium) against Daphne: a customer chats on
the standalone try-it page while an agent's inbox updates live, without reloading."""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, needs_chromium
from tests.ecomops.live_servers import start_celery_worker, start_daphne

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect, sync_playwright = sync_api.expect, sync_api.sync_playwright


@needs_chromium
def test_widget_chat_and_live_inbox(faq, classifier, store, owner, monkeypatch):
    monkeypatch.setenv("SUPPORT_USE_LM", "0")  # quote passages: the LM over the socket is covered in test_lm.py
    daphne, base = start_daphne()
    worker = start_celery_worker(queues="inference", timeout=180)  # the widget's answers are made on `inference`
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            agent = browser.new_page()
            agent.set_default_timeout(30_000)
            agent.goto(f"{base}/login/")
            log_in(agent, owner.username, "pass-word-123")
            agent.wait_for_url(f"{base}/stores/{store.slug}/")
            agent.goto(f"{base}/stores/{store.slug}/support/")
            expect(agent.locator("body[data-live='on']")).to_be_attached()

            customer = browser.new_page()
            customer.set_default_timeout(30_000)
            customer.goto(f"{base}/support/widget/{store.slug}/try/")
            box = customer.get_by_label("Support chat")
            expect(box).to_be_visible()
            customer.get_by_placeholder("Ask a question…").fill("How long does shipping take?")
            customer.get_by_role("button", name="Send").click()
            expect(customer.locator(".eso-bot").last).to_contain_text("business days", timeout=60_000)
            expect(customer.locator(".eso-bot .eso-src").last).to_contain_text("[1] How long does shipping take?")

            row = agent.locator("#inbox-table tbody tr[data-conversation]")
            expect(row).to_have_count(1)
            customer.get_by_placeholder("Ask a question…").fill("I want to talk to a real person")
            customer.get_by_role("button", name="Send").click()
            expect(row.locator(".c-status .badge")).to_have_text("Waiting for a human", timeout=60_000)
            expect(customer.locator(".eso-bot").last).to_contain_text("support team", timeout=60_000)
            customer.screenshot(path="/tmp/ecomops-support-widget.png")
            agent.screenshot(path="/tmp/ecomops-support-inbox.png", full_page=True)
            browser.close()
    except Exception as exc:
        raise AssertionError(f"{exc}\n--- daphne ---\n{daphne.output()[-3000:]}\n--- worker ---\n"
                             f"{worker.output()[-3000:]}") from exc
    finally:
        worker.stop()
        daphne.stop()
