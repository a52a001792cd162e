"""GET /api/v1/stores/<slug>/search: public, validated, rate-limited, one store's active catalogue only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from search.models import SearchEvent

pytestmark = [pytest.mark.django_db]


def url(slug: str) -> str:
    return f"/api/v1/stores/{slug}/search"


@pytest.mark.slow
def test_public_search_returns_active_products_of_that_store_only(indexed, other_store):
    response = APIClient().get(url("acme"), {"q": "earbuds black"})
    assert response.status_code == 200, response.content
    body = response.json()
    titles = [r["title"] for r in body["results"]]
    assert titles[0] == "Auralis Compact Earbuds, black"
    assert "Auralis Prototype Earbuds, black" not in titles  # a draft is not public
    assert not any("Rival" in t for t in titles)
    assert set(body["results"][0]) == {"sku", "title", "brand", "category", "price", "currency", "in_stock", "attributes"}
    rival = APIClient().get(url("rival"), {"q": "earbuds"}).json()
    assert [r["title"] for r in rival["results"]][0] == "Rival Earbuds, black"
    assert not any("Auralis" in r["title"] for r in rival["results"])


@pytest.mark.slow
def test_search_events_are_recorded_without_pii_and_per_store(indexed, other_store):
    client = APIClient()
    client.get(url("acme"), {"q": "  Earbuds  "})
    client.get(url("acme"), {"q": "zzqx unicorn"}, HTTP_USER_AGENT="secret-agent")
    events = list(SearchEvent.objects.for_store(indexed).order_by("created_at").values("query", "results", "source"))
    assert events[0] == {"query": "earbuds", "results": events[0]["results"], "source": "storefront"}
    assert events[0]["results"] > 0
    assert events[1]["query"] == "zzqx unicorn" and events[1]["results"] == 0
    assert not SearchEvent.objects.for_store(other_store).exists()
    field_names = {f.name for f in SearchEvent._meta.get_fields()}
    assert field_names == {"id", "store", "query", "results", "source", "created_at"}


@pytest.mark.slow
def test_filters_and_did_you_mean(indexed):
    client = APIClient()
    body = client.get(url("acme"), {"q": "earbuds", "price_max": "50", "in_stock": "false"}).json()
    assert [r["sku"] for r in body["results"]] == ["EAR-P"]
    body = client.get(url("acme") + "?q=earbuds&attr=colour:white").json()
    assert [r["sku"] for r in body["results"]] == ["EAR-W"]
    body = client.get(url("acme"), {"q": "yogga", "category": "Apparel"}).json()
    assert body["did_you_mean"] == "yoga"


@pytest.mark.parametrize("params, field", [
    ({}, "q"),
    ({"q": "x" * 201}, "q"),
    ({"q": "!!!"}, "q"),
    ({"q": "mug", "price_min": "20", "price_max": "10"}, "price_min"),
    ({"q": "mug", "price_min": "-1"}, "price_min"),
    ({"q": "mug", "price_max": "cheap"}, "price_max"),
    ({"q": "mug", "limit": "500"}, "limit"),
    ({"q": "mug", "attr": "colour"}, "attr"),
    ({"q": "mug", "in_stock": "perhaps"}, "in_stock"),
])
def test_bad_parameters_are_400_with_field_errors(store, params, field):
    response = APIClient().get(url("acme"), params)
    assert response.status_code == 400
    assert field in response.json()


def test_unknown_store_is_404(db):
    assert APIClient().get(url("nope"), {"q": "mug"}).status_code == 404


def test_rate_limited_per_client(store, other_store, settings):
    settings.SEARCH_STOREFRONT_RATE = "3/min"
    client = APIClient()
    codes = [client.get(url("acme"), {"q": "!!"}).status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    # another store's counter is its own
    assert client.get(url("rival"), {"q": "!!"}).status_code == 400


def test_openapi_schema_documents_the_endpoint(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    path = schema["paths"]["/api/v1/stores/{store_slug}/search"]["get"]
    names = {p["name"] for p in path["parameters"]}
    assert {"q", "price_min", "price_max", "in_stock", "category", "attr", "limit", "store_slug"} <= names
    # Public: no security requirement on the operation (private ones list tokenAuth / cookieAuth).
    assert "security" not in path
    assert schema["paths"]["/api/v1/stores/"]["get"]["security"]
