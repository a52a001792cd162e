"""The network dashboard in headless Chromium against Daphne: live KPI push updates the link table and the
charts, and the map renders, without reloading."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections

from network.services.demo import network_demo_seed
from network.services.simulation import simulation_advance, simulation_for_store
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, needs_chromium
from tests.ecomops.live_servers import start_daphne
from tests.factories import MembershipFactory, StoreFactory, UserFactory


def advance_and_close(store_id, when):
    try:
        simulation_advance(store_id=store_id, now=when)
    finally:
        connections.close_all()


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect, sync_playwright = sync_api.expect, sync_api.sync_playwright


@needs_chromium
def test_network_page_updates_live_and_map_renders(transactional_db):
    daphne, base_url = start_daphne()
    store = StoreFactory(slug="net-browser", name="Net Browser")
    user = UserFactory(username="netops", password="net-pass-2026")
    MembershipFactory(store=store, user=user)
    network_demo_seed(store)
    sim = simulation_for_store(store)
    now = sim.last_advanced_at + timedelta(seconds=5)
    simulation_advance(store_id=store.pk, now=now)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base_url}/login/")
            log_in(page, "netops", "net-pass-2026")
            page.wait_for_url(f"{base_url}/stores/{store.slug}/")
            page.goto(f"{base_url}/stores/{store.slug}/network/")
            expect(page.locator(".net-link .chart[data-ready='1']")).to_have_count(6)
            page.wait_for_function("document.body.dataset.live === 'on'")
            tick = page.locator("#net-tick")
            expect(tick).to_have_text("5")
            # ORM work must stay out of Playwright's event loop: advance from another thread (like the worker).
            worker = threading.Thread(target=advance_and_close, args=(store.pk, now + timedelta(seconds=3)))
            worker.start()
            worker.join()
            expect(tick).to_have_text("8")
            points = page.evaluate("document.querySelector('.net-link .chart').data[0].x.length")
            assert points >= 6  # 5 from the API + the pushed tick
            page.goto(f"{base_url}/stores/{store.slug}/network/map/")
            expect(page.locator("#net-map[data-ready='1']")).to_have_count(1)
            assert not errors, errors
            browser.close()
    finally:
        daphne.stop()
