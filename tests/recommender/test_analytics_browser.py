"""The Analytics page in a real browser (headless Chromium via Playwright, Daphne as a subprocess): every chart
draws from the API, and an ingest batch updates the live counters over the websocket without a reload."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.utils import timezone

from ecomops.models import Event
from recommender.analytics.live import on_events_ingested
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, needs_chromium
from tests.ecomops.live_servers import start_daphne
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect, sync_playwright = sync_api.expect, sync_api.sync_playwright

SECTIONS = ("funnel", "retention", "lifecycle", "rfm", "trends", "top", "paths")


def make_shop():
    store = StoreFactory(slug="analytics-shop", name="Analytics Shop")
    user = UserFactory(username="analyst-merchant", password="browser-pass-2026")
    MembershipFactory(store=store, user=user)
    product = ProductFactory(store=store, category="Shoes")
    now = timezone.now() - timedelta(hours=2)
    events = []
    for i in range(12):
        customer = CustomerFactory(store=store)
        kinds = ["view", "add_to_cart", "checkout", "purchase"][: 1 + i % 4]
        for j, kind in enumerate(kinds):
            events.append(Event(store=store, customer=customer, session_id=f"b{i}", type=kind, product=product,
                                occurred_at=now - timedelta(days=i) + timedelta(minutes=j)))
        if len(kinds) == 4:
            order = OrderFactory(store=store, customer=customer, placed_at=now - timedelta(days=i), total=Decimal("30.00"))
            # a line, so revenue per category has something to draw (without it the chart shows its empty state)
            OrderLineFactory(store=store, order=order, product=product, quantity=1, unit_price=Decimal("30.00"),
                             line_total=Decimal("30.00"))
    Event.objects.bulk_create(events)
    return store


def ingest_batch(store):
    """What the ingest path does: write the events, then call the hook after commit."""
    try:
        with transaction.atomic():
            Event.objects.bulk_create([
                Event(store=store, session_id=f"live{i}", type="view", occurred_at=timezone.now()) for i in range(7)
            ])
            transaction.on_commit(lambda: on_events_ingested(store.pk))
    finally:
        connections.close_all()


@needs_chromium
def test_analytics_page_draws_every_chart_and_live_counters_update():
    daphne, base_url = start_daphne()
    store = make_shop()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            errors = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
            try:
                page.goto(f"{base_url}/login/")
                log_in(page, "analyst-merchant", "browser-pass-2026")
                page.wait_for_url(f"{base_url}/stores/{store.slug}/")
                page.get_by_role("link", name="Analytics").click()
                page.wait_for_url(f"{base_url}/stores/{store.slug}/recommendations/analytics/")
                for name in SECTIONS:
                    expect(page.locator(f"#{name}-section[data-ready='1']")).to_be_attached(timeout=60_000)
                for chart in ("funnel", "retention", "lifecycle", "rfm", "trends", "paths", "categories"):
                    assert page.locator(f"#{chart}-chart .main-svg").count() >= 1, chart
                # dormant customers are drawn below the line, but no tick reads "−40 customers"
                ticks = page.eval_on_selector_all("#lifecycle-chart .ytick text", "els => els.map(e => e.textContent)")
                assert ticks and not any(t.strip().startswith(("-", "\u2212")) for t in ticks), ticks
                expect(page.locator("#funnel-table tbody tr")).to_have_count(4)
                expect(page.locator("#funnel-table tbody tr").first).to_contain_text("12")
                # A bad parameter shows the API's field error instead of a chart.
                page.locator("#funnel-form input[name=window]").fill("soon")
                page.locator("#funnel-form button").click()
                expect(page.locator("#funnel-error")).to_contain_text("window")
                errors.clear()  # that 400 was intended

                expect(page.locator("body[data-live='on']")).to_be_attached(timeout=30_000)
                before = page.locator("#live-epm").inner_text()
                # The ORM may not run inside Playwright's event loop: ingest from a plain thread, like a worker would.
                with ThreadPoolExecutor(1) as pool:
                    pool.submit(ingest_batch, store).result()
                expect(page.locator("#live-epm")).to_have_text("7", timeout=15_000)
                assert before == "0"
                expect(page.locator("#live-sessions")).to_have_text("7")
                page.screenshot(path="/tmp/ecomops-analytics.png", full_page=True)
            except Exception as exc:
                page.screenshot(path="/tmp/ecomops-analytics-failure.png", full_page=True)
                raise AssertionError(f"{exc}\n--- errors ---\n{errors}\n--- daphne ---\n{daphne.output()[-3000:]}") from exc
            finally:
                browser.close()
        assert not errors, errors
    finally:
        daphne.stop()
