"""Events API (filtered list with cursor pagination, single create) and jobs API (list, detail, start, cancel)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from ecomops.models import Event, Job, JobStatus
from tests.factories import CustomerFactory, EventFactory, JobFactory, ProductFactory

pytestmark = pytest.mark.quick

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def url(store, path):
    return f"/api/v1/stores/{store.slug}/{path}"


# --- events ----------------------------------------------------------------------------------------------


@pytest.fixture
def events(store, other_store):
    ada = CustomerFactory(store=store, external_id="ADA")
    bob = CustomerFactory(store=store, external_id="BOB")
    shoe = ProductFactory(store=store, sku="SHOE")
    hat = ProductFactory(store=store, sku="HAT")
    made = {
        "v1": EventFactory(store=store, customer=ada, product=shoe, type="view", occurred_at=T0),
        "c1": EventFactory(
            store=store, customer=ada, product=shoe, type="add_to_cart", occurred_at=T0 + timedelta(minutes=1)
        ),
        "v2": EventFactory(store=store, customer=bob, product=hat, type="view", occurred_at=T0 + timedelta(days=1)),
        "p1": EventFactory(
            store=store, customer=ada, product=shoe, type="purchase", occurred_at=T0 + timedelta(days=2)
        ),
    }
    EventFactory(store=other_store, type="view", occurred_at=T0)
    return made


def test_event_list_filters(api_client, store, events):
    def ids(**params):
        response = api_client.get(url(store, "events/"), params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    e = {name: event.pk for name, event in events.items()}
    assert ids() == [e["p1"], e["v2"], e["c1"], e["v1"]]  # newest first, only this store
    assert ids(type="view") == [e["v2"], e["v1"]]
    assert ids(type=["view", "purchase"]) == [e["p1"], e["v2"], e["v1"]]
    assert ids(customer="BOB") == [e["v2"]]
    assert ids(product="SHOE", type="add_to_cart") == [e["c1"]]
    assert ids(
        occurred_after=(T0 + timedelta(hours=1)).isoformat(), occurred_before=(T0 + timedelta(days=2)).isoformat()
    ) == [e["v2"]]
    row = api_client.get(url(store, "events/"), {"type": "purchase"}).json()["results"][0]
    assert (row["customer"], row["product"], row["type"]) == ("ADA", "SHOE", "purchase")
    assert api_client.get(url(store, "events/"), {"type": "teleport"}).status_code == 400


def test_event_list_cursor_pagination(api_client, store, events):
    first = api_client.get(url(store, "events/"), {"page_size": 3}).json()
    assert len(first["results"]) == 3 and first["next"]
    second = api_client.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == [events["v1"].pk]
    assert second["next"] is None


def test_create_event(api_client, store):
    CustomerFactory(store=store, external_id="ADA")
    ProductFactory(store=store, sku="SHOE")
    response = api_client.post(
        url(store, "events/"),
        {
            "type": "view",
            "customer": "ADA",
            "product": "SHOE",
            "occurred_at": "2026-03-01T14:00:00+02:00",
            "properties": {"source": "ad"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    event = Event.objects.for_store(store).get(pk=response.json()["id"])
    assert (event.customer.external_id, event.product.sku, event.occurred_at) == ("ADA", "SHOE", T0)
    anonymous = api_client.post(
        url(store, "events/"), {"type": "search", "session_id": "s-1", "occurred_at": T0.isoformat()}, format="json"
    )
    assert anonymous.status_code == 201, anonymous.content
    assert anonymous.json()["customer"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "view", "customer": "NOBODY", "occurred_at": "2026-03-01T12:00:00Z"}, "customer"),
        ({"type": "view", "session_id": "s", "product": "NOPE", "occurred_at": "2026-03-01T12:00:00Z"}, "product"),
        ({"type": "view", "occurred_at": "2026-03-01T12:00:00Z"}, "session_id"),  # neither customer nor session
        ({"type": "teleport", "session_id": "s", "occurred_at": "2026-03-01T12:00:00Z"}, "type"),
        ({"type": "view", "session_id": "s", "occurred_at": "soon"}, "occurred_at"),
    ],
)
def test_create_event_rejects_bad_input(api_client, store, other_store, payload, field):
    ProductFactory(store=other_store, sku="NOPE")  # another store's SKU is unknown here
    response = api_client.post(url(store, "events/"), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Event.objects.for_store(store).exists()


def test_analyst_cannot_create_events(analyst_api_client, store):
    payload = {"type": "search", "session_id": "s", "occurred_at": T0.isoformat()}
    assert analyst_api_client.post(url(store, "events/"), payload, format="json").status_code == 403


# --- jobs ------------------------------------------------------------------------------------------------


def test_job_list_detail_and_filters(api_client, store, other_store):
    done = JobFactory(store=store, status=JobStatus.SUCCEEDED, progress=100, result={"days": 3})
    queued = JobFactory(store=store)
    JobFactory(store=other_store)
    listed = api_client.get(url(store, "jobs/")).json()["results"]
    assert {row["id"] for row in listed} == {str(done.pk), str(queued.pk)}
    assert [row["id"] for row in api_client.get(url(store, "jobs/"), {"status": "succeeded"}).json()["results"]] == [
        str(done.pk)
    ]
    detail = api_client.get(url(store, f"jobs/{done.pk}/")).json()
    assert (detail["status"], detail["progress"], detail["result"], detail["label"]) == (
        "succeeded",
        100,
        {"days": 3},
        "Recompute daily KPI rollups",
    )
    assert api_client.get(url(store, f"jobs/{uuid.uuid4()}/")).status_code == 404


def test_start_a_registered_job_kind(api_client, store, owner):
    response = api_client.post(
        url(store, "jobs/"), {"kind": "kpi_rollup", "params": {"start": "2026-01-01"}}, format="json"
    )
    assert response.status_code == 201, response.content
    job = Job.objects.for_store(store).get(pk=response.json()["id"])
    assert (job.kind, job.status, job.params, job.created_by) == (
        "kpi_rollup",
        JobStatus.QUEUED,
        {"start": "2026-01-01"},
        owner,
    )
    unknown = api_client.post(url(store, "jobs/"), {"kind": "mine_bitcoin"}, format="json")
    assert unknown.status_code == 400 and "kind" in unknown.json()


def test_job_kinds_lists_the_registered_kinds(analyst_api_client, store):
    response = analyst_api_client.get(url(store, "jobs/kinds/"))
    assert response.status_code == 200
    kinds = {kind["name"]: kind for kind in response.json()}
    assert kinds["kpi_rollup"] == {"name": "kpi_rollup", "label": "Recompute daily KPI rollups", "queue": "default",
                                   "params": ["end", "start"], "max_concurrent": 2}
    # its training data comes from settings or a file train_support stored server-side (by content hash), never a path
    assert kinds["support_train"]["params"] == ["base_upload", "extra_upload", "training_set"]


def test_cancel_queued_and_running_jobs(api_client, store):
    queued = JobFactory(store=store)
    running = JobFactory(store=store, status=JobStatus.RUNNING)
    finished = JobFactory(store=store, status=JobStatus.SUCCEEDED)
    for job, slash in ((queued, "/"), (running, ""), (finished, "/")):
        response = api_client.post(url(store, f"jobs/{job.pk}/cancel{slash}"))
        assert response.status_code == 200, response.content
    queued.refresh_from_db(), running.refresh_from_db(), finished.refresh_from_db()
    assert queued.status == JobStatus.CANCELLED
    assert (running.status, running.cancel_requested) == (JobStatus.RUNNING, True)  # stops at its next progress report
    assert finished.status == JobStatus.SUCCEEDED


def test_analyst_cannot_start_or_cancel_jobs(analyst_api_client, store):
    job = JobFactory(store=store)
    assert analyst_api_client.get(url(store, f"jobs/{job.pk}/")).status_code == 200
    assert analyst_api_client.post(url(store, f"jobs/{job.pk}/cancel/")).status_code == 403
    assert analyst_api_client.post(url(store, "jobs/"), {"kind": "kpi_rollup"}, format="json").status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_job_of_another_store_cannot_be_cancelled(api_client, store, other_store):
    foreign = JobFactory(store=other_store)
    with transaction.atomic():
        assert api_client.post(url(store, f"jobs/{foreign.pk}/cancel/")).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == JobStatus.QUEUED and not foreign.cancel_requested
