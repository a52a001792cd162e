"""A real Celery worker is SIGKILLed mid-job: the job ends `failed` with a clear reason within the heartbeat
timeout (found by the reaper that beat runs), and `POST jobs/<id>/retry/` runs it again to success.

Two workers consume the queue and a separate beat sends the reaper exactly as under `make run`; whichever worker
takes the job is killed, the other one runs the reaper and the retry. All use a short heartbeat timeout.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from ecomops.models import DailyStoreStats, Job, JobStatus
from ecomops.services.jobs import job_create
from tests.ecomops.live_servers import start_celery_beat, start_celery_worker
from tests.factories import CustomerFactory, MembershipFactory, OrderFactory, StoreFactory

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

HEARTBEAT_TIMEOUT = 4
FAST_REAPER = {"ECOMOPS_JOB_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT), "ECOMOPS_JOB_REAP_INTERVAL": "1"}


def wait_for(predicate, timeout: float, what: str, *processes):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    logs = "\n\n".join(p.output() for p in processes)
    pytest.fail(f"{what} not within {timeout} s\n{logs}")


@pytest.fixture
def workers():
    started = []
    yield started
    for process in started:
        process.stop()
    # beat also sent network ticks to the 'simulation' queue no worker here consumes; drop them.
    redis.Redis.from_url(settings.REDIS_URL).delete("simulation")


def test_sigkilled_worker_job_fails_clearly_within_the_timeout_then_retries(workers):
    store = StoreFactory(slug="kill-shop")
    owner = MembershipFactory(store=store).user
    customer = CustomerFactory(store=store)
    today = timezone.now()
    for days_ago in range(0, 3000, 25):
        OrderFactory(store=store, customer=customer, placed_at=today - timedelta(days=days_ago), total=Decimal("9.90"))
    end = today.date()
    start = end - timedelta(days=3600)  # ~260 two-week chunks: long enough to be killed in the middle

    pair = [start_celery_worker(env=FAST_REAPER, name=f"-{n}") for n in "ab"]
    workers.extend(pair)
    workers.append(start_celery_beat(env=FAST_REAPER))
    job = job_create(store=store, kind="kpi_rollup", params={"start": start.isoformat(), "end": end.isoformat()},
                     created_by=owner)

    def running():
        row = Job.objects.get(pk=job.pk)
        return row if row.status == JobStatus.RUNNING and row.progress >= 2 else None

    claimed = wait_for(running, 60, "a worker starting the job", *pair)
    victim = next(w for w in pair if claimed.worker.endswith(f":{w.process.pid}"))
    survivor = pair[1 - pair.index(victim)]
    os.killpg(victim.process.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    victim.process.wait(timeout=10)
    at_kill = Job.objects.get(pk=job.pk)
    assert at_kill.status == JobStatus.RUNNING and at_kill.progress < 99, "the job ended before the kill"
    assert not DailyStoreStats.objects.for_store(store).exists()  # rows are written at the end, in one go

    failed = wait_for(lambda: Job.objects.filter(pk=job.pk, status=JobStatus.FAILED).first(),
                      HEARTBEAT_TIMEOUT + 20, "the reaper failing the orphaned job", survivor, workers[-1])
    took = time.monotonic() - killed_at
    assert f":{victim.process.pid} stopped responding" in failed.error and "last heartbeat" in failed.error and "retry" in failed.error
    # heartbeat timeout + one reaper interval + beat's first tick; generous for a shared 2-core machine
    assert took < HEARTBEAT_TIMEOUT + 15, took
    assert not DailyStoreStats.objects.for_store(store).exists()  # the half-done rollup left nothing behind

    client = APIClient()
    client.force_authenticate(owner)
    response = client.post(f"/api/v1/stores/{store.slug}/jobs/{job.pk}/retry/")
    assert response.status_code == 201, response.content
    retried_id = response.json()["id"]
    done = wait_for(
        lambda: Job.objects.filter(pk=retried_id, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(),
        120, "the retried job finishing on the surviving worker", survivor,
    )
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.params == failed.params and done.result["chunks"] >= 250
    assert DailyStoreStats.objects.for_store(store).count() == 3601
