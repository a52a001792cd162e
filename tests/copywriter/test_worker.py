"""Interactive generation through a REAL Celery worker on the `inference` queue: the worker process loads the
model, and its tokens reach the store's websocket through the Redis channel layer, then the grounded draft."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from copywriter import services
from copywriter.models import DescriptionDraft
from ecomops.models import Job, JobStatus
from ecomops.routing import websocket_urlpatterns
from tests.ecomops.live_servers import start_celery_worker
from tests.factories import ProductFactory

pytestmark = [pytest.mark.slow, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def inference_worker(transactional_db):
    process = start_celery_worker(queues="inference")
    yield process
    process.stop()


async def test_generate_streams_tokens_from_a_real_inference_worker(inference_worker, store, owner):
    # the worker loads the model when it starts, before any job is sent (solo pool: in its main process)
    for _ in range(600):
        if "language model ready in" in inference_worker.output():
            break
        await asyncio.sleep(0.1)
    assert "language model ready in" in inference_worker.output(), inference_worker.output()
    def model_writer():  # this test is about the language-model writer; a store's default is the planner
        store.settings = {"copywriter": {"writer": "model"}}
        store.save()

    await database_sync_to_async(model_writer)()
    product = await database_sync_to_async(ProductFactory)(
        store=store, sku="W1", title="Wool Scarf", attributes={"colour": "Grey", "material": "Wool", "length": "180 cm", "width": "30 cm", "care": "Hand wash cold", "fringe": "Knotted ends"}, description="")
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{store.slug}/live/")
    comm.scope["user"] = owner
    assert (await comm.connect(timeout=10))[0]  # a loaded 2-core machine can take over a second
    assert (await comm.receive_json_from())["type"] == "hello"
    # enqueued on commit to the real broker, like the product page's Generate button
    job = await database_sync_to_async(services.generation_start)(
        store=store, user=owner, skus=["W1"], options={"length": "short", "tone": "premium"}, stream=True,
        max_new_tokens=16)
    tokens, draft = [], None
    try:
        while draft is None:
            msg = await comm.receive_json_from(timeout=120)
            assert msg["type"] != "copywriter.token"  # the raw token stream never leaves the worker
            if msg["type"] == "copywriter.sentence" and msg["job_id"] == str(job.pk):
                tokens.append(msg["text"])  # vetted sentences, in order
            elif msg["type"] == "copywriter.draft" and msg["draft"]["job_id"] == str(job.pk):
                draft = msg["draft"]
    except TimeoutError:
        pytest.fail(f"no draft within 120 s; {len(tokens)} tokens so far\nworker log:\n{inference_worker.output()}")
    finally:
        await comm.disconnect()
    assert len(tokens) >= 2 and draft["product_id"] == product.pk and draft["missing_attributes"] == []
    saved = await database_sync_to_async(DescriptionDraft.objects.get)(pk=draft["id"])
    assert " ".join(t.strip() for t in tokens) == saved.description.strip() and saved.status == "draft"
    for _ in range(50):  # the job row is finished right after the draft is broadcast
        finished = await database_sync_to_async(Job.objects.get)(pk=job.pk)
        if finished.status != JobStatus.RUNNING:
            break
        await asyncio.sleep(0.1)
    assert finished.status == JobStatus.SUCCEEDED
    await sync_to_async(connections.close_all, thread_sensitive=True)()


def test_only_inference_workers_warm_the_model():
    from ecomops import celery as wiring

    try:
        wiring._decide_warm_up(conf=wiring.app.conf, options={"queues": "default,training", "pool": "solo"})
        assert wiring._warm["enabled"] is False
        wiring._decide_warm_up(conf=wiring.app.conf, options={"pool": "solo"})  # no -Q: the default queue
        assert wiring._warm["enabled"] is False
        wiring._decide_warm_up(conf=wiring.app.conf, options={"queues": ["default", "inference"], "pool": "prefork"})
        assert wiring._warm["enabled"] is True  # prefork: only files here, the children load the model
    finally:
        wiring._warm["enabled"] = False
