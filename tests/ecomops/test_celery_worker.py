"""A job through a REAL Celery worker on Redis, its progress arriving on the store's websocket.

The worker is a subprocess (`celery -A ecomops worker -Q default --pool=solo`) on the test database; the
channel layer is the real Redis one, so the worker's broadcasts reach the in-process consumer.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from ecomops.models import DailyStoreStats, Job, JobStatus
from ecomops.routing import websocket_urlpatterns
from ecomops.services.jobs import job_create
from tests.ecomops.live_servers import start_celery_worker
from tests.factories import CustomerFactory, MembershipFactory, OrderFactory, StoreFactory

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def worker(transactional_db):
    process = start_celery_worker()
    yield process
    process.stop()


def make_store():
    store = StoreFactory(slug="worker-shop")
    owner = MembershipFactory(store=store).user
    customer = CustomerFactory(store=store)
    now = timezone.now()
    for days_ago in range(0, 120, 3):  # four months: the rollup runs in four monthly chunks
        OrderFactory(store=store, customer=customer, placed_at=now - timedelta(days=days_ago), total=Decimal("12.50"))
    return store, owner


async def test_job_runs_on_a_real_worker_and_progress_streams_to_the_socket(worker):
    store, owner = await database_sync_to_async(make_store)()
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{store.slug}/live/")
    communicator.scope["user"] = owner
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from())["type"] == "hello"

    job = await database_sync_to_async(job_create)(store=store, kind="kpi_rollup", created_by=owner)
    seen = []
    try:
        while True:
            message = await communicator.receive_json_from(timeout=60)
            if message["type"] != "job.progress" or message["job"]["id"] != str(job.pk):
                continue
            seen.append((message["job"]["status"], message["job"]["progress"], message["job"]["message"]))
            if message["job"]["status"] in ("succeeded", "failed", "cancelled"):
                break
    except TimeoutError:
        pytest.fail(f"no progress for 60 s; messages so far {seen}\nworker log:\n{worker.output()}")
    finally:
        await communicator.disconnect()

    statuses = [status for status, _, _ in seen]
    assert statuses[0] == "queued" and statuses[-1] == "succeeded", seen
    assert "running" in statuses
    progress = [pct for status, pct, _ in seen if status == "running"]
    assert progress == sorted(progress) and len(set(progress)) >= 4, seen  # several steps, never backwards
    assert any("Rolled up" in msg for _, _, msg in seen)
    assert seen[-1][1] == 100

    finished = await database_sync_to_async(Job.objects.get)(pk=job.pk)
    assert finished.status == JobStatus.SUCCEEDED and finished.attempts == 1
    assert finished.result["chunks"] >= 4
    assert await database_sync_to_async(DailyStoreStats.objects.for_store(store).count)() >= 118
    await sync_to_async(connections.close_all, thread_sensitive=True)()
