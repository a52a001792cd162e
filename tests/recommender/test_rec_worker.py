"""The training job through a REAL Celery worker on the `training` queue, its per-epoch loss and the job's
progress arriving on the store's websocket, ending in a new ready, active model version."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from ecomops.models import Job, JobStatus
from ecomops.routing import websocket_urlpatterns
from recommender.models import ModelStatus, RecommenderModel
from recommender.services.training import training_start
from tests.ecomops.live_servers import start_celery_worker
from tests.factories import MembershipFactory, StoreFactory
from tests.recommender.rec_data import build_rec_store

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def worker(transactional_db):
    process = start_celery_worker(queues="training")
    yield process
    process.stop()


def make_store():
    store = StoreFactory(slug="rec-worker-shop")
    owner = MembershipFactory(store=store).user
    build_rec_store(store)
    return store, owner


async def test_training_job_on_a_real_worker_streams_epochs_and_progress(worker):
    store, owner = await database_sync_to_async(make_store)()
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{store.slug}/live/")
    communicator.scope["user"] = owner
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from())["type"] == "hello"

    job = await database_sync_to_async(training_start)(store=store, algorithm="als", created_by=owner)
    statuses, epochs = [], []
    try:
        while True:
            message = await communicator.receive_json_from(timeout=90)
            if message["type"] == "recommender.training":
                epochs.append(message)
            elif message["type"] == "job.progress" and message["job"]["id"] == str(job.pk):
                statuses.append(message["job"]["status"])
                if message["job"]["status"] in ("succeeded", "failed", "cancelled"):
                    break
    except TimeoutError:
        pytest.fail(f"no progress for 90 s; statuses so far {statuses}\nworker log:\n{worker.output()}")
    finally:
        await communicator.disconnect()

    assert statuses[0] == "queued" and statuses[-1] == "succeeded", (statuses, worker.output()[-3000:])
    assert {"validation", "final"} <= {m["phase"] for m in epochs}
    assert all(m["loss"] >= 0 and m["label"] == "als v1" for m in epochs)
    finished = await database_sync_to_async(Job.objects.get)(pk=job.pk)
    assert finished.status == JobStatus.SUCCEEDED and finished.progress == 100
    model = await database_sync_to_async(RecommenderModel.objects.for_store(store).get)()
    assert model.status == ModelStatus.READY and model.is_active and len(model.training_log) == len(epochs)
    await sync_to_async(connections.close_all, thread_sensitive=True)()
