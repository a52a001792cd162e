"""manage.py demo_job: --inline runs the real KPI rollup job in-process; --wait follows the row."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecomops.models import DailyStoreStats, Job, JobStatus
from tests.factories import OrderFactory, StoreFactory


def run(*argv: str) -> str:
    out = StringIO()
    call_command("demo_job", *argv, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_inline_runs_the_rollup_job_to_success():
    store = StoreFactory(slug="inline-shop")
    OrderFactory(store=store)
    output = run("--store", store.slug, "--inline")
    job = Job.objects.for_store(store).get()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.attempts == 1
    assert f"Job {job.pk} succeeded" in output
    assert DailyStoreStats.objects.for_store(store).count() == 1


@pytest.mark.quick
@pytest.mark.django_db
def test_wait_gives_up_after_its_timeout_when_no_worker_runs_the_job(store):
    # In this (never committed) test transaction the task is never enqueued: the job stays queued.
    with pytest.raises(CommandError, match=r"did not finish within 1 s \(status queued\)"):
        run("--store", store.slug, "--wait", "--timeout", "1")
    assert Job.objects.for_store(store).get().status == JobStatus.QUEUED


@pytest.mark.quick
@pytest.mark.django_db
def test_unknown_store_is_an_error():
    with pytest.raises(CommandError, match="No store with the slug 'nope'"):
        run("--store", "nope")
