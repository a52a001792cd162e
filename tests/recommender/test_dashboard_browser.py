"""Issue 12 on the Recommendations and Analytics pages, in headless Chromium against Daphne: the training
chart draws curves whose axes follow the epochs and keeps the finished run's curves; each model's list per
customer and per product, with its reasons; an offline evaluation started from the page with live progress;
metrics per version; and empty states instead of empty grids."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from ecomops.models import Job, JobStatus
from ecomops.realtime import store_broadcast
from ecomops.services.jobs import job_broadcast
from recommender.models import EvaluationReport
from recommender.services.evaluation import evaluation_params_clean
from recommender.services.training import model_train
from recommender.tasks import recommender_evaluate
from tests.browser import needs_chromium
from tests.dashboard_browser import chart, merchant_page  # the live_url fixture comes from tests/conftest.py
from tests.factories import MembershipFactory, StoreFactory, UserFactory
from tests.recommender.rec_data import build_rec_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

PASSWORD = "rec-pass-2026"
STORED_LOG = [{"phase": "validation", "epoch": e, "epochs": 3, "loss": round(0.9 - 0.2 * e, 3),
               "val_ndcg@10": round(0.05 * e, 3)} for e in (1, 2, 3)]


def shop(*, models=()):
    store = StoreFactory(slug="rec-dash", name="Rec Dash", currency="EUR")
    MembershipFactory(store=store, user=UserFactory(username="rec-dash-owner", password=PASSWORD))
    build_rec_store(store)
    trained = [model_train(store=store, algorithm=name) for name in models]
    return store, trained


def in_thread(fn):
    errors = []

    def run():
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]


def epoch(store_id, n, epochs=5):
    store_broadcast(store_id, "recommender.training", {"model_id": 0, "label": "sasrec v9", "phase": "validation",
                    "epoch": n, "epochs": epochs, "loss": 7.0 - n, "val_ndcg@10": 0.01 * n}, on_commit=False)


def test_training_curves_follow_the_epochs_and_stay_after_the_run(live_url):
    store, (model,) = shop(models=["itemknn"])
    with merchant_page(live_url, "rec-dash-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/recommendations/")
        assert "SASRec and implicit ALS report a loss" in chart(page, "loss-chart")["empty"]
        expect(page.locator("body[data-live='on']")).to_be_attached()
        for n in (1, 2, 3):
            in_thread(lambda n=n: epoch(store.pk, n))
        expect(page.locator("#training-status")).to_contain_text("epoch 3/5")
        shown = chart(page, "loss-chart")
        loss = next(t for t in shown["traces"] if t["name"].endswith(" loss"))
        ndcg = next(t for t in shown["traces"] if "NDCG" in t["name"])
        assert loss["x"] == [1, 2, 3] and loss["y"] == [6.0, 5.0, 4.0] and "lines" in loss["mode"]
        assert ndcg["y"] == [0.01, 0.02, 0.03]
        assert shown["xaxis"]["range"] == [0.5, 5.5]  # all five epochs, not −1..6 around the first point
        assert shown["yaxis"]["range"][0] == 0 and shown["yaxis"]["range"][1] >= 6.0

        # The run ends: its version holds the log, and the page (which reloads) draws it again.
        model.training_log = STORED_LOG
        in_thread(lambda: model.save(update_fields=["training_log"]))
        in_thread(lambda: job_broadcast(Job.objects.create(store=store, kind="recommender_train",
                                                           status=JobStatus.SUCCEEDED, progress=100)))
        page.wait_for_function("document.getElementById('training-status').textContent.includes('Last training run')",
                               timeout=30_000)
        kept = chart(page, "loss-chart")
        assert "empty" not in kept
        assert next(t for t in kept["traces"] if t["name"].endswith(" loss"))["x"] == [1, 2, 3]
        assert kept["xaxis"]["range"] == [0.5, 3.5]
        assert not page.errors, page.errors


def test_each_model_recommends_per_customer_and_per_product_with_reasons(live_url):
    store, _ = shop(models=["itemknn", "popularity"])
    with merchant_page(live_url, "rec-dash-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/recommendations/?customer=C00&product=P00")
        lists = page.locator("#customer-lists .rec-list")
        expect(lists).to_have_count(2)
        knn = page.locator("#customer-lists .rec-list[data-model='itemknn v1']")
        expect(knn.locator("li").first).to_be_visible()
        assert knn.locator("li").count() == 5
        expect(knn.locator(".why").first).to_contain_text("because they viewed Pot")
        # C00 walks kitchen items: item-kNN keeps to the kitchen, and never repeats a purchase (P01, P02).
        titles = knn.locator("li a").all_inner_texts()
        assert all(t.startswith("Pot") for t in titles) and not {"Pot 01", "Pot 02"} & set(titles)
        expect(page.locator("#customer-lists .rec-list[data-model='popularity v2'] .why").first).to_have_text(
            "one of the store's best sellers")
        expect(page.locator("#product-lists .rec-list")).to_have_count(2)
        expect(page.locator("#product-lists .rec-list[data-model='itemknn v1'] li").first).to_be_visible()
        # Another customer from the picker: the lists follow.
        page.locator("#explore-customer").select_option("C01")
        page.locator("#explore-customer-form").get_by_role("button", name="Show").click()
        page.wait_for_url("**customer=C01**")
        garden = page.locator("#customer-lists .rec-list[data-model='itemknn v1'] li a").all_inner_texts()
        assert garden and all(t.startswith("Rake") for t in garden)
        page.goto(f"{live_url}/stores/{store.slug}/recommendations/?customer=NOPE")
        expect(page.locator("#customer-lists")).to_have_text("No customer with the id NOPE.")
        assert not page.errors, page.errors


def test_offline_evaluation_runs_from_the_page_with_live_progress(live_url):
    store, _ = shop(models=["itemknn", "popularity"])
    with merchant_page(live_url, "rec-dash-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/recommendations/")
        assert "No evaluation yet" in chart(page, "eval-chart")["empty"]
        versions = chart(page, "versions-chart")  # metrics per version
        assert versions["traces"][0]["x"] == ["itemknn v1", "popularity v2"]
        assert [t["name"] for t in versions["traces"]] == ["NDCG@10", "Recall@10"]
        assert "table" in page.locator("#versions").get_attribute("class")
        assert "table" in page.locator("#online").get_attribute("class")
        form = page.locator("#evaluate-form")
        for name in ("trending", "ease", "als"):
            form.locator(f"input[value='{name}']").uncheck()
        form.get_by_role("button", name="Run evaluation").click()
        expect(page.locator(".messages")).to_contain_text("Evaluation started")
        expect(page.locator("body[data-live='on']")).to_be_attached()
        jobs = []
        in_thread(lambda: jobs.append(Job.objects.for_store(store).get(kind="recommender_evaluate")))
        assert jobs[0].params == {"models": ["popularity", "itemknn"], "tune": False}
        page.evaluate("window.__sameDocument = true")
        in_thread(lambda: recommender_evaluate(str(jobs[0].pk)))  # what the training worker runs
        expect(page.locator("#evaluation-progress")).to_have_attribute("value", "100")
        expect(page.locator("#eval-summary")).to_contain_text("This store's events")
        shown = chart(page, "eval-chart")
        assert shown["traces"][0]["x"] == ["popularity", "itemknn"]
        assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
        assert not page.errors, page.errors
    report = EvaluationReport.objects.get(store=store)
    assert [r["model"] for r in report.report["models"]] == ["popularity", "itemknn"]


def test_evaluation_job_params_are_bounded():
    assert evaluation_params_clean({}) == {"models": ["popularity", "trending", "itemknn", "ease", "als", "sasrec"],
                                           "tune": False}
    for bad, field in (({"models": ["nope"]}, "models"), ({"models": []}, "models"),
                       ({"dataset": "/etc/passwd"}, "dataset"), ({"models": ["ease"], "path": "x.csv"}, "path")):
        with pytest.raises(ValueError, match=field):
            evaluation_params_clean(bad)


def test_a_store_without_models_gets_empty_states_not_grids(live_url):
    store = StoreFactory(slug="rec-empty", name="Rec Empty")
    MembershipFactory(store=store, user=UserFactory(username="rec-empty-owner", password=PASSWORD))
    with merchant_page(live_url, "rec-empty-owner", PASSWORD) as page:
        page.goto(f"{live_url}/stores/{store.slug}/recommendations/")
        for chart_id in ("loss-chart", "versions-chart", "eval-chart"):
            assert chart(page, chart_id)["empty"]
        expect(page.locator("#explore-empty")).to_contain_text("No model trained yet")
        assert page.locator(".main-svg").count() == 0
        assert "manage.py" not in page.locator("main").inner_text()
        page.goto(f"{live_url}/stores/{store.slug}/recommendations/analytics/")
        for chart_id in ("trends-chart", "categories-chart", "rfm-chart", "funnel-chart"):
            assert chart(page, chart_id).get("empty"), chart_id
        assert not page.errors, page.errors
