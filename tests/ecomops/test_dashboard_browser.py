"""Issue 12 in a real browser (headless Debian Chromium via Playwright, against Daphne): what a merchant sees
on the shared pages — the catalogue's empty state, the Jobs page's labels and messages, money with its
currency, the Overview's empty chart and money axis, the API root, and the admin login that seed_demo seeds."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from ecomops.models import Job
from ecomops.services.jobs import job_progress, job_start
from tests.browser import needs_chromium
from tests.dashboard_browser import chart, merchant_page  # the live_url fixture comes from tests/conftest.py
from tests.factories import (
    CustomerFactory,
    JobFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

PASSWORD = "dash-pass-2026"


def shop(slug="dash-shop", currency="EUR"):
    store = StoreFactory(slug=slug, name="Dash Shop", currency=currency)
    MembershipFactory(store=store, user=UserFactory(username=f"{slug}-owner", password=PASSWORD))
    return store


def in_thread(fn, *args):
    """ORM work that must not run in Playwright's event loop (a worker would do it)."""
    errors = []

    def run():
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - re-raised below in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]


def test_catalog_empty_states_point_to_the_api_not_a_command(live_url):
    store = shop()
    with merchant_page(live_url, "dash-shop-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/catalog/")
        empty = page.locator("#catalog-empty")
        expect(empty).to_contain_text("The catalogue is empty")
        expect(empty.get_by_role("link", name="products API")).to_have_attribute("href", "/api/docs/")
        assert "manage.py" not in page.locator("main").inner_text()
        page.goto(f"{live_url}/stores/{store.slug}/catalog/?q=earbuds")
        expect(page.locator("#catalog-empty")).to_contain_text("No products match these filters")
        expect(page.locator("#catalog-empty").get_by_role("link", name="Show the whole catalogue")).to_be_visible()
        assert "manage.py" not in page.locator("main").inner_text()
        assert not page.errors, page.errors


def test_jobs_page_names_jobs_for_people_and_drops_token_rates(live_url):
    store = shop()
    job = JobFactory(store=store, kind="copywriter_generate", status="running", progress=30,
                     message="3/10 products · 41.2 tok/s")
    with merchant_page(live_url, "dash-shop-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/jobs/")
        row = page.locator(f"tr[data-job-id='{job.pk}']")
        expect(row).to_contain_text("Generate product descriptions")
        expect(row.locator(".job-message")).to_have_text("3/10 products")
        assert "copywriter_generate" not in row.inner_text() and "tok/s" not in row.inner_text()
        expect(page.locator("body[data-live='on']")).to_be_attached()
        # A live update and a row that arrives live read the same way.
        in_thread(lambda: job_progress(job=Job.objects.get(pk=job.pk), progress=60, message="6/10 products · 39.9 tok/s"))
        expect(row.locator(".job-message")).to_have_text("6/10 products")
        new = JobFactory.build(store=store, kind="recommender_evaluate", message="Queued")
        in_thread(lambda: (new.save(), job_start(job_id=new.pk)))
        live_row = page.locator(f"tr[data-job-id='{new.pk}']")
        expect(live_row).to_contain_text("Evaluate recommenders")
        page.goto(f"{live_url}/stores/{store.slug}/jobs/{job.pk}/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Generate product descriptions")
        assert not page.errors, page.errors


def test_order_lines_on_the_product_page_carry_the_currency(live_url):
    store = shop()
    product = ProductFactory(store=store, sku="KET-1", title="Copper kettle", price=Decimal("49.90"), currency="EUR")
    order = OrderFactory(store=store, customer=CustomerFactory(store=store), currency="EUR")
    OrderLineFactory(store=store, order=order, product=product, quantity=2, unit_price=Decimal("49.90"),
                     line_total=Decimal("99.80"))
    with merchant_page(live_url, "dash-shop-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/catalog/KET-1/")
        expect(page.get_by_role("cell", name="99.80 EUR")).to_be_visible()


def test_overview_chart_has_an_empty_state_and_a_money_axis(live_url):
    store = shop()
    with merchant_page(live_url, "dash-shop-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/")
        shown = chart(page, "revenue-chart")
        assert "No orders between" in shown["empty"]
        assert page.locator("#revenue-chart .main-svg").count() == 0  # no meaningless −1..6 grid
    customer = CustomerFactory(store=store)
    now = timezone.now()
    for i in range(12):
        OrderFactory(store=store, customer=customer, placed_at=now - timedelta(days=i), total=Decimal(900 + 130 * i),
                     subtotal=Decimal(900 + 130 * i))
    with merchant_page(live_url, "dash-shop-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/")
        shown = chart(page, "revenue-chart")
        assert shown["yaxis"]["ticksuffix"] == " EUR" and shown["yaxis"]["range"][0] >= 0
        assert all(t.endswith(" EUR") for t in shown["yaxis"]["tickvals"]) and shown["yaxis"]["tickvals"]
        assert shown["yaxis2"]["range"][0] >= 0


def test_api_v1_serves_an_api_root(live_url):
    shop()
    with merchant_page(live_url, "dash-shop-owner", PASSWORD) as page:
        response = page.goto(f"{live_url}/api/v1/")
        assert response.status == 200
        body = page.locator("body").inner_text()
        assert "/api/docs/" in body and "/api/v1/stores/" in body
        assert "Page not found" not in body


def test_seed_demo_seeds_an_ops_login_that_opens_the_admin(live_url, capsys):
    call_command("seed_demo", store="demo-tiny", seed=7, products=12, customers=20, days=3, sessions_per_day=4,
                 user="demo-owner", password=PASSWORD, no_extras=True, verbosity=1)
    printed = capsys.readouterr().out
    assert "admin login     ops (staff, /admin/)" in printed
    with merchant_page(live_url, "ops", "ops-pass-2026") as page:
        page.goto(f"{live_url}/admin/")
        expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
        assert "not authorized" not in page.locator("body").inner_text()
    with merchant_page(live_url, "demo-owner", PASSWORD) as page:  # the merchant login is not staff
        page.goto(f"{live_url}/admin/")
        assert "Site administration" not in page.locator("body").inner_text()
