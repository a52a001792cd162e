"""The hot-read caches (ecomops/hotcache.py): the product list, trending, personal recommendations and the live
counters are served from memory, and every write that changes them shows on the next request — in this process
and, through the Redis stamps, in every web worker process."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from ecomops import hotcache
from ecomops.models import Product
from ecomops.services.catalog import product_update
from recommender.services.training import model_train
from tests.ecomops.live_servers import start_web_server
from tests.factories import ProductFactory
from tests.recommender.rec_data import build_rec_store, model_dir, reset_serving  # noqa: F401

STORE = "/api/v1/stores/acme"


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["title"] for p in response.json()["results"]]


@pytest.mark.django_db
def test_product_list_is_cached_and_every_write_through_the_services_shows_at_once(api_client, store):
    ProductFactory(store=store, sku="A-1", title="Anchor")
    assert titles(api_client.get(f"{STORE}/products/")) == ["Anchor"]

    # A change behind the services' back (no stamp bump) is not seen: the page really comes from the cache ...
    Product.objects.for_store(store).filter(sku="A-1").update(title="Changed behind the cache")
    assert titles(api_client.get(f"{STORE}/products/")) == ["Anchor"]
    # ... and a bump of the catalog stamp (what every catalog service does) makes the next request recompute.
    hotcache.bump(store.pk, hotcache.CATALOG)
    assert titles(api_client.get(f"{STORE}/products/")) == ["Changed behind the cache"]

    assert api_client.post(f"{STORE}/products/", {"sku": "B-2", "title": "Bell", "price": "3.00"}).status_code == 201
    assert titles(api_client.get(f"{STORE}/products/")) == ["Bell", "Changed behind the cache"]
    assert api_client.patch(f"{STORE}/products/B-2/", {"title": "Buoy"}).status_code == 200
    assert titles(api_client.get(f"{STORE}/products/")) == ["Buoy", "Changed behind the cache"]
    bulk = api_client.post(f"{STORE}/products/bulk", {"products": [{"sku": "C-3", "title": "Cleat", "price": "1.00"}]})
    assert bulk.status_code in (200, 201), bulk.content
    assert titles(api_client.get(f"{STORE}/products/")) == ["Buoy", "Changed behind the cache", "Cleat"]
    assert api_client.delete(f"{STORE}/products/B-2/").status_code == 204
    assert titles(api_client.get(f"{STORE}/products/")) == ["Changed behind the cache", "Cleat"]
    # Query strings are separate entries.
    assert titles(api_client.get(f"{STORE}/products/", {"search": "Cleat"})) == ["Cleat"]


@pytest.mark.django_db
def test_product_list_cache_is_per_store(api_client, store, other_store, member):
    ProductFactory(store=store, sku="A-1", title="Ours")
    ProductFactory(store=other_store, sku="A-1", title="Theirs")
    assert titles(api_client.get(f"{STORE}/products/")) == ["Ours"]
    assert api_client.get("/api/v1/stores/rival/products/").status_code == 404  # not a member: no cached page


@pytest.fixture
def rec(store, model_dir):  # noqa: F811
    data = build_rec_store(store)
    reset_serving(store)
    yield data
    reset_serving(store)


@pytest.mark.django_db
def test_trending_shows_an_archived_product_gone_on_the_next_request(api_client, rec):
    first = api_client.get(f"{STORE}/recommendations/trending", {"k": 24}).json()
    listed = [item["sku"] for item in first["results"]]
    assert listed, first
    gone = listed[0]
    assert api_client.patch(f"{STORE}/products/{gone}/", {"status": "archived"}).status_code == 200
    second = api_client.get(f"{STORE}/recommendations/trending", {"k": 24}).json()
    assert gone not in [item["sku"] for item in second["results"]]
    assert second["impression_id"] != first["impression_id"]  # each response logs its own impression


@pytest.mark.django_db
def test_personal_list_follows_model_activation_and_ingested_purchases(
    api_client, store, rec, django_capture_on_commit_callbacks
):
    ease = model_train(store=store, algorithm="ease", params={"l2": 10.0}, activate=True)
    itemknn = model_train(store=store, algorithm="itemknn", activate=False)
    first = api_client.get(f"{STORE}/recommendations/customers/C00", {"k": 5}).json()
    again = api_client.get(f"{STORE}/recommendations/customers/C00", {"k": 5}).json()
    assert first["model"] == again["model"] == ease.label
    assert [i["sku"] for i in again["results"]] == [i["sku"] for i in first["results"]]
    assert again["impression_id"] != first["impression_id"]

    with django_capture_on_commit_callbacks(execute=True):  # the model stamp is bumped after commit
        response = api_client.post(f"{STORE}/recommendations/models/{itemknn.pk}/activate")
    assert response.status_code == 200, response.content
    after = api_client.get(f"{STORE}/recommendations/customers/C00", {"k": 5}).json()
    assert after["model"] == itemknn.label and after["model_version"] == itemknn.version

    # The customer buys the top item (ingested through the bulk API): it leaves their list on the next request.
    top = after["results"][0]["sku"]
    now = timezone.now().replace(microsecond=0)
    events = [{"type": "purchase", "occurred_at": (now - timedelta(seconds=1)).isoformat(), "customer": "C00",
               "session_id": "s0", "product": top}]
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(f"{STORE}/events/bulk", {"events": events}, format="json").status_code == 201
    bought = api_client.get(f"{STORE}/recommendations/customers/C00", {"k": 5}).json()
    assert top not in [i["sku"] for i in bought["results"]]


@pytest.mark.django_db
def test_live_counters_show_ingested_events_at_once(api_client, store, rec, django_capture_on_commit_callbacks):
    before = api_client.get(f"{STORE}/analytics/live").json()
    now = timezone.now().replace(microsecond=0)
    events = [{"type": "view", "occurred_at": (now - timedelta(seconds=5 + i)).isoformat(), "session_id": f"live-{i}",
               "product": "P00"} for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(f"{STORE}/events/bulk", {"events": events}, format="json").status_code == 201
    after = api_client.get(f"{STORE}/analytics/live").json()
    assert after["events_last_minute"] == before["events_last_minute"] + 3, (before, after)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_write_in_one_process_shows_in_every_web_worker(store, owner):
    """Two uvicorn workers cache the page; a committed write in another process (this test) shows on the next
    request, whichever worker answers (new connections are spread over the workers by the kernel)."""
    product = ProductFactory(store=store, sku="W-1", title="Before")
    token = Token.objects.create(user=owner).key
    server, base = start_web_server(workers=2)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def seen() -> set[str]:
        found = set()
        for _ in range(12):  # enough requests to reach both workers (the kernel spreads new connections)
            request = urllib.request.Request(f"{base}{STORE}/products/", headers={"Authorization": f"Token {token}"})
            with opener.open(request, timeout=10) as response:
                found.update(p["title"] for p in json.load(response)["results"])
        return found

    try:
        time.sleep(2)  # the second worker finishes booting
        assert seen() == {"Before"}
        product_update(product=product, title="After")
        assert seen() == {"After"}, server.output()
    finally:
        server.stop()
