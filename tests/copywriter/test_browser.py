"""The copywriter in a real browser (headless Chromium via Playwright) against Daphne and a real `inference`
Celery worker: on a product page, Generate streams the draft into the page token by token; the reviewer opens
the draft, approves it and publishes it, and the product page shows the new description."""

from __future__ import annotations

import pytest

from copywriter.models import DescriptionDraft, DescriptionRevision
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, needs_chromium
from tests.ecomops.live_servers import start_celery_worker, start_daphne
from tests.factories import MembershipFactory, ProductFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect, sync_playwright = sync_api.expect, sync_api.sync_playwright


@pytest.fixture
def servers(transactional_db):
    worker = start_celery_worker(queues="inference")
    try:
        daphne, base_url = start_daphne()
    except Exception:
        worker.stop()
        raise
    yield base_url, worker, daphne
    daphne.stop()
    worker.stop()


@needs_chromium
def test_generate_streams_into_the_product_page_then_approve_and_publish(servers):
    base_url, worker, daphne = servers
    store = StoreFactory(slug="copy-shop", name="Copy Shop",
                         settings={"copywriter": {"writer": "model"}})  # the language-model writer
    MembershipFactory(store=store, user=UserFactory(username="editor", password="copy-pass-2026"))
    product = ProductFactory(store=store, sku="LIN-1", title="Linen Shirt", brand="Kestrel", description="",
                             attributes={"colour": "White", "material": "Linen"})
    errors = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(f"{base_url}/login/")
            log_in(page, "editor", "copy-pass-2026")
            page.wait_for_url(f"{base_url}/stores/{store.slug}/")
            page.goto(f"{base_url}/stores/{store.slug}/catalog/{product.sku}/")
            expect(page.locator("body[data-live='on']")).to_be_attached()
            form = page.locator("#copywriter-generate-form")
            form.locator("select[name=length]").select_option("short")
            form.get_by_role("button", name="Generate").click()
            expect(page.locator("#copywriter-stream")).not_to_be_empty(timeout=120_000)  # tokens arriving
            expect(page.locator("#copywriter-result")).to_contain_text("Grounded draft", timeout=120_000)
            page.get_by_role("link", name="Review draft").click()
            page.get_by_role("button", name="Approve").click()
            expect(page.locator(".badge")).to_have_text("Approved")
            page.get_by_role("button", name="Publish").click()
            expect(page.locator(".badge")).to_have_text("Published")
            page.goto(f"{base_url}/stores/{store.slug}/catalog/{product.sku}/")
            expect(page.locator("p.description")).not_to_be_empty()
        except Exception as exc:
            page.screenshot(path="/tmp/ecomops-copywriter-failure.png", full_page=True)
            raise AssertionError(f"{exc}\nconsole: {errors}\nworker:\n{worker.output()[-3000:]}") from exc
        finally:
            browser.close()
    draft = DescriptionDraft.objects.for_store(store).get()
    product.refresh_from_db()
    assert draft.status == "published" and product.description == draft.description
    assert DescriptionRevision.objects.for_store(store).get().author.username == "editor"
    assert not errors, errors
