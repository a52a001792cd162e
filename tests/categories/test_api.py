"""REST endpoints: list, bulk decide, re-score; 400s on bad input; another store is a 404 / unknown id."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from categories.models import SuggestionStatus
from categories.services import RESCORE_KIND
from ecomops.models import Job, Product
from tests.categories.conftest import attribute_suggestion, category_suggestion
from tests.factories import MembershipFactory, ProductFactory, UserFactory

BASE = "/api/v1/stores/acme/categories"


def test_list_filters_by_confidence_and_shows_only_this_store(api_client, store, other_store):
    hi = category_suggestion(ProductFactory(store=store, category=""), confidence=0.97)
    category_suggestion(ProductFactory(store=store, category=""), confidence=0.6)
    category_suggestion(ProductFactory(store=other_store, category=""), confidence=0.99)
    r = api_client.get(f"{BASE}/suggestions/", {"min_confidence": 0.9})
    assert r.status_code == 200
    assert [row["id"] for row in r.json()["results"]] == [hi.pk]
    r = api_client.get(f"{BASE}/suggestions/")
    assert len(r.json()["results"]) == 2


def test_bulk_accept_and_reject(api_client, store):
    a, b = ProductFactory(store=store, category="", attributes={}), ProductFactory(store=store, category="")
    sa, sb = category_suggestion(a, path="X > Y"), category_suggestion(b, path="X > Z")
    attr = attribute_suggestion(a, name="colour", value="red")
    r = api_client.post(f"{BASE}/suggestions/decide/", {"action": "accept", "category_ids": [sa.pk],
                                                        "attribute_ids": [attr.pk]}, format="json")
    assert r.status_code == 200 and r.json() == {"accepted": 2, "rejected": 0, "conflicts": []}
    r = api_client.post(f"{BASE}/suggestions/decide/", {"action": "reject", "category_ids": [sb.pk]}, format="json")
    assert r.json()["rejected"] == 1
    a.refresh_from_db()
    assert a.category == "X > Y" and a.attributes == {"colour": "red"}
    assert Product.objects.get(pk=b.pk).category == ""
    r = api_client.get(f"{BASE}/suggestions/", {"status": "rejected"})
    assert [row["id"] for row in r.json()["results"]] == [sb.pk]
    r = api_client.get(f"{BASE}/attribute-suggestions/", {"status": "accepted"})
    assert r.json()["results"][0]["decided_by"] == "owner"


@pytest.mark.parametrize("body,field", [
    ({"action": "apply", "category_ids": [1]}, "action"),
    ({"action": "accept"}, "non_field_errors"),
    ({"action": "accept", "category_ids": ["x"]}, "category_ids"),
    ({"action": "accept", "category_ids": [999999]}, "category_ids"),
    ({"action": "accept", "attribute_ids": "1"}, "attribute_ids"),
    ({"action": "accept", "category_ids": [10**30]}, "category_ids"),
])
def test_decide_bad_input_is_a_400_with_field_errors(api_client, store, body, field):
    r = api_client.post(f"{BASE}/suggestions/decide/", body, format="json")
    assert r.status_code == 400 and field in r.json()


def test_list_bad_query_is_a_400(api_client, store):
    assert api_client.get(f"{BASE}/suggestions/", {"min_confidence": "2"}).status_code == 400
    assert api_client.get(f"{BASE}/suggestions/", {"status": "nope"}).status_code == 400
    assert api_client.get(f"{BASE}/attribute-suggestions/", {"name": "flavour"}).status_code == 400


def test_another_stores_suggestions_cannot_be_decided_or_listed(api_client, store, other_store):
    theirs = category_suggestion(ProductFactory(store=other_store, category=""))
    r = api_client.post(f"{BASE}/suggestions/decide/", {"action": "accept", "category_ids": [theirs.pk]},
                        format="json")
    assert r.status_code == 400
    theirs.refresh_from_db()
    assert theirs.status == SuggestionStatus.PENDING
    assert api_client.get("/api/v1/stores/rival/categories/suggestions/").status_code == 404
    assert api_client.post("/api/v1/stores/rival/categories/rescore/", {}, format="json").status_code == 404


def test_rescore_queues_a_job_with_validated_params(api_client, store):
    r = api_client.post(f"{BASE}/rescore/", {"target_precision": 0.95}, format="json")
    assert r.status_code == 202
    job = Job.objects.for_store(store).get(pk=r.json()["id"])
    assert job.kind == RESCORE_KIND and job.params == {"target_precision": 0.95, "attributes": True}
    assert api_client.post(f"{BASE}/rescore/", {"target_precision": 5}, format="json").status_code == 400
    assert api_client.post(f"{BASE}/rescore/", {"path": "/etc/passwd"}, format="json").status_code == 400


def test_analyst_reads_but_cannot_decide(store):
    analyst = MembershipFactory(store=store, role="analyst", user=UserFactory(username="ana")).user
    client = APIClient()
    client.force_authenticate(analyst)
    s = category_suggestion(ProductFactory(store=store, category=""))
    assert client.get(f"{BASE}/suggestions/").status_code == 200
    r = client.post(f"{BASE}/suggestions/decide/", {"action": "accept", "category_ids": [s.pk]}, format="json")
    assert r.status_code == 403


def test_schema_describes_the_endpoints(api_client):
    r = api_client.get("/api/schema/", {"format": "json"})
    paths = r.json()["paths"]
    assert "/api/v1/stores/{store_slug}/categories/suggestions/decide/" in paths
    assert "/api/v1/stores/{store_slug}/categories/rescore/" in paths
