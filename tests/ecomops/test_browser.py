"""The dashboard in a real browser: headless Debian Chromium driven by Playwright, against Daphne (HTTP +
websockets) and a Celery worker, both real subprocesses on the test database.

Log in through the form, see the Overview's plotly chart rendered, open Jobs, click "Run demo job", and watch
the new row's progress bar reach 100% and its status turn Succeeded, all without the page reloading.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from ecomops.models import Job, JobStatus
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, needs_chromium
from tests.ecomops.live_servers import start_celery_worker, start_daphne
from tests.factories import CustomerFactory, MembershipFactory, OrderFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (requirements-dev.txt)")
expect, sync_playwright = sync_api.expect, sync_api.sync_playwright

SCREENSHOT = Path("/tmp/ecomops-overview.png")
JOBS_SCREENSHOT = Path("/tmp/ecomops-jobs.png")


@pytest.fixture
def servers(transactional_db):
    worker = start_celery_worker()
    try:
        daphne, base_url = start_daphne()
    except Exception:
        worker.stop()
        raise
    yield base_url, worker, daphne
    daphne.stop()
    worker.stop()


def make_shop():
    store = StoreFactory(slug="browser-shop", name="Browser Shop", currency="EUR")
    user = UserFactory(username="merchant", password="browser-pass-2026")
    MembershipFactory(store=store, user=user)
    customers = [CustomerFactory(store=store) for _ in range(5)]
    now = timezone.now()
    for i in range(45):
        OrderFactory(store=store, customer=customers[i % 5], placed_at=now - timedelta(days=i, hours=i % 7),
                     total=Decimal(20 + (i * 7) % 50), subtotal=Decimal(20 + (i * 7) % 50))
    return store


@needs_chromium
def test_login_overview_chart_and_live_demo_job(servers):

    base_url, worker, daphne = servers
    store = make_shop()  # ORM work stays outside Playwright's event loop

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        console_errors = []
        page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("response", lambda r: console_errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
        try:
            page.goto(f"{base_url}/login/")
            log_in(page, "merchant", "browser-pass-2026")

            page.wait_for_url(f"{base_url}/stores/{store.slug}/")
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            chart = page.locator("#revenue-chart[data-ready='1']")
            expect(chart).to_be_visible(timeout=60_000)
            assert chart.locator(".main-svg").count() >= 1  # plotly drew its SVG
            expect(page.locator(".kpi").first).to_contain_text("Revenue")
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            page.get_by_role("link", name="Jobs").click()
            page.wait_for_url(f"{base_url}/stores/{store.slug}/jobs/")
            expect(page.locator("body[data-live='on']")).to_be_attached(timeout=30_000)
            page.evaluate("window.__sameDocument = true")
            page.get_by_role("button", name="Run demo job").click()

            row = page.locator("#jobs-table tbody tr[data-job-id]").first
            expect(row.locator(".job-status")).to_have_text("Succeeded", timeout=90_000)
            expect(row.locator("progress.job-progress")).to_have_attribute("value", "100")
            expect(row.locator(".job-pct")).to_have_text("100%")
            assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
            expect(page.locator("#jobs-status")).to_contain_text("Started")
            page.screenshot(path=str(JOBS_SCREENSHOT), full_page=True)
        except Exception as exc:
            page.screenshot(path="/tmp/ecomops-browser-failure.png", full_page=True)
            raise AssertionError(
                f"{exc}\n--- console errors ---\n{console_errors}\n--- daphne ---\n{daphne.output()[-3000:]}"
                f"\n--- worker ---\n{worker.output()[-3000:]}"
            ) from exc
        finally:
            browser.close()

    assert not console_errors, console_errors
    job = Job.objects.for_store(store).get()
    assert job.status == JobStatus.SUCCEEDED and job.created_by.username == "merchant"
