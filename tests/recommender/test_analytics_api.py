"""The analytics API contract: parameters, 400s with field errors, tenancy, CSV export, OpenAPI; and the page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from ecomops.models import Role
from tests.factories import MembershipFactory, StoreFactory, UserFactory
from tests.recommender.test_analytics_sql import build_funnel_store

pytestmark = [pytest.mark.django_db, pytest.mark.quick]

RANGE = {"start": "2026-03-01", "end": "2026-03-03"}


def url(slug: str, name: str) -> str:
    return f"/api/v1/stores/{slug}/analytics/{name}"


@pytest.fixture
def data(store):
    build_funnel_store(store)
    return store


def test_funnel_endpoint_matches_the_selector(api_client, data):
    r = api_client.get(url("acme", "funnel"), {**RANGE, "window": "1h"})
    assert r.status_code == 200, r.content
    assert [s["count"] for s in r.json()["steps"]] == [5, 4, 3, 2]
    r = api_client.get(url("acme", "funnel"), {**RANGE, "window": "1h", "strict": "true"})
    assert [s["count"] for s in r.json()["steps"]] == [5, 3, 2, 1]
    r = api_client.get(url("acme", "funnel"), {**RANGE, "window": "60m", "breakdown": "device"})
    assert {s["value"]: s["steps"][0]["count"] for s in r.json()["series"]} == {"mobile": 3, "desktop": 1, "(none)": 1}
    r = api_client.get(url("acme", "funnel"), {**RANGE, "steps": "view,purchase", "unit": "session"})
    assert [s["count"] for s in r.json()["steps"]] == [6, 3]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"steps": "view"}, "steps"),
        ({"steps": "view,teleport"}, "steps"),
        ({"window": "soon"}, "window"),
        ({"window": "100d"}, "window"),
        ({"order": "sideways"}, "order"),
        ({"unit": "household"}, "unit"),
        ({"breakdown": "property"}, "breakdown_property"),
        ({"breakdown": "property", "breakdown_property": "a b"}, "breakdown_property"),
        ({"order": "any", "steps": "view,view"}, "steps"),
        ({"start": "2026-03-05", "end": "2026-03-01"}, "start"),
        ({"start": "2020-01-01", "end": "2026-03-01"}, "start"),
        ({"start": "yesterday"}, "start"),
    ],
)
def test_funnel_bad_input_is_a_400_with_the_field(api_client, store, params, field):
    r = api_client.get(url("acme", "funnel"), params)
    assert r.status_code == 400
    assert field in r.json()


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("retention", {"period": "year"}, "period"),
        ("retention", {"periods": "0"}, "periods"),
        ("retention", {"mode": "sometimes"}, "mode"),
        ("retention", {"return_event": "teleport"}, "return_event"),
        ("lifecycle", {"periods": "1000"}, "periods"),
        ("rfm", {"segment": "vips"}, "segment"),
        ("rfm", {"limit": "5000"}, "limit"),
        ("rfm", {"offset": "3291954303274176217088"}, "offset"),  # past a bigint: was a 500 (schemathesis)
        ("top-products", {"by": "vibes"}, "by"),
        ("trends", {"interval": "hour"}, "interval"),
        ("trends", {"events": "view,teleport"}, "events"),
        ("paths", {"depth": "4"}, "depth"),
        ("paths", {"start_event": "teleport"}, "start_event"),
    ],
)
def test_other_endpoints_bad_input(api_client, store, name, params, field):
    r = api_client.get(url("acme", name), params)
    assert r.status_code == 400
    assert field in r.json()


def test_reports_answer_with_their_shapes(api_client, data):
    # The last period is the whole week of `end` (Mon 03-02 .. Sun 03-08), so F's view on 03-05 counts too.
    retention = api_client.get(url("acme", "retention"), {"periods": 4, "end": "2026-03-03"}).json()
    assert retention["cohorts"][-1] == {"period": "2026-03-02", "size": 6, "counts": [6], "rates": [1.0]}
    life = api_client.get(url("acme", "lifecycle"), {"periods": 2, "end": "2026-03-03"}).json()
    assert life["series"]["new"] == [0, 6]
    top = api_client.get(url("acme", "top-products"), RANGE).json()
    assert [p["sku"] for p in top["products"]] == ["P1", "P2"]
    assert [c["category"] for c in top["categories"]] == ["Shoes", "Hats"]
    trends = api_client.get(url("acme", "trends"), {**RANGE, "events": "view"}).json()
    assert list(trends["events"]) == ["view"] and sum(trends["events"]["view"]) == 8
    paths = api_client.get(url("acme", "paths"), {**RANGE, "start_event": "checkout", "unit": "customer"}).json()
    assert paths["occurrences"] == 3
    live = api_client.get(url("acme", "live")).json()
    assert set(live) >= {"events_last_minute", "events_per_minute", "active_sessions", "revenue_today"}


def test_rfm_json_and_csv(api_client, data):
    r = api_client.get(url("acme", "rfm"))
    assert r.status_code == 200
    body = r.json()
    assert body["customers"] == 2 and body["revenue"] == "70.00"  # A and B; C's order was cancelled
    assert len(body["segments"]) == 11
    assert {c["external_id"] for c in body["customer_list"]["results"]} == {"A", "B"}
    for response in (api_client.get(url("acme", "rfm"), {"format": "csv"}), api_client.get(url("acme", "rfm.csv"))):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert [row["external_id"] for row in rows] == ["A", "B"]  # largest spender first
        assert rows[0]["revenue"] == "40.00"
    segment = body["segments"][[s["customers"] > 0 for s in body["segments"]].index(True)]["key"]
    one = api_client.get(url("acme", "rfm.csv"), {"segment": segment})
    assert len(list(csv.DictReader(io.StringIO(b"".join(one.streaming_content).decode())))) >= 1
    assert api_client.get(url("acme", "rfm.csv"), {"segment": "nope"}).status_code == 400


def test_analyst_can_read_and_foreign_store_is_404(analyst_api_client, data, other_store):
    assert analyst_api_client.get(url("acme", "funnel"), RANGE).status_code == 200
    assert analyst_api_client.get(url("rival", "funnel"), RANGE).status_code == 404
    assert analyst_api_client.get(url("nowhere", "rfm")).status_code == 404
    assert analyst_api_client.post(url("acme", "funnel"), {}).status_code in (403, 405)


def test_anonymous_is_refused(client, store):
    assert client.get(url("acme", "funnel")).status_code in (401, 403)


def test_endpoints_are_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for name in ("funnel", "retention", "lifecycle", "rfm", "rfm.csv", "top-products", "trends", "paths", "live"):
        assert f"/api/v1/stores/{{store_slug}}/analytics/{name}" in paths
    funnel_params = {p["name"] for p in paths["/api/v1/stores/{store_slug}/analytics/funnel"]["get"]["parameters"]}
    assert {"steps", "window", "order", "strict", "unit", "breakdown", "start", "end"} <= funnel_params


def test_analytics_page_renders_with_charts_and_live_panel(member_client, data):
    r = member_client.get("/stores/acme/recommendations/analytics/")
    assert r.status_code == 200
    html = r.content.decode()
    for marker in ('id="funnel-chart"', 'id="retention-chart"', 'id="lifecycle-chart"', 'id="rfm-chart"',
                   'id="trends-chart"', 'id="paths-chart"', "recommender/analytics.js", "vendor/plotly/plotly.min.js",
                   'aria-current="page">Analytics'):
        assert marker in html
    csv_page = member_client.get("/stores/acme/recommendations/analytics/rfm.csv")
    assert csv_page.status_code == 200 and b"external_id" in b"".join(csv_page.streaming_content)
    assert member_client.get("/stores/acme/recommendations/analytics/rfm.csv", {"segment": "x"}).status_code == 400


def test_page_is_404_for_a_foreign_store(client, data):
    stranger = UserFactory(username="stranger")
    MembershipFactory(user=stranger, store=StoreFactory(slug="elsewhere"), role=Role.OWNER)
    client.force_login(stranger)
    assert client.get("/stores/acme/recommendations/analytics/").status_code == 404


def test_dates_are_store_local(api_client, store):
    store.timezone = "Asia/Tokyo"
    store.save()
    build_funnel_store(store)  # events at 2026-03-02 10:00 UTC = 19:00 in Tokyo, same day
    r = api_client.get(url("acme", "funnel"), {"start": "2026-03-02", "end": "2026-03-02", "window": "1h"})
    assert [s["count"] for s in r.json()["steps"]] == [5, 4, 3, 2]
    assert datetime.fromisoformat(r.json()["start"]).astimezone(UTC).hour == 15  # midnight Tokyo


def test_cached_reports_are_refreshed_by_the_ingest_hook(api_client, data):
    from ecomops.models import Customer, Event
    from recommender.analytics.live import on_events_ingested

    params = {**RANGE, "window": "1h"}
    assert [s["count"] for s in api_client.get(url("acme", "funnel"), params).json()["steps"]] == [5, 4, 3, 2]
    f = Customer.objects.for_store(data).get(external_id="F")
    Event.objects.create(store=data, customer=f, session_id="sF2", type="view",
                         occurred_at=datetime(2026, 3, 2, 12, tzinfo=UTC))
    # Served from the cache until the ingest hook says there is new data.
    assert [s["count"] for s in api_client.get(url("acme", "funnel"), params).json()["steps"]] == [5, 4, 3, 2]
    on_events_ingested(data.pk)
    assert [s["count"] for s in api_client.get(url("acme", "funnel"), params).json()["steps"]] == [6, 4, 3, 2]
