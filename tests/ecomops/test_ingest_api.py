"""POST /api/v1/stores/<slug>/events/bulk: all or nothing, row index + field on errors, tenancy."""

from __future__ import annotations

import pytest

from ecomops.models import Event, EventType
from ecomops.services.ingest import INGEST_KEY, MAX_BULK_EVENTS
from tests.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.quick]


def url(slug: str = "acme") -> str:
    return f"/api/v1/stores/{slug}/events/bulk"


@pytest.fixture
def catalog(store):
    return {
        "product": ProductFactory(store=store, sku="TS-1"),
        "customer": CustomerFactory(store=store, external_id="C-1"),
    }


def good_events(n: int = 3) -> list[dict]:
    return [
        {
            "type": "view",
            "occurred_at": f"2026-03-01T12:{i % 60:02d}:{i // 60 % 60:02d}Z",
            "customer": "C-1",
            "session_id": "s-1",
            "product": "TS-1",
            "properties": {"position": i},
        }
        for i in range(n)
    ]


def test_good_batch_is_written_with_references(api_client, store, catalog):
    events = good_events(3)
    events.append({"type": "purchase", "occurred_at": "2026-03-01T14:00:00+02:00", "session_id": "anon-9"})
    response = api_client.post(url(), {"events": events}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 4
    stored = Event.objects.for_store(store)
    assert stored.count() == 4
    view = stored.get(properties__position=2)
    assert view.customer == catalog["customer"] and view.product == catalog["product"]
    purchase = stored.get(type=EventType.PURCHASE)
    assert purchase.customer is None and purchase.session_id == "anon-9"
    assert purchase.occurred_at.isoformat() == "2026-03-01T12:00:00+00:00"  # converted to UTC
    assert INGEST_KEY in purchase.properties


def test_resending_a_batch_writes_nothing_twice(api_client, store, catalog):
    events = good_events(5)
    assert api_client.post(url(), {"events": events}, format="json").status_code == 201
    again = api_client.post(url(), {"events": events}, format="json")
    assert again.status_code == 201
    assert again.json() == {"count": 0, "duplicates": 5, "received": 5}
    assert Event.objects.for_store(store).count() == 5


def test_one_bad_row_rejects_the_batch_naming_row_and_field(api_client, store, catalog):
    events = good_events(4)
    events[2]["occurred_at"] = "2026-03-01T12:00:00"  # no time zone
    response = api_client.post(url(), {"events": events}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "occurred_at")]
    assert "time zone" in body["errors"][0]["message"]
    assert Event.objects.for_store(store).count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "teleport"}, "type"),
        ({"type": ["view"]}, "type"),
        ({"customer": {"id": 1}}, "customer"),
        ({"product": "x" * 101}, "product"),
        ({"customer": "", "session_id": ""}, "customer"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"properties": [1, 2]}, "properties"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_field_errors(api_client, store, catalog, change, field):
    events = good_events(2)
    events[1].update(change)
    response = api_client.post(url(), {"events": events}, format="json")
    assert response.status_code == 400
    assert (1, field) in [(e["row"], e["field"]) for e in response.json()["errors"]]
    assert not Event.objects.for_store(store).exists()


def test_unknown_sku_and_customer_are_errors_not_drops(api_client, store, catalog):
    events = good_events(3)
    events[0]["product"] = "NOPE"
    events[2]["customer"] = "C-404"
    response = api_client.post(url(), {"events": events}, format="json")
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, "product"), (2, "customer")]
    assert not Event.objects.for_store(store).exists()


def test_cannot_reference_another_stores_product_or_customer(api_client, store, other_store, catalog):
    ProductFactory(store=other_store, sku="RIVAL-1")
    CustomerFactory(store=other_store, external_id="RIVAL-C")
    events = good_events(2)
    events[0]["product"] = "RIVAL-1"
    events[1]["customer"] = "RIVAL-C"
    response = api_client.post(url(), {"events": events}, format="json")
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, "product"), (1, "customer")]
    assert not Event.objects.exists()


def test_another_stores_endpoint_is_404_and_analysts_cannot_write(api_client, analyst_api_client, other_store, catalog):
    assert api_client.post(url("rival"), {"events": good_events(1)}, format="json").status_code == 404
    assert analyst_api_client.post(url(), {"events": good_events(1)}, format="json").status_code == 403
    assert not Event.objects.exists()


def test_more_than_ten_thousand_rows_are_rejected(api_client, store):
    events = [
        {"type": "view", "occurred_at": "2026-03-01T12:00:00Z", "session_id": f"s{i}"} for i in range(MAX_BULK_EVENTS + 1)
    ]
    response = api_client.post(url(), {"events": events}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "events"
    assert "10,000" in response.json()["errors"][0]["message"]
    assert not Event.objects.exists()
    # ... and exactly the limit goes through.
    response = api_client.post(url(), {"events": events[:MAX_BULK_EVENTS]}, format="json")
    assert response.status_code == 201
    assert response.json()["count"] == MAX_BULK_EVENTS == Event.objects.for_store(store).count()


def test_envelope_must_be_a_list(api_client, store):
    response = api_client.post(url(), {"events": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "events"


def test_endpoint_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    assert "/api/v1/stores/{store_slug}/events/bulk" in schema["paths"]
    assert "201" in schema["paths"]["/api/v1/stores/{store_slug}/events/bulk"]["post"]["responses"]


HOOK_CALLS: list[int] = []


def record_hook(store_id: int) -> None:
    HOOK_CALLS.append(store_id)


def broken_hook(store_id: int) -> None:
    raise RuntimeError("hook down")


def test_ingest_hooks_run_after_commit_and_cannot_break_ingest(
    api_client, store, catalog, settings, django_capture_on_commit_callbacks
):
    settings.ECOMOPS_INGEST_HOOKS = [f"{__name__}.broken_hook", f"{__name__}.record_hook"]
    HOOK_CALLS.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post(url(), {"events": good_events(2)}, format="json")
    assert response.status_code == 201
    assert len(callbacks) == 1 and HOOK_CALLS == [store.pk]
    # A rejected batch commits nothing and notifies nobody.
    HOOK_CALLS.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post(url(), {"events": [{"type": "view"}]}, format="json")
    assert response.status_code == 400 and not callbacks and HOOK_CALLS == []
