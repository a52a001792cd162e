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


@needs_chromium
def test_grades_follow_scores_in_table_and_map_labels_do_not_overlap(transactional_db):
    """Issue 12: one score→grade mapping for the table, the map and the alerts; units on the KPIs; map labels
    that neither overlap at the warehouse cluster nor cover the outage marker."""
    from network.models import Cell
    from network.services.scenarios import injection_start
    from network.sim.health import grade_for_score

    daphne, base_url = start_daphne()
    store = StoreFactory(slug="net-grades", name="Net Grades")
    MembershipFactory(store=store, user=UserFactory(username="netgrades", password="net-pass-2026"))
    network_demo_seed(store)
    warehouse_cell = Cell.objects.for_store(store).get(name="mmW-Warehouse")
    injection_start(store=store, kind="cell_outage", cell=warehouse_cell, note="test outage")
    sim = simulation_for_store(store)
    start = sim.last_advanced_at
    for k in range(1, 7):
        simulation_advance(store_id=store.pk, now=start + timedelta(seconds=k))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base_url}/login/")
            log_in(page, "netgrades", "net-pass-2026")
            page.wait_for_url(f"{base_url}/stores/{store.slug}/")
            page.goto(f"{base_url}/stores/{store.slug}/network/")
            header = page.locator("#links-table thead").inner_text()
            assert "RSRP, dBm" in header and "SINR (dB)" in header and "Availability" in header
            assert "Avail." not in header
            rows = page.locator("#links-table tbody tr").evaluate_all(
                "rows => rows.map(r => [r.querySelector('.grade').innerText.trim(), r.querySelector('.score').innerText,"
                " r.querySelector('.k-availability').innerText])")
            table = {}
            for grade, score, availability in rows:
                assert grade == grade_for_score(float(score)).replace("_", " "), (grade, score)
                assert availability.endswith("%")
                table[float(score)] = grade
            page.goto(f"{base_url}/stores/{store.slug}/network/map/")
            expect(page.locator("#net-map[data-ready='1']")).to_have_count(1)
            # The map's site labels say the same grade as the table for the same score.
            labels = page.evaluate("document.getElementById('net-map').layout.annotations.map(a => a.text)")
            for text in labels:
                if "/100" in text:
                    grade, score = text.split("<br>")[1].split(" · ")
                    assert grade == grade_for_score(float(score.split("/")[0])), text
            boxes = page.evaluate("""() => Array.from(document.querySelectorAll('#net-map .annotation')).map(a => {
                const r = a.querySelector('.annotation-text-g').getBoundingClientRect();
                return [r.left, r.top, r.right, r.bottom, a.textContent]; })""")
            markers = page.evaluate("""() => Array.from(document.querySelectorAll('#net-map .scatterlayer .point')).map(p => {
                const r = p.getBoundingClientRect(); return [(r.left + r.right) / 2, (r.top + r.bottom) / 2]; })""")
            assert len(boxes) == len(markers) >= 8
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    overlap = a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]
                    assert not overlap, f"labels overlap: {a[4]!r} and {b[4]!r}"
                for x, y in markers:
                    assert not (a[0] < x < a[2] and a[1] < y < a[3]), f"label {a[4]!r} covers a marker"
            assert any("mmW-Warehouse" in b[4] and "OUTAGE" in b[4] for b in boxes)
            symbols = page.evaluate("document.getElementById('net-map').data[0].marker.symbol")
            assert "x" in symbols  # the outage cell is a cross, not a grey triangle among blue ones
            assert not errors, errors
            browser.close()
    finally:
        daphne.stop()


@needs_chromium
def test_incident_timeline_shows_the_hysteresis(transactional_db, tmp_path):
    """Issue 15: an incident's raise / hold / clear and its thresholds, in the table and the timeline hover."""
    from network.models import Cell
    from network.services.scenarios import injection_start, injection_stop

    daphne, base_url = start_daphne()
    store = StoreFactory(slug="net-incidents", name="Net Incidents")
    user = UserFactory(username="netinc", password="net-pass-2026")
    MembershipFactory(store=store, user=user)
    network_demo_seed(store)
    sim = simulation_for_store(store)
    sim.alert_policy = {"raise_after": 2, "clear_after": 2}
    sim.max_catch_up_ticks = 200
    sim.save()
    now = sim.last_advanced_at
    injections = [injection_start(store=store, kind="cell_outage", cell=c) for c in Cell.objects.for_store(store)]
    for _ in range(3):
        now += timedelta(seconds=1)
        simulation_advance(store_id=store.pk, now=now)
    for injection in injections:
        injection_stop(injection=injection)
    now += timedelta(seconds=90)
    for _ in range(3):
        now += timedelta(seconds=1)
        simulation_advance(store_id=store.pk, now=now)
    connections.close_all()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base_url}/login/")
            log_in(page, "netinc", "net-pass-2026")
            page.wait_for_url(f"{base_url}/stores/{store.slug}/")
            page.goto(f"{base_url}/stores/{store.slug}/network/incidents/")
            cells = page.locator("td.hysteresis")
            expect(cells.first).to_contain_text("raised after 2 ticks with")
            text = " ".join(cells.all_inner_texts())
            assert "cleared after 2 ticks with availability >= 90 %" in text and "held -" not in text
            hover = page.evaluate("document.getElementById('timeline').data.map(t => t.hovertext).join(' ')")
            assert "raised: " in hover and "cleared: " in hover
            page.screenshot(path=str(tmp_path / "incidents.png"), full_page=True)
            assert not errors, errors
            browser.close()
    finally:
        daphne.stop()
