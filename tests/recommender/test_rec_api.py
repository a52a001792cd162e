"""The serving API: personal lists with exclusions and explanations, similar / bought-together / trending,
category filter, fallbacks, k bounds, impressions and attribution, fold-in, reload on activation, A/B split and
a corrupted artifact."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ecomops.models import Event, EventType
from recommender import selectors
from recommender.models import RecommendationImpression, RecommenderModel
from recommender.services import serving
from recommender.services.attribution import impressions_attribute
from recommender.services.training import config_update, model_activate, model_train
from tests.recommender.rec_data import build_rec_store, model_dir, reset_serving  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.quick]

BASE = "/api/v1/stores/acme/recommendations"


@pytest.fixture
def rec(store, model_dir):  # noqa: F811
    data = build_rec_store(store)
    reset_serving(store)
    yield data
    reset_serving(store)


@pytest.fixture
def ease(store, rec):
    model = model_train(store=store, algorithm="ease", params={"l2": 10.0}, activate=True)
    reset_serving(store)
    return model


def skus(response) -> list[str]:
    return [item["sku"] for item in response.json()["results"]]


def test_customer_list_excludes_purchased_inactive_and_out_of_stock(api_client, ease, rec):
    r = api_client.get(f"{BASE}/customers/C00", {"k": 10})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["fallback"] is False and body["model"] == ease.label and body["model_version"] == ease.version
    got = skus(r)
    assert len(got) == 10
    assert not {"P01", "P02"} & set(got)  # bought
    assert not {"P05", "P06"} & set(got)  # archived, out of stock
    assert got[0] in {"P07", "P08", "P09", "P10", "P11", "P00", "P03", "P04"}  # a Kitchen item first
    assert all(int(s[1:]) < 12 for s in got[:3]), got  # the customer's taste leads the list
    scores = [item["score"] for item in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert any(item["explanation"].startswith("because you viewed Pot") for item in body["results"])
    assert RecommendationImpression.objects.filter(pk=body["impression_id"], model=ease, customer__external_id="C00").exists()


def test_category_filter(api_client, ease):
    r = api_client.get(f"{BASE}/customers/C00", {"k": 5, "category": "Garden"})
    assert r.status_code == 200
    assert skus(r) and all(int(s[1:]) >= 12 for s in skus(r))


def test_unknown_customer_falls_back_to_trending(api_client, ease):
    r = api_client.get(f"{BASE}/customers/nobody", {"k": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["fallback"] is True and body["model"] == "trending" and body["reason"] == "unknown customer"
    assert len(body["results"]) == 3
    assert not {"P05", "P06"} & set(skus(r))


def test_no_model_yet_falls_back_to_trending(api_client, rec):
    r = api_client.get(f"{BASE}/customers/C00", {"k": 4})
    assert r.status_code == 200
    body = r.json()
    assert body["fallback"] is True and body["reason"] == "no active model"
    assert len(skus(r)) == 4 and not {"P01", "P02"} & set(skus(r))  # still no already-bought items


@pytest.mark.parametrize("k", ["0", "101", "-1", "ten"])
def test_k_outside_1_to_100_is_a_400(api_client, ease, k):
    for path in ["customers/C00", "products/P00/similar", "products/P00/bought-together", "trending"]:
        r = api_client.get(f"{BASE}/{path}", {"k": k})
        assert r.status_code == 400, (path, r.content)
        assert "k" in r.json()


def test_similar_and_bought_together(api_client, ease):
    r = api_client.get(f"{BASE}/products/P02/similar", {"k": 5})
    assert r.status_code == 200 and r.json()["fallback"] is False
    got = skus(r)
    assert "P02" not in got and got and all(int(s[1:]) < 12 for s in got)
    assert "P05" not in got and "P06" not in got
    r = api_client.get(f"{BASE}/products/P02/bought-together", {"k": 5})
    assert r.status_code == 200 and r.json()["fallback"] is False
    body = r.json()
    # P02 was bought with P01 (by C00/C01's walk starting at 0/1) and with P03 (walks starting at 1, 2).
    assert set(skus(r)) <= {"P01", "P03"} and skus(r)
    assert "of orders with Pot 02 also contain this" in body["results"][0]["explanation"]


def test_unknown_product_is_404_and_unsold_product_falls_back(api_client, ease):
    assert api_client.get(f"{BASE}/products/NOPE/similar").status_code == 404
    assert api_client.get(f"{BASE}/products/NOPE/bought-together").status_code == 404
    r = api_client.get(f"{BASE}/products/P00/bought-together")  # never in a basket with another item
    assert r.status_code == 200 and r.json()["fallback"] is True


def test_trending(api_client, rec):
    r = api_client.get(f"{BASE}/trending", {"k": 5, "category": "Kitchen"})
    assert r.status_code == 200
    body = r.json()
    assert body["fallback"] is False and len(body["results"]) == 5
    assert all(int(s[1:]) < 12 for s in skus(r)) and "P05" not in skus(r)


def test_fold_in_new_events_change_a_known_customers_list(api_client, ease, store, rec):
    before = skus(api_client.get(f"{BASE}/customers/C00", {"k": 10}))
    now = timezone.now()
    for n, sku in enumerate(["P14", "P15", "P16", "P17"]):  # C00 suddenly browses garden tools
        Event.objects.create(store=store, customer=rec["customers"]["C00"], session_id="new", type=EventType.VIEW,
                             product=rec["products"][sku], occurred_at=now + timedelta(seconds=n))
    after = skus(api_client.get(f"{BASE}/customers/C00", {"k": 10}))
    assert RecommenderModel.objects.for_store(store).count() == 1  # no retrain happened
    garden = lambda xs: sum(int(s[1:]) >= 12 for s in xs)  # noqa: E731
    assert after != before and garden(after[:5]) > garden(before[:5]), (before, after)  # garden moved up


def test_activation_reloads_the_served_model(api_client, ease, store, django_capture_on_commit_callbacks):
    assert api_client.get(f"{BASE}/customers/C00").json()["model"] == ease.label
    itemknn = model_train(store=store, algorithm="itemknn", activate=False)
    assert api_client.get(f"{BASE}/customers/C00").json()["model"] == ease.label
    with django_capture_on_commit_callbacks(execute=True):
        model_activate(model=itemknn)
    assert api_client.get(f"{BASE}/customers/C00").json()["model"] == itemknn.label


def test_corrupted_artifact_serves_the_previous_version_then_trending(api_client, ease, store,
                                                                      django_capture_on_commit_callbacks):
    newer = model_train(store=store, algorithm="itemknn", activate=False)
    with django_capture_on_commit_callbacks(execute=True):
        model_activate(model=newer)
    with open(newer.artifact_path, "r+b") as fh:
        fh.seek(100)
        fh.write(b"garbage")
    reset_serving(store)
    body = api_client.get(f"{BASE}/customers/C00").json()
    assert body["fallback"] is False and body["model"] == ease.label  # the previously active version
    newer.refresh_from_db()
    assert "checksum" in newer.load_error
    assert list(selectors.serving_problems(store)) == [newer]
    # The old one disappears too: only trending is left.
    from pathlib import Path

    Path(ease.artifact_path).unlink()
    reset_serving(store)
    body = api_client.get(f"{BASE}/customers/C00").json()
    assert body["fallback"] is True and body["model"] == "trending"


def test_ab_split_by_customer_hash(api_client, ease, store, django_capture_on_commit_callbacks):
    challenger = model_train(store=store, algorithm="itemknn", activate=False)
    with django_capture_on_commit_callbacks(execute=True):
        config_update(store=store, challenger=challenger, challenger_share=0.5)
    served = {c: api_client.get(f"{BASE}/customers/C{c:02d}").json()["model"] for c in range(40)}
    by_model = {label: sum(1 for v in served.values() if v == label) for label in set(served.values())}
    assert set(by_model) == {ease.label, challenger.label}
    assert 8 <= by_model[challenger.label] <= 32
    # Stable: the same customer always gets the same arm.
    assert all(api_client.get(f"{BASE}/customers/C{c:02d}").json()["model"] == served[c] for c in (0, 1, 2))


def test_clicks_and_purchases_are_attributed_per_version(api_client, ease, store, rec):
    body = api_client.get(f"{BASE}/customers/C00", {"k": 5}).json()
    first = rec["products"][body["results"][0]["sku"]]
    Event.objects.create(store=store, customer=rec["customers"]["C00"], session_id="s", type=EventType.VIEW,
                         product=first, occurred_at=timezone.now() + timedelta(minutes=5))
    api_client.get(f"{BASE}/customers/C02", {"k": 5})  # served, never clicked
    assert impressions_attribute(store=store) == 2
    stats = {s["label"]: s for s in selectors.impression_stats(store)}
    assert stats[ease.label]["impressions"] == 2 and stats[ease.label]["clicks"] == 1
    assert stats[ease.label]["ctr"] == pytest.approx(0.5)


def test_model_versions_and_activate_api(api_client, analyst_api_client, ease, store):
    other = model_train(store=store, algorithm="popularity", activate=False)
    r = api_client.get(f"{BASE}/models")
    assert r.status_code == 200 and [m["version"] for m in r.json()] == [other.version, ease.version]
    assert analyst_api_client.post(f"{BASE}/models/{other.pk}/activate").status_code == 403
    r = api_client.post(f"{BASE}/models/{other.pk}/activate", {}, format="json")
    assert r.status_code == 200 and r.json()["is_active"] is True
    assert api_client.post(f"{BASE}/models/999999/activate").status_code == 404


def test_serving_holds_one_loaded_model_per_process(ease, store):
    first = serving.store_models(store.pk)
    assert serving.store_models(store.pk) is first  # no reload while the stamp is unchanged
