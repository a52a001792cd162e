"""Issue 12 on the copywriter pages, in headless Chromium against Daphne: seed_demo's template copy is not
"human-written", so Publish works with the protection on; a refusal is shown once; publishing keeps the
shipping and returns sentence; drafts say "N of M" attributes and keep the generation time apart from
warnings; the fine-tuning chart has an empty state."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from copywriter.models import DescriptionDraft, DraftStatus
from ecomops.models import Product, Store
from tests.browser import needs_chromium
from tests.dashboard_browser import chart, merchant_page  # the live_url fixture comes from tests/conftest.py

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

PASSWORD = "copy-dash-2026"
POLICY = "Ships within two working days; free returns for 30 days."


def demo_store() -> Store:
    call_command("seed_demo", store="copy-demo", seed=3, products=40, customers=20, days=3, sessions_per_day=4,
                 user="copy-owner", password=PASSWORD, verbosity=0)
    return Store.objects.get(slug="copy-demo")


def approved_draft(product: Product) -> DescriptionDraft:
    return DescriptionDraft.objects.create(
        store=product.store, product=product, status=DraftStatus.APPROVED, source="model",
        model_label="smollm2-135m-instruct", description=f"The {product.title} is a well made everyday piece.",
        covered_attributes=list(product.attributes)[:1], missing_attributes=list(product.attributes)[1:],
        warnings=["generated in 9.5 s"])


def test_publishing_over_seeded_demo_copy_keeps_the_shipping_and_returns_sentence(live_url):
    store = demo_store()
    product = next(p for p in Product.objects.for_store(store).order_by("sku") if POLICY in p.description)
    draft = approved_draft(product)
    with merchant_page(live_url, "copy-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/copywriter/drafts/{draft.pk}/")
        expect(page.locator("#kept-policy")).to_contain_text(POLICY)
        expect(page.locator("dd.draft-timing")).to_have_text("9.5 s")
        assert page.locator("dd.draft-warning").count() == 0  # a timing is not a warning
        page.get_by_role("button", name="Publish").click()
        expect(page.locator(".page-head .badge")).to_have_text("Published")
        assert "human-written" not in page.locator("main").inner_text()
    product.refresh_from_db()
    assert product.description.startswith(draft.description) and product.description.endswith(POLICY)


def test_a_refused_publish_is_said_once(live_url):
    store = demo_store()
    product = Product.objects.for_store(store).exclude(description="").order_by("sku").first()
    product.description = "Written by our buyer after a week of testing: " + product.description
    product.save(update_fields=["description"])  # a person changed it: now it is human-written
    draft = approved_draft(product)
    with merchant_page(live_url, "copy-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/copywriter/drafts/{draft.pk}/")
        page.get_by_role("button", name="Publish").click()
        expect(page.locator(".page-head .badge")).to_have_text("Approved")
        assert page.get_by_text("has a human-written description").count() == 1
        page.goto(f"{live_url}/stores/{store.slug}/copywriter/")
        row = page.locator(f"#draft-{draft.pk}")
        c, m = len(draft.covered_attributes), len(draft.missing_attributes)
        expect(row.locator(".d-coverage")).to_have_text(f"{c} of {c + m}")
        assert "No fine-tuned version yet" in chart(page, "copywriter-loss")["empty"]
        assert not page.errors, page.errors
