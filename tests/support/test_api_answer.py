"""API contract of the answering endpoint and classifier versions, on the real embedder and a trained head."""

from __future__ import annotations

import pytest

from support.services.conversations import conversation_start

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
BASE = "/api/v1/stores/acme/support/"


def test_answer_contract(api_client, faq, classifier):
    r = api_client.post(BASE + "answer", {"question": "How long does shipping take?", "generate": False}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"answer", "intent", "confidence", "sources", "handoff", "conversation_id"}
    assert "3 to 5 business days" in body["answer"] and body["handoff"] is False
    assert 0 <= body["confidence"] <= 1
    assert body["sources"][0]["cited"] and set(body["sources"][0]) >= {"n", "id", "kind", "title", "score", "cited"}
    # Continuing the same conversation.
    r2 = api_client.post(BASE + "answer", {"question": "and to other countries?", "generate": False,
                                           "conversation_id": body["conversation_id"]}, format="json")
    assert r2.json()["conversation_id"] == body["conversation_id"]


def test_answer_with_an_authenticated_customer_id(api_client, classifier, orders):
    r = api_client.post(BASE + "answer", {"question": "where is my order", "order_number": "100001",
                                          "customer_id": "ALICE", "generate": False}, format="json")
    assert "shipped" in r.json()["answer"]
    r = api_client.post(BASE + "answer", {"question": "where is my order", "order_number": "100002",
                                          "customer_id": "ALICE", "generate": False}, format="json")
    assert "shipped" not in r.json()["answer"] and "paid" not in r.json()["answer"]


@pytest.mark.parametrize("payload, field", [
    ({}, "question"),
    ({"question": "hi", "customer_email": "not-an-email"}, "customer_email"),
    ({"question": "hi", "conversation_id": "nope"}, "conversation_id"),
    ({"question": "hi", "customer_id": "NOBODY"}, "customer_id"),
    ({"question": "x" * 10_001}, "question"),
])
def test_answer_bad_input_is_a_400_with_field_errors(api_client, classifier, payload, field):
    r = api_client.post(BASE + "answer", payload, format="json")
    assert r.status_code == 400 and field in r.json()


def test_foreign_store_and_foreign_conversation_are_404(api_client, other_store, classifier):
    assert api_client.post("/api/v1/stores/rival/support/answer", {"question": "hi"}, format="json").status_code == 404
    foreign = conversation_start(store=other_store)
    r = api_client.post(BASE + "answer", {"question": "hi", "conversation_id": str(foreign.public_id)}, format="json")
    assert r.status_code == 404
    assert api_client.get(BASE + f"conversations/{foreign.public_id}/").status_code == 404


def test_classifier_versions(api_client, classifier):
    r = api_client.get(BASE + "classifier/versions/")
    assert r.status_code == 200
    row = r.json()["results"][0]
    assert row["version"] == 1 and row["is_active"] and "accuracy" in row["metrics"]
    assert api_client.post(BASE + "classifier/versions/1/activate/").json()["is_active"] is True
