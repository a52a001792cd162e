"""The store live socket: a job's progress reaches a member's socket as a `job.progress` message."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from ecomops.routing import websocket_urlpatterns
from ecomops.services.jobs import job_progress, job_start, job_succeed
from tests.factories import JobFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """The ORM calls above run in asgiref's worker thread; close its connection so the test DB can be dropped."""
    yield
    await sync_to_async(connections.close_all, thread_sensitive=True)()


def communicator_for(user, slug: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{slug}/live/")
    communicator.scope["user"] = user
    return communicator


async def next_of_type(communicator, message_type: str, timeout: float = 5) -> dict:
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == message_type:
            return message


async def test_job_progress_arrives_on_the_members_socket():
    store = await database_sync_to_async(StoreFactory)(slug="live-shop")
    owner = await database_sync_to_async(lambda: MembershipFactory(store=store).user)()
    job = await database_sync_to_async(JobFactory)(store=store)

    communicator = communicator_for(owner, store.slug)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"

    running = await database_sync_to_async(job_start)(job_id=job.pk)
    started = await next_of_type(communicator, "job.progress")
    assert started["job"]["id"] == str(job.pk) and started["job"]["status"] == "running"

    await database_sync_to_async(job_progress)(job=running, progress=42, message="Halfway there")
    message = await next_of_type(communicator, "job.progress")
    assert message["job"]["progress"] == 42 and message["job"]["message"] == "Halfway there"

    await database_sync_to_async(job_succeed)(job=running, result={"days": 3})
    message = await next_of_type(communicator, "job.progress")
    assert message["job"]["status"] == "succeeded" and message["job"]["progress"] == 100
    assert message["job"]["result"] == {"days": 3}
    await communicator.disconnect()


async def test_other_stores_jobs_do_not_leak_and_non_members_are_closed():
    mine = await database_sync_to_async(StoreFactory)(slug="mine")
    theirs = await database_sync_to_async(StoreFactory)(slug="theirs")
    owner = await database_sync_to_async(lambda: MembershipFactory(store=mine).user)()
    stranger = await database_sync_to_async(UserFactory)()

    closed = communicator_for(stranger, mine.slug)
    connected, code = await closed.connect()
    assert not connected and code == 4403
    await closed.disconnect()  # let the refused consumer's task finish before the loop closes

    communicator = communicator_for(owner, mine.slug)
    assert (await communicator.connect())[0]
    await communicator.receive_json_from()  # hello
    foreign = await database_sync_to_async(JobFactory)(store=theirs)
    await database_sync_to_async(job_start)(job_id=foreign.pk)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()
