"""Training a store's model: versions, refusal on too little data, crash safety, activate/roll back, the job,
the `retrain_recommender` command, the nightly beat entry and the dashboard page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from ecomops.models import Job, JobStatus
from recommender.ml.registry import MODEL_NAMES
from recommender.models import ModelStatus, RecommenderConfig, RecommenderModel
from recommender.services.training import (
    TrainingRefused,
    config_update,
    model_activate,
    model_rollback,
    model_train,
    training_start,
)
from recommender.tasks import nightly_retrain, recommender_train
from tests.recommender.rec_data import build_rec_store, model_dir, reset_serving  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.quick]


@pytest.fixture
def rec(store, model_dir):  # noqa: F811
    data = build_rec_store(store)
    reset_serving(store)
    yield data
    reset_serving(store)


def test_training_creates_a_ready_version_with_metrics_and_artifact(store, rec):
    seen = []
    row = model_train(store=store, algorithm="sasrec", on_progress=lambda pct, msg: seen.append((pct, msg)),
                      params={"dim": 16, "layers": 1, "heads": 1, "epochs": 4, "max_len": 8, "batch_size": 16})
    row.refresh_from_db()
    assert row.status == ModelStatus.READY and row.version == 1 and row.is_active  # first model: activated
    assert row.data_stats["customers"] == 40 and row.data_stats["eligible_customers"] == 40
    assert {"ndcg@10", "recall@10", "recall@20", "coverage", "mrr"} <= set(row.metrics)
    assert row.data_window_start < row.data_window_end
    assert row.artifact_sha256 and row.artifact_bytes > 0 and row.artifact_path.endswith(".pkl")
    assert any(e["phase"] == "validation" and "val_ndcg@10" in e for e in row.training_log)  # per-epoch log
    assert any("validation NDCG@10" in msg for _, msg in seen)
    second = model_train(store=store, algorithm="popularity")
    assert second.version == 2 and not second.is_active  # a later version waits for activation


def test_too_little_data_is_refused_with_the_reason(store, model_dir):  # noqa: F811
    build_rec_store(store, customers=12)
    with pytest.raises(TrainingRefused, match="12 customers have 2 or more events, at least 20"):
        model_train(store=store, algorithm="ease")
    with pytest.raises(TrainingRefused, match="at least 20"):
        training_start(store=store, algorithm="ease")
    assert not RecommenderModel.objects.for_store(store).exists()
    assert not Job.objects.filter(store=store).exists()


def test_a_crashed_run_never_replaces_the_active_model(store, rec, settings, tmp_path):
    good = model_train(store=store, algorithm="itemknn", activate=True)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    settings.ECOMOPS_MODEL_DIR = blocker  # the artifact cannot be written
    with pytest.raises(OSError):
        model_train(store=store, algorithm="ease", activate=True)
    failed = RecommenderModel.objects.for_store(store).get(algorithm="ease")
    assert failed.status == ModelStatus.FAILED and failed.error and not failed.is_active
    assert RecommenderModel.objects.for_store(store).get(is_active=True) == good
    with pytest.raises(ValueError, match="only a ready model"):
        model_activate(model=failed)


def test_activate_and_roll_back(store, rec):
    v1 = model_train(store=store, algorithm="popularity")
    v2 = model_train(store=store, algorithm="itemknn")
    model_activate(model=v2)
    assert RecommenderModel.objects.for_store(store).get(is_active=True) == v2
    assert model_rollback(store=store) == v1
    assert RecommenderModel.objects.for_store(store).get(is_active=True) == v1
    assert model_rollback(store=store) == v2


def test_training_job_all_models_activates_the_honest_winner(store, rec):
    assert training_start(store=store, algorithm="all").params == {"algorithm": "all"}
    # SASRec is left out here only to keep the test fast; it has its own training test above.
    names = [n for n in MODEL_NAMES if n != "sasrec"]
    job = training_start(store=store, algorithm=",".join(names))
    outcome = recommender_train.run(str(job.pk))  # the Celery task body, in-process
    job.refresh_from_db()
    assert outcome == "succeeded", job.error
    rows = list(RecommenderModel.objects.for_store(store).filter(status=ModelStatus.READY))
    assert {r.algorithm for r in rows} == set(names)
    best = max(rows, key=lambda r: r.metrics["ndcg@10"])
    assert RecommenderModel.objects.for_store(store).get(is_active=True).metrics["ndcg@10"] == best.metrics["ndcg@10"]
    assert job.progress == 100 and len(job.result["models"]) == len(names)


def test_retrain_command(store, rec):
    out = StringIO()
    call_command("retrain_recommender", "--store", "acme", "--model", "itemknn", stdout=out, stderr=StringIO())
    assert "itemknn v1 (active)" in out.getvalue()
    job = Job.objects.get(store=store)
    assert job.status == JobStatus.SUCCEEDED and job.kind == "recommender_train"
    with pytest.raises(CommandError, match="No store"):
        call_command("retrain_recommender", "--store", "nope", "--model", "ease")


def test_retrain_command_refuses_small_store(store, model_dir):  # noqa: F811
    build_rec_store(store, customers=5)
    with pytest.raises(CommandError, match="Not enough data"):
        call_command("retrain_recommender", "--store", "acme", "--all")


def test_nightly_retrain_is_scheduled_and_queues_jobs(store, rec, other_store):
    entry = settings.CELERY_BEAT_SCHEDULE["recommender-nightly-retrain"]
    assert entry["task"] == "recommender.nightly_retrain"
    config_update(store=store, nightly_retrain=True, nightly_algorithm="ease")
    RecommenderConfig.objects.create(store=other_store, nightly_retrain=False)
    assert nightly_retrain() == 1
    job = Job.objects.get(store=store)
    assert job.params["algorithm"] == "ease" and job.params["activate"] is True


def test_dashboard_page_and_train_button(member_client, store, rec):
    model_train(store=store, algorithm="itemknn")
    r = member_client.get("/stores/acme/recommendations/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "itemknn v1" in html and 'id="train-button"' in html and 'id="loss-chart"' in html
    r = member_client.post("/stores/acme/recommendations/actions/", {"action": "train", "algorithm": "ease"}, follow=True)
    assert r.status_code == 200
    assert Job.objects.filter(store=store, kind="recommender_train", params__algorithm="ease").exists()
    r = member_client.post("/stores/acme/recommendations/actions/", {"action": "train", "algorithm": "magic"}, follow=True)
    assert "Unknown model" in r.content.decode()
