"""The Recommendations page in a real browser (headless Chromium via Playwright, Daphne as a subprocess): the
versions table and the evaluation chart render, the Train button queues a job, and training progress (job
progress and per-epoch loss / validation NDCG) arrives over the websocket without a reload."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from ecomops.models import Job
from ecomops.realtime import store_broadcast
from ecomops.services.jobs import job_progress, job_start
from recommender.models import EvaluationReport
from recommender.services.training import model_train
from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, needs_chromium
from tests.ecomops.live_servers import start_daphne
from tests.factories import MembershipFactory, StoreFactory, UserFactory
from tests.recommender.rec_data import build_rec_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect, sync_playwright = sync_api.expect, sync_api.sync_playwright



def make_shop():
    store = StoreFactory(slug="rec-shop", name="Rec Shop")
    user = UserFactory(username="rec-merchant", password="browser-pass-2026")
    MembershipFactory(store=store, user=user)
    build_rec_store(store)
    model = model_train(store=store, algorithm="itemknn")
    EvaluationReport.objects.create(store=store, dataset="rec-shop", report={
        "dataset": {"protocol": "leave-last-out"}, "verdict": {"summary": "itemknn wins"},
        "models": [{"model": "popularity", "ndcg@10": 0.01, "recall@10": 0.02},
                   {"model": "itemknn", "ndcg@10": 0.2, "recall@10": 0.3}],
    })
    return store, model


def worker_reports_progress(store_id: int) -> None:
    """What a training worker sends while it runs (from a plain thread: the ORM may not run in Playwright's loop)."""
    try:
        job = Job.objects.filter(store_id=store_id, kind="recommender_train").latest("created_at")
        assert job.params == {"algorithm": "ease"}  # the button queued this job
        job = job_start(job_id=job.pk)
        job_progress(job=job, progress=40, message="[ease] validation epoch 1/1")
        store_broadcast(store_id, "recommender.training", {
            "model_id": 0, "label": "sasrec v9", "phase": "validation", "epoch": 2, "epochs": 5, "loss": 6.5,
            "val_ndcg@10": 0.0421}, on_commit=False)
    finally:
        connections.close_all()


@needs_chromium
def test_recommendations_page_trains_and_streams_progress():
    daphne, base_url = start_daphne()
    store, model = make_shop()
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
                log_in(page, "rec-merchant", "browser-pass-2026")
                page.wait_for_url(f"{base_url}/stores/{store.slug}/")
                page.get_by_role("link", name="Recommendations", exact=True).click()
                page.wait_for_url(f"{base_url}/stores/{store.slug}/recommendations/")
                expect(page.locator("#active-model")).to_contain_text(model.label)
                expect(page.locator(f"#versions tr[data-model-id='{model.pk}']")).to_contain_text("Ready")
                assert page.locator("#eval-chart .main-svg").count() >= 1
                page.locator("#algorithm").select_option("ease")
                page.locator("#train-button").click()
                expect(page.locator("body")).to_contain_text("Training ease started")
                expect(page.locator("body[data-live='on']")).to_be_attached(timeout=30_000)
                with ThreadPoolExecutor(1) as pool:
                    pool.submit(worker_reports_progress, store.pk).result()
                expect(page.locator("#training-job")).to_contain_text("40% — [ease] validation epoch 1/1")
                expect(page.locator("#training-status")).to_contain_text("validation NDCG@10 0.0421")
                expect(page.locator("#loss-chart .main-svg").first).to_be_attached()
                page.screenshot(path="/tmp/ecomops-recommendations.png", full_page=True)
            except Exception as exc:
                page.screenshot(path="/tmp/ecomops-recommendations-failure.png", full_page=True)
                raise AssertionError(f"{exc}\n--- errors ---\n{errors}\n--- daphne ---\n{daphne.output()[-3000:]}") from exc
            finally:
                browser.close()
        assert not errors, errors
    finally:
        daphne.stop()
