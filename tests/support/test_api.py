"""API contract: answer, conversations + messages, knowledge CRUD, classifier versions, OpenAPI, tenancy."""

from __future__ import annotations

import pytest

from support.models import Conversation, KnowledgeEntry

pytestmark = [pytest.mark.quick, pytest.mark.django_db]
BASE = "/api/v1/stores/acme/support/"


def test_analysts_read_but_cannot_write(analyst_api_client, store):
    assert analyst_api_client.get(BASE + "conversations/").status_code == 200
    assert analyst_api_client.post(BASE + "answer", {"question": "hi"}, format="json").status_code == 403
    assert analyst_api_client.post(BASE + "knowledge/", {"title": "q", "text": "a"}, format="json").status_code == 403


def test_conversation_and_message_crud(api_client, store, member):
    r = api_client.post(BASE + "conversations/", {"customer_email": "c@example.com"}, format="json")
    assert r.status_code == 201
    cid = r.json()["id"]
    r = api_client.post(BASE + f"conversations/{cid}/messages/", {"role": "note", "text": "internal: check stock"}, format="json")
    assert r.status_code == 201 and r.json()["role"] == "note"
    r = api_client.post(BASE + f"conversations/{cid}/messages/", {"role": "agent", "text": "Hello from a human"}, format="json")
    assert r.status_code == 201
    assert api_client.post(BASE + f"conversations/{cid}/messages/", {"role": "agent", "text": "  "}, format="json").status_code == 400
    msgs = api_client.get(BASE + f"conversations/{cid}/messages/").json()
    assert [m["role"] for m in msgs] == ["note", "agent"]
    conv = Conversation.objects.get(public_id=cid)
    assert conv.first_human_reply_at is not None and conv.status == "waiting"
    assert api_client.post(BASE + f"conversations/{cid}/resolve/").json()["status"] == "resolved"
    assert api_client.post(BASE + f"conversations/{cid}/csat/", {"csat": 6}, format="json").status_code == 400
    assert api_client.post(BASE + f"conversations/{cid}/csat/", {"csat": 5}, format="json").json()["csat"] == 5
    listing = api_client.get(BASE + "conversations/?status=resolved").json()
    assert [c["id"] for c in listing["results"]] == [cid]
    assert api_client.delete(BASE + f"conversations/{cid}/").status_code == 204
    assert not Conversation.objects.filter(public_id=cid).exists()


def test_conversations_change_only_through_actions(api_client, store):
    cid = api_client.post(BASE + "conversations/", {"customer_email": "c@example.com"}, format="json").json()["id"]
    for method in (api_client.patch, api_client.put):
        r = method(BASE + f"conversations/{cid}/", {"customer_email": "attacker@example.com", "status": "resolved"},
                   format="json")
        assert r.status_code == 405
    conversation = Conversation.objects.get(public_id=cid)
    assert conversation.customer_email == "c@example.com" and conversation.status == "bot"
    assert api_client.post(BASE + f"conversations/{cid}/handoff/", {}, format="json").status_code == 400
    r = api_client.post(BASE + f"conversations/{cid}/handoff/", {"reason": "VIP customer"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "waiting" and r.json()["handoff_reason"] == "VIP customer"


def test_knowledge_crud_bumps_the_index(api_client, store):
    r = api_client.post(BASE + "knowledge/", {"kind": "faq", "title": "Do you ship to Norway?", "text": "Yes, in 5 days."},
                        format="json")
    assert r.status_code == 201, r.content
    eid = r.json()["id"]
    assert r.json()["embedded"] is False
    assert api_client.post(BASE + "knowledge/", {"kind": "faq", "title": "", "text": "x"}, format="json").status_code == 400
    assert api_client.post(BASE + "knowledge/", {"kind": "policy", "title": "a", "text": "b"}, format="json").status_code == 400
    r = api_client.patch(BASE + f"knowledge/{eid}/", {"text": "Yes, in 4 days."}, format="json")
    assert r.status_code == 200 and KnowledgeEntry.objects.get(pk=eid).text == "Yes, in 4 days."
    assert api_client.delete(BASE + f"knowledge/{eid}/").status_code == 204
    assert not KnowledgeEntry.objects.filter(pk=eid).exists()


def test_openapi_schema_lists_the_support_api(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for p in ("/api/v1/stores/{store_slug}/support/answer", "/api/v1/stores/{store_slug}/support/conversations/",
              "/api/v1/stores/{store_slug}/support/knowledge/", "/api/v1/stores/{store_slug}/support/classifier/versions/"):
        assert p in paths, p
