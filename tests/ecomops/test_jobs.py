"""Job services: create, start (safe twice), progress, cancel, retry, the stale-job reaper, and the task base."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ecomops.models import Job, JobStatus
from ecomops.services.jobs import (
    JobCancelled,
    job_cancel,
    job_create,
    job_progress,
    job_retry,
    job_start,
    jobs_reap_stale,
)
from ecomops.tasks import kpi_rollup
from ecomops.tasks_base import job_task
from tests.factories import JobFactory, OrderFactory

pytestmark = [pytest.mark.quick, pytest.mark.django_db]


@job_task(kind="test_exploding", queue="default", label="Fails on purpose (tests)", time_limit=30)
def exploding(job, **params):
    job_progress(job=job, progress=40, message="About to fail")
    raise ValueError("The CSV has no 'sku' column.")


def test_create_is_queued_and_enqueues_only_on_commit(store, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_create(store=store, kind="kpi_rollup", params={"start": "2026-01-01"}, created_by=owner)
    assert (job.status, job.progress, job.message, job.created_by) == (JobStatus.QUEUED, 0, "Queued", owner)
    # One callback broadcasts the row, one sends the task: nothing leaves before the commit.
    assert len(callbacks) == 2


def test_create_rejects_unknown_kind(store):
    with pytest.raises(ValueError, match="Unknown job kind 'nope'"):
        job_create(store=store, kind="nope")
    assert not Job.objects.exists()


def test_start_claims_once_and_is_safe_to_run_twice(store):
    job = JobFactory(store=store)
    started = job_start(job_id=job.pk)
    assert started.status == JobStatus.RUNNING and started.attempts == 1 and started.started_at
    assert job_start(job_id=job.pk) is None  # a duplicate delivery while the first run is alive
    job.refresh_from_db()
    assert job.attempts == 1
    assert job_start(job_id="00000000-0000-0000-0000-000000000000") is None


def test_start_reclaims_a_running_job_whose_heartbeat_is_stale(store, settings):
    job = JobFactory(store=store, status=JobStatus.RUNNING, attempts=1,
                     heartbeat_at=timezone.now() - timedelta(seconds=settings.ECOMOPS_JOB_HEARTBEAT_TIMEOUT + 5))
    again = job_start(job_id=job.pk)
    assert again is not None and again.attempts == 2


def test_start_skips_finished_and_cancels_cancel_requested(store):
    done = JobFactory(store=store, status=JobStatus.SUCCEEDED, progress=100)
    assert job_start(job_id=done.pk) is None
    wanted_gone = JobFactory(store=store, cancel_requested=True)
    assert job_start(job_id=wanted_gone.pk) is None
    wanted_gone.refresh_from_db()
    assert wanted_gone.status == JobStatus.CANCELLED


def test_progress_records_clamps_and_heartbeats(store):
    job = job_start(job_id=JobFactory(store=store).pk)
    before = job.heartbeat_at
    job_progress(job=job, progress=140, message="Almost")
    job.refresh_from_db()
    assert (job.progress, job.message) == (100, "Almost")
    assert job.heartbeat_at >= before
    job_progress(job=job, progress=-3)
    job.refresh_from_db()
    assert job.progress == 0


def test_cancel_queued_at_once_running_at_next_progress(store):
    queued = JobFactory(store=store)
    assert job_cancel(job=queued).status == JobStatus.CANCELLED

    running = job_start(job_id=JobFactory(store=store).pk)
    job_cancel(job=running)
    running.refresh_from_db()
    assert running.status == JobStatus.RUNNING and running.cancel_requested and running.message == "Cancelling…"
    with pytest.raises(JobCancelled):
        job_progress(job=running, progress=50, message="step")

    finished = JobFactory(store=store, status=JobStatus.FAILED, error="x")
    assert job_cancel(job=finished).status == JobStatus.FAILED


def test_retry_makes_a_new_job_with_the_same_parameters(store, owner):
    failed = JobFactory(store=store, status=JobStatus.FAILED, params={"start": "2026-02-01"}, error="boom")
    retried = job_retry(job=failed, created_by=owner)
    assert retried.pk != failed.pk
    assert (retried.kind, retried.params, retried.status, retried.created_by) == (
        "kpi_rollup", {"start": "2026-02-01"}, JobStatus.QUEUED, owner)
    failed.refresh_from_db()
    assert failed.status == JobStatus.FAILED


def test_reaper_fails_jobs_with_a_stale_heartbeat_with_a_clear_message(store, settings):
    now = timezone.now()
    stale = JobFactory(store=store, status=JobStatus.RUNNING, progress=35,
                       heartbeat_at=now - timedelta(seconds=settings.ECOMOPS_JOB_HEARTBEAT_TIMEOUT + 60))
    alive = JobFactory(store=store, status=JobStatus.RUNNING, heartbeat_at=now - timedelta(seconds=5))
    queued = JobFactory(store=store)
    assert jobs_reap_stale(now=now) == 1
    for job in (stale, alive, queued):
        job.refresh_from_db()
    assert stale.status == JobStatus.FAILED and stale.finished_at
    assert "stopped responding" in stale.error and "last heartbeat" in stale.error
    assert stale.progress == 35  # the bar stays where the worker died
    assert alive.status == JobStatus.RUNNING and queued.status == JobStatus.QUEUED
    assert jobs_reap_stale(now=now) == 0


def test_task_runs_the_job_and_a_second_delivery_is_skipped(store):
    OrderFactory(store=store)
    job = JobFactory(store=store)
    assert kpi_rollup.run(str(job.pk)) == "succeeded"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.result["days"] == 1
    assert kpi_rollup.run(str(job.pk)) == "skipped"
    job.refresh_from_db()
    assert job.attempts == 1


def test_task_failure_becomes_a_readable_error(store):
    job = JobFactory(store=store, kind="test_exploding")
    assert exploding.run(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "The CSV has no 'sku' column."
    assert job.progress == 40
