"""Issue 12, "first use": a copy job sent to a worker that has just started shows progress from its first seconds
(the loading stages, then one step per product), in headless Chromium on the Jobs page, with the real model on a
real Celery worker. Before: "Loading the model… 1%" for about a minute, then jumps of 4 or 8 products."""

from __future__ import annotations

import math
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connections

from copywriter.models import DescriptionDraft
from copywriter.services.generation import PCT_PRODUCTS, generation_start
from ecomops.models import Product, Store
from tests.browser import needs_chromium
from tests.dashboard_browser import merchant_page  # the live_url fixture comes from tests/conftest.py
from tests.ecomops.live_servers import start_celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.celery_worker,
              pytest.mark.django_db(transaction=True), needs_chromium]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

PASSWORD = "first-use-2026"
PRODUCTS = 4

RECORD = """() => {
  window.progressSeen = [];
  window.ecomopsLive.on('job.progress', function (m) {
    if (m.job.kind === 'copywriter_generate')
      window.progressSeen.push({pct: m.job.progress, message: m.job.message, status: m.job.status, t: Date.now()});
  });
}"""


def in_thread(fn):
    """ORM and channel-layer work outside Playwright's event loop (as the web process would do it)."""
    out, errors = [], []

    def run():
        try:
            out.append(fn())
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    if errors:
        raise errors[0]
    return out[0]


def test_a_copy_job_on_a_fresh_worker_reports_loading_then_every_product(live_url):
    call_command("seed_demo", store="first-use", seed=5, products=30, customers=10, days=3, sessions_per_day=4,
                 user="first-owner", password=PASSWORD, verbosity=0)
    store = Store.objects.get(slug="first-use")
    store.settings = {**(store.settings or {}), "copywriter": {"writer": "model"}}  # the language-model writer
    store.save()
    skus = list(Product.objects.for_store(store).order_by("sku").values_list("sku", flat=True)[:PRODUCTS])
    owner = store.memberships.get(user__username="first-owner").user
    worker = None
    with merchant_page(live_url, "first-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/first-use/jobs/")
        expect(page.locator("body[data-live='on']")).to_be_attached()
        page.evaluate(RECORD)
        # queued first, then a worker that has just started (its warm-up is still loading the model) takes it
        job = in_thread(lambda: generation_start(store=store, user=owner, skus=skus, options={}))
        started = time.monotonic()
        worker = start_celery_worker(queues="inference")
        try:
            row = page.locator(f"tr[data-job-id='{job.pk}']")
            expect(row).to_have_attribute("data-status", "succeeded", timeout=420_000)
        finally:
            log = worker.output()
            worker.stop()
        seen = page.evaluate("window.progressSeen")
        elapsed = time.monotonic() - started
        assert not page.errors, page.errors

    running = [s for s in seen if s["status"] == "running"]
    assert running, f"no progress seen in {elapsed:.0f} s; worker log:\n{log[-3000:]}"
    pcts = [s["pct"] for s in running]
    assert pcts == sorted(pcts), pcts  # never goes back
    # a loading stage is said (the worker's warm-up had not finished: the language model or the sentence checker was
    # still loading when the job arrived), then the products, one at a time
    t_start = running[0]["t"]
    trace = "; ".join(f"+{(s['t'] - t_start) / 1000:.1f}s {s['pct']}% {s['message']}" for s in running)
    # No wait without a word: either the job says what it is loading (the worker's warm-up had not finished: the
    # language model or the sentence checker was still loading), or the models were ready and the first product
    # starts at once. Which of the two happens depends on how soon the fresh worker takes the job.
    loading = [s for s in running if s["pct"] < PCT_PRODUCTS and "oading" in s["message"]]
    writing = next(s for s in running if s["pct"] >= PCT_PRODUCTS)
    silent = max((b["t"] - a["t"]) / 1000 for a, b in zip(running, running[1:], strict=False)
                 if b["pct"] <= writing["pct"]) if len(running) > 1 else 0
    assert loading or silent < 5, trace
    per_product = [s for s in running if "products written" in s["message"] or "product written" in s["message"]]
    assert [s["message"] for s in per_product] == [f"{n} of {PRODUCTS} products written"
                                                   for n in range(1, PRODUCTS + 1)], trace
    step = math.ceil(100 / PRODUCTS)  # one product's share of the bar
    after_loading = [p for p in pcts if p >= PCT_PRODUCTS] + [100]
    jumps = [b - a for a, b in zip(after_loading, after_loading[1:], strict=False)]
    assert max(jumps) <= step, (trace, step)
    # each product's step comes when that product is written, not four at once when a batch ends
    times = [s["t"] for s in per_product]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) > 1000, trace
    print("progress seen:", trace)
    assert DescriptionDraft.objects.filter(job_id=job.pk).count() == PRODUCTS
