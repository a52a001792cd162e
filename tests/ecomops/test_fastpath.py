"""The ASGI fast path (ecomops/fastpath.py) against its reference, the DRF views: the same status, body and
headers (the impression id aside, which is new per list), and every rule — authentication, tenant isolation,
throttling, impression logging, invalidation on writes, activation and fold-in — holding on the fast answers.

Requests go through the real ASGI application (ecomops.asgi.application) in-process. Django's ASGI handler runs
each request's view in a thread of its own, on its own database connection, so these tests commit what they
write (`transaction=True`).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from ecomops import fastpath, hotcache
from ecomops.api.throttling import counter_clear
from ecomops.asgi import application
from ecomops.models import Membership, Product, Role
from ecomops.services.catalog import product_update
from recommender.models import RecommendationImpression
from recommender.services import impressions
from recommender.services.training import model_train
from tests.factories import MembershipFactory, ProductFactory, UserFactory
from tests.recommender.rec_data import build_rec_store, model_dir, reset_serving  # noqa: F401

STORE = "/api/v1/stores/acme"
TRENDING = f"{STORE}/recommendations/trending?k=5"
PERSONAL = f"{STORE}/recommendations/customers/C00?k=5"
PRODUCTS = f"{STORE}/products/"
VOLATILE = {b"server-timing"}


def asgi_get(path: str, token: str | None, **headers: str) -> dict:
    sent = [(b"host", b"testserver"), (b"accept", b"application/json")]
    if token:
        sent.append((b"authorization", f"Token {token}".encode()))
    sent += [(name.encode(), value.encode()) for name, value in headers.items()]
    response = async_to_sync(HttpCommunicator(application, "GET", path, headers=sent).get_response)(timeout=30)
    response["headers"] = [(n.lower(), v) for n, v in response["headers"]]
    response["fast"] = any(n == b"server-timing" and b"desc=fast" in v for n, v in response["headers"])
    return response


def comparable(response: dict) -> tuple[int, dict | list, list]:
    body = json.loads(response["body"])
    if isinstance(body, dict) and "impression_id" in body:
        body = {**body, "impression_id": "<new per list>"}
    return response["status"], body, sorted(h for h in response["headers"] if h[0] not in VOLATILE)


@pytest.fixture(autouse=True)
def fresh_process():
    fastpath.clear_local()
    fastpath.clear_shared()
    hotcache.clear_local()
    impressions.discard()
    yield
    fastpath.clear_local()
    hotcache.clear_local()
    impressions.discard()


@pytest.fixture
def token(owner) -> str:
    return Token.objects.create(user=owner).key


@pytest.fixture
def rec(store, model_dir):  # noqa: F811
    data = build_rec_store(store)
    reset_serving(store)
    model_train(store=store, algorithm="itemknn", activate=True)
    yield data
    reset_serving(store)


def reference(path: str, token: str) -> dict:
    """The DRF view itself (the Django test client: no ASGI layer, so no fast path)."""
    client = APIClient(HTTP_ACCEPT="application/json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(path)
    return {"status": response.status_code, "body": response.content,
            "headers": [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", [TRENDING, PERSONAL, f"{STORE}/recommendations/customers/NOBODY?k=3", PRODUCTS,
                                  f"{PRODUCTS}?search=e&ordering=-price"])
def test_fast_answers_equal_the_views_and_log_one_impression_each(rec, token, path):
    filled = asgi_get(path, token)
    assert filled["status"] == 200, filled["body"]
    assert not filled["fast"]  # the first one runs the view and is kept
    fast = [asgi_get(path, token) for _ in range(3)]
    assert all(r["fast"] for r in fast)
    assert {comparable(r) == comparable(filled) for r in fast} == {True}
    # The kept answer is the view's own: the DRF view served without the ASGI layer answers the same.
    drf = reference(path, token)
    assert comparable(drf)[:2] == comparable(filled)[:2]
    assert {h for h in comparable(drf)[2] if h[0] != b"vary"} <= set(comparable(filled)[2])

    body = json.loads(filled["body"])
    if "impression_id" not in body:
        return
    ids = [json.loads(r["body"])["impression_id"] for r in (filled, *fast)]
    assert len(set(ids)) == 4  # a new id per list served
    impressions.flush()  # the fast answers' rows wait in this process's buffer (or the flusher thread has them)
    deadline = time.monotonic() + 10
    while RecommendationImpression.objects.filter(pk__in=ids).count() < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    rows = list(RecommendationImpression.objects.filter(pk__in=ids))
    assert len(rows) == 4
    assert len({(r.surface, r.model_id, r.customer_id, tuple(r.product_ids), r.fallback) for r in rows}) == 1
    assert len(rows[0].product_ids) == body["count"]


@pytest.mark.django_db(transaction=True)
def test_another_stores_slug_is_a_404_like_the_view(rec, token, other_store):
    ProductFactory(store=other_store, sku="R-1", title="Theirs")
    for path in (TRENDING, PRODUCTS):
        asgi_get(path, token)
        asgi_get(path, token)  # the token and the acme membership are now known to the fast path
        foreign = path.replace("/acme/", "/rival/")
        answers = [asgi_get(foreign, token) for _ in range(2)]
        assert [a["status"] for a in answers] == [404, 404]
        assert not any(a["fast"] for a in answers)
        assert comparable(answers[0])[:2] == comparable(reference(foreign, token))[:2]
        assert b"Theirs" not in answers[1]["body"]


@pytest.mark.django_db(transaction=True)
def test_a_revoked_token_or_a_removed_member_is_refused_on_the_next_request(rec, token, owner, store):
    for path in (TRENDING, PERSONAL, PRODUCTS):
        asgi_get(path, token)
        assert asgi_get(path, token)["fast"]
    Token.objects.filter(key=token).delete()
    for path in (TRENDING, PERSONAL, PRODUCTS):
        refused = asgi_get(path, token)
        assert refused["status"] == 401 and not refused["fast"]
        assert comparable(refused)[:2] == comparable(reference(path, token))[:2]

    second = Token.objects.create(user=owner).key
    asgi_get(PRODUCTS, second)
    assert asgi_get(PRODUCTS, second)["fast"]
    Membership.objects.filter(user=owner).delete()
    gone = asgi_get(PRODUCTS, second)
    assert gone["status"] == 404 and not gone["fast"]

    # An inactive user (a save, so the signal bumps the auth version): 401 from the view.
    other = MembershipFactory(store=store, role=Role.ANALYST, user=UserFactory(username="leaver")).user
    key = Token.objects.create(user=other).key
    asgi_get(PRODUCTS, key)
    assert asgi_get(PRODUCTS, key)["fast"]
    other.is_active = False
    other.save()
    assert asgi_get(PRODUCTS, key)["status"] == 401


@pytest.mark.django_db(transaction=True)
def test_fast_answers_count_against_the_same_throttle_budget(rec, token, owner, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "4/min"})
    ident = f"throttle_user_{owner.pk}"
    counter_clear(ident)
    try:
        answers = [asgi_get(PRODUCTS, token) for _ in range(5)]
        assert [a["status"] for a in answers] == [200, 200, 200, 200, 429]
        assert [a["fast"] for a in answers[:4]] == [False, True, True, True]
        throttled = answers[4]
        assert int(dict(throttled["headers"])[b"retry-after"]) > 0
        assert "throttled" in json.loads(throttled["body"])["detail"]
        assert asgi_get(TRENDING, token)["status"] == 429  # one budget for every endpoint, fast or not
    finally:
        counter_clear(ident)


@pytest.mark.django_db(transaction=True)
def test_writes_activation_and_fold_in_show_on_the_next_fast_request(rec, token, store,
                                                                      django_capture_on_commit_callbacks):
    asgi_get(PRODUCTS, token)
    assert asgi_get(PRODUCTS, token)["fast"]
    first = json.loads(asgi_get(PRODUCTS, token)["body"])["results"][0]
    product = Product.objects.for_store(store).get(sku=first["sku"])
    product_update(product=product, title="Renamed by a write")
    after = asgi_get(PRODUCTS, token)
    assert not after["fast"]
    assert "Renamed by a write" in [p["title"] for p in json.loads(after["body"])["results"]]

    # Activation: the model stamp is bumped after commit; the next personal list is the new model's.
    asgi_get(PERSONAL, token)
    assert asgi_get(PERSONAL, token)["fast"]
    ease = model_train(store=store, algorithm="ease", params={"l2": 10.0}, activate=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{STORE}/recommendations/models/{ease.pk}/activate").status_code == 200
    activated = asgi_get(PERSONAL, token)
    assert not activated["fast"] and json.loads(activated["body"])["model"] == ease.label

    # Fold-in: the customer buys the top item; it leaves their list on the next request.
    assert asgi_get(PERSONAL, token)["fast"]
    top = json.loads(activated["body"])["results"][0]["sku"]
    now = timezone.now().replace(microsecond=0)
    events = [{"type": "purchase", "occurred_at": (now - timedelta(seconds=1)).isoformat(), "customer": "C00",
               "session_id": "s0", "product": top}]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{STORE}/events/bulk", {"events": events}, format="json").status_code == 201
    bought = asgi_get(PERSONAL, token)
    assert not bought["fast"]
    assert top not in [i["sku"] for i in json.loads(bought["body"])["results"]]


@pytest.mark.django_db(transaction=True)
def test_sessions_and_other_paths_always_take_the_full_path(rec, token, owner):
    asgi_get(PRODUCTS, token)
    assert asgi_get(PRODUCTS, token)["fast"]
    assert not asgi_get(PRODUCTS, token, **{"x-forwarded-host": "elsewhere.example"})["fast"]  # another key
    assert not asgi_get(PRODUCTS + "?page=2", token)["fast"]
    anonymous = asgi_get(PRODUCTS, None)
    assert anonymous["status"] == 401 and not anonymous["fast"]
    wrong = asgi_get(PRODUCTS, "not-a-token")
    assert wrong["status"] == 401 and not wrong["fast"]


@pytest.mark.django_db(transaction=True)
def test_another_worker_process_replays_the_answer_from_redis(rec, token):
    for path in (PERSONAL, PRODUCTS):
        filled = asgi_get(path, token)
        fastpath._entries.clear()  # what a second worker process has: the identities (one request), no answers
        replayed = asgi_get(path, token)
        assert replayed["fast"] and comparable(replayed) == comparable(filled)
    fastpath.clear_shared()
    fastpath._entries.clear()
    assert not asgi_get(PRODUCTS, token)["fast"]


def test_uvicorn_does_not_rewrite_the_client_address():
    """The client address is NUM_PROXIES' business (ecomops.client_identity); uvicorn must not apply its own
    X-Forwarded-For rule (which trusts 127.0.0.1 by default) on top."""
    from ecomops.webserver import Worker, gunicorn_command

    assert Worker.CONFIG_KWARGS["proxy_headers"] is False
    args = gunicorn_command("127.0.0.1", 8000, workers=2)
    assert args[args.index("--forwarded-allow-ips") + 1] == ""
