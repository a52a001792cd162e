"""The jobs API as an attacker meets it: declared parameters per kind, no paths, caps, retry, the reaper's reach.

The hostile-params walk takes the kinds from the registry, so a kind added later is covered without editing
this file: every kind, every hostile value, answers 400 with a field error under `params`, and no job row exists.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from ecomops.celery import app as celery_app
from ecomops.models import Job, JobStatus
from ecomops.services.jobs import job_kinds, jobs_reap_stale
from tests.factories import JobFactory

pytestmark = [pytest.mark.quick, pytest.mark.django_db]

APP_KINDS = {"kpi_rollup", "copywriter_generate", "copywriter_train", "recommender_train", "support_embed",
             "support_train"}
PATHS = ["/proc/self/environ", "/etc/passwd", "../../../../etc/passwd", "..\\..\\secrets", "file:///etc/shadow"]
HUGE = [10**18, -(10**18), 1e308, "9" * 400]
PATH_KEYS = ["path", "bitext_path", "intents_path", "file", "dataset", "csv_path", "output_dir", "model_dir"]


def url(store, suffix: str) -> str:
    return f"/api/v1/stores/{store.slug}/{suffix}"


def registered_kinds() -> dict:
    celery_app.loader.import_default_modules()  # every app's tasks.py, as a worker imports them
    kinds = job_kinds()
    assert APP_KINDS <= set(kinds), f"kinds missing from the registry: {APP_KINDS - set(kinds)}"
    return kinds


def hostile_params(kind) -> list[dict]:
    """Paths and path-like keys, huge numbers and wrong types in every declared field, unknown keys, NUL keys."""
    accepted = kind.params_serializer().accepted()
    cases: list[dict] = [{key: value} for key in PATH_KEYS for value in PATHS[:2]]
    cases += [{"x\x00y": 1}, {"\x00": "a"}, {"": 1}, {"__class__": {}}, {"unknown_key_for_sure": 1}]
    cases += [{f"k{i}": i for i in range(60)}]  # too many keys
    for field in accepted:
        for value in [*PATHS, *HUGE, {"nested": "/proc/self/environ"}, ["/etc/passwd"] * 3]:
            cases.append({field: value})
        cases.append({field: 1, "bitext_path": "/proc/self/environ"})  # a valid-looking key cannot carry a path
    return cases


def test_every_registered_kind_refuses_hostile_params_with_400_and_no_row(api_client, store):
    kinds = registered_kinds()
    checked = 0
    for name, kind in sorted(kinds.items()):
        for params in hostile_params(kind):
            response = api_client.post(url(store, "jobs/"), {"kind": name, "params": params}, format="json")
            assert response.status_code == 400, (name, params, response.status_code, response.content[:300])
            body = response.json()
            assert "params" in body or "detail" in body, (name, params, body)
            assert "root:" not in response.content.decode()  # nothing of /etc/passwd is ever echoed
            checked += 1
        # params that are not an object at all
        for params in (["/etc/passwd"], "/proc/self/environ", 7, None):
            response = api_client.post(url(store, "jobs/"), {"kind": name, "params": params}, format="json")
            assert response.status_code == 400, (name, params, response.content[:300])
    assert checked > 200
    assert not Job.objects.exists()


def test_a_declared_value_in_bounds_is_accepted_and_stored_as_given(api_client, store):
    response = api_client.post(
        url(store, "jobs/"), {"kind": "kpi_rollup", "params": {"start": "2026-01-01", "end": "2026-03-31"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Job.objects.get().params == {"start": "2026-01-01", "end": "2026-03-31"}


def test_kpi_rollup_range_is_bounded(api_client, store):
    for params, field in (({"start": "0001-01-01", "end": "9999-12-31"}, "start"),
                          ({"start": "2001-01-01", "end": "2026-01-01"}, "end"),
                          ({"start": "2026-02-01", "end": "2026-01-01"}, "end")):
        response = api_client.post(url(store, "jobs/"), {"kind": "kpi_rollup", "params": params}, format="json")
        assert response.status_code == 400 and field in response.json()["params"], response.content
    assert not Job.objects.exists()


def test_a_row_written_with_a_path_param_fails_before_the_job_function_opens_anything(store):
    """Defence in depth: even a row that bypassed the API (old data, a bug) never hands a path to the job."""
    from support.tasks import support_train

    job = JobFactory(store=store, kind="support_train", params={"bitext_path": "/proc/self/environ"})
    assert support_train.run(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "bitext_path" in job.error and "not valid" in job.error
    assert django_settings.SECRET_KEY not in job.error and "DATABASE_URL" not in job.error


def test_the_training_csv_header_error_does_not_quote_the_file(tmp_path):
    from support.services.classifier import TrainingDataInvalid, labelled_rows_read

    leaky = tmp_path / "environ"
    leaky.write_text("SECRET_KEY=s3cr3t-value,DATABASE_URL=postgres://u:pw@db/x\nmore,lines\n", encoding="utf-8")
    with pytest.raises(TrainingDataInvalid) as caught:
        labelled_rows_read(leaky)
    assert "line 1" in str(caught.value)
    assert "s3cr3t" not in str(caught.value) and "postgres://" not in str(caught.value)


def test_per_store_cap_on_concurrent_jobs_of_a_kind(api_client, store, other_store):
    cap = job_kinds()["kpi_rollup"].max_concurrent
    for _ in range(cap):
        assert api_client.post(url(store, "jobs/"), {"kind": "kpi_rollup"}, format="json").status_code == 201
    refused = api_client.post(url(store, "jobs/"), {"kind": "kpi_rollup"}, format="json")
    assert refused.status_code == 429
    assert "at most" in refused.json()["detail"] and "queued or running" in refused.json()["detail"]
    assert Job.objects.for_store(store).count() == cap
    # another store's jobs do not count against this one's cap
    JobFactory.create_batch(cap, store=other_store)
    # a cancelled job frees its slot
    first = Job.objects.for_store(store).first()
    assert api_client.post(url(store, f"jobs/{first.pk}/cancel/")).status_code == 200
    assert api_client.post(url(store, "jobs/"), {"kind": "kpi_rollup"}, format="json").status_code == 201


def test_retry_endpoint_starts_a_failed_job_again(api_client, store, other_store, owner):
    failed = JobFactory(store=store, status=JobStatus.FAILED, params={"start": "2026-02-01"}, error="worker died")
    response = api_client.post(url(store, f"jobs/{failed.pk}/retry/"))
    assert response.status_code == 201, response.content
    retried = Job.objects.get(pk=response.json()["id"])
    assert (retried.kind, retried.params, retried.status, retried.created_by) == (
        "kpi_rollup", {"start": "2026-02-01"}, JobStatus.QUEUED, owner)

    done = JobFactory(store=store, status=JobStatus.SUCCEEDED)
    refused = api_client.post(url(store, f"jobs/{done.pk}/retry/"))
    assert refused.status_code == 400 and "failed or cancelled" in str(refused.json())
    foreign = JobFactory(store=other_store, status=JobStatus.FAILED)
    assert api_client.post(url(store, f"jobs/{foreign.pk}/retry/")).status_code == 404
    assert Job.objects.for_store(other_store).count() == 1


def test_reaper_resolves_a_stuck_cancelling_job(store, settings):
    stale = timezone.now() - timedelta(seconds=settings.ECOMOPS_JOB_HEARTBEAT_TIMEOUT + 30)
    job = JobFactory(store=store, status=JobStatus.RUNNING, cancel_requested=True, message="Cancelling…",
                     heartbeat_at=stale)
    assert jobs_reap_stale() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.finished_at and "worker had stopped" in job.message


def test_a_model_version_whose_training_job_died_is_marked_failed(store, settings):
    from recommender.models import ModelStatus, RecommenderModel

    job = JobFactory(store=store, kind="recommender_train", status=JobStatus.RUNNING,
                     heartbeat_at=timezone.now() - timedelta(seconds=settings.ECOMOPS_JOB_HEARTBEAT_TIMEOUT + 30))
    row = RecommenderModel.objects.create(store=store, algorithm="ease", version=1, job=job)
    other = RecommenderModel.objects.create(store=store, algorithm="ease", version=2)  # not this job's
    assert row.status == ModelStatus.TRAINING
    assert jobs_reap_stale() == 1
    row.refresh_from_db(), other.refresh_from_db()
    assert row.status == ModelStatus.FAILED and "stopped responding" in row.error
    assert other.status == ModelStatus.TRAINING


def test_a_job_whose_message_never_reached_the_broker_is_sent_again(store, settings):
    """enqueued_at empty (the broker was down at commit time): the reaper's pass sends it; a fresh row waits."""
    from ecomops.services.jobs import jobs_requeue_lost

    lost = JobFactory(store=store)
    Job.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(seconds=60))
    fresh = JobFactory(store=store)
    assert jobs_requeue_lost() == 1  # through the real broker of the test settings
    lost.refresh_from_db(), fresh.refresh_from_db()
    assert lost.enqueued_at is not None and fresh.enqueued_at is None
    assert jobs_requeue_lost() == 0  # sent once; again only after ECOMOPS_JOB_REQUEUE_AFTER
    Job.objects.filter(pk=lost.pk).update(
        enqueued_at=timezone.now() - timedelta(seconds=settings.ECOMOPS_JOB_REQUEUE_AFTER + 1))
    assert jobs_requeue_lost() == 1


def test_a_rollup_cancelled_midway_leaves_no_rows(store):
    from datetime import date

    from ecomops.models import DailyStoreStats
    from ecomops.services.jobs import JobCancelled
    from ecomops.services.rollups import rollups_refresh

    calls = []

    def cancel_on_third_chunk(pct: int, message: str) -> None:
        calls.append(pct)
        if len(calls) == 3:
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        rollups_refresh(store=store, start=date(2025, 1, 1), end=date(2025, 12, 31), chunk_days=14,
                        on_progress=cancel_on_third_chunk)
    assert len(calls) == 3 and not DailyStoreStats.objects.for_store(store).exists()
    rollups_refresh(store=store, start=date(2025, 1, 1), end=date(2025, 12, 31), chunk_days=14)
    assert DailyStoreStats.objects.for_store(store).count() == 365
