"""Password guessing is limited on both doors (/login/ and POST /api/v1/auth/token/), per username and per client,
and the client is the address the configured number of trusted proxies saw, never a client-chosen header."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "pass-word-123"  # tests/factories.py


@pytest.fixture(autouse=True)
def clean_limits(db, settings):
    """Throttle counters live in the shared cache (this engineer's Redis db): start every test from zero."""
    settings.AXES_FAILURE_LIMIT = 5
    cache.clear()
    yield
    cache.clear()


def proxies(settings, n: int) -> None:
    """What NUM_PROXIES=n in the environment sets (base.py): our own setting and DRF's copy of it."""
    settings.NUM_PROXIES = n
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": n}


def token_attempt(username: str, password: str, **extra):
    return APIClient().post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


def test_correct_password_below_the_limit_gets_a_token():
    user = UserFactory(username="alice")
    for _ in range(3):
        assert token_attempt("alice", "wrong").status_code == 400
    response = token_attempt("alice", PASSWORD)
    assert response.status_code == 200 and len(response.json()["token"]) == 40
    assert user.auth_token.key == response.json()["token"]


def test_a_new_forwarded_for_per_request_gets_no_fresh_budget_without_trusted_proxies(settings):
    proxies(settings, 0)
    UserFactory(username="alice")
    UserFactory(username="bob")
    codes = [token_attempt(f"guess-{i}", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
             for i in range(5)]
    assert codes == [400, 400, 400, 400, 429]  # five different usernames, one peer address: the client is locked
    locked = token_attempt("bob", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")  # the right password, too
    assert locked.status_code == 429
    body = locked.json()
    assert body["code"] == "login_locked_out" and "Too many failed log-in attempts" in body["detail"]
    assert "token" not in body
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_a_username_is_locked_whatever_address_the_guesses_come_from(settings):
    proxies(settings, 0)
    UserFactory(username="alice")
    codes = [token_attempt("alice", f"wrong-{i}", REMOTE_ADDR=f"192.0.2.{i}").status_code for i in range(5)]
    assert codes == [400, 400, 400, 400, 429]
    assert token_attempt("alice", PASSWORD, REMOTE_ADDR="192.0.2.200").status_code == 429
    UserFactory(username="carol")  # other accounts from a fresh address are not affected
    assert token_attempt("carol", PASSWORD, REMOTE_ADDR="192.0.2.201").status_code == 200


def test_behind_one_proxy_the_right_most_forwarded_address_is_the_client(settings):
    proxies(settings, 1)
    UserFactory(username="dave")
    # The attacker varies the part of the header it controls; the proxy's own entry (right-most) stays.
    codes = [token_attempt(f"guess-{i}", "wrong", REMOTE_ADDR="10.0.0.2",
                           HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 203.0.113.7").status_code for i in range(5)]
    assert codes == [400, 400, 400, 400, 429]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    assert token_attempt("dave", PASSWORD, REMOTE_ADDR="10.0.0.2",
                         HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7").status_code == 429
    # Another real client behind the same proxy keeps its own budget.
    assert token_attempt("dave", PASSWORD, REMOTE_ADDR="10.0.0.2",
                         HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200


def test_the_dashboard_form_locks_out_with_a_message(client, settings):
    proxies(settings, 0)
    UserFactory(username="erin")
    statuses = []
    for i in range(5):
        response = client.post("/login/", {"username": "erin", "password": f"wrong-{i}"},
                               HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 200, 429]
    assert "Too many failed log-in attempts" in response.content.decode()
    response = client.post("/login/", {"username": "erin", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "Too many failed log-in attempts" in response.content.decode()


def test_the_form_and_the_api_share_one_budget(client, settings):
    proxies(settings, 0)
    UserFactory(username="frank")
    for i in range(3):
        assert client.post("/login/", {"username": "frank", "password": f"wrong-{i}"}).status_code == 200
    assert token_attempt("frank", "wrong-3").status_code == 400
    assert token_attempt("frank", "wrong-4").status_code == 429
    assert client.post("/login/", {"username": "frank", "password": PASSWORD}).status_code == 429


def test_a_form_login_below_the_limit_signs_in(client):
    UserFactory(username="gina")
    assert client.post("/login/", {"username": "gina", "password": "wrong"}).status_code == 200
    response = client.post("/login/", {"username": "gina", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"]
