"""Dashboard pages and the public widget script; the training job with progress on the Job row."""

from __future__ import annotations

import pytest

from support.models import KnowledgeEntry

from .conftest import FIXTURES

pytestmark = [pytest.mark.quick, pytest.mark.django_db]


def test_widget_script_is_public_and_configured(client, store):
    r = client.get(f"/support/widget/{store.slug}.js")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/javascript")
    body = r.content.decode()
    assert '"store": "acme"' in body and "/ws/support/" in body
    assert client.get("/support/widget/nope.js").status_code == 404
    page = client.get(f"/support/widget/{store.slug}/try/")
    assert page.status_code == 200 and f"/support/widget/{store.slug}.js" in page.content.decode()


@pytest.mark.parametrize("path", ["", "knowledge/", "classifier/", "analytics/", "try/", "policies/new/"])
def test_pages_render_for_members(member_client, store, path):
    assert member_client.get(f"/stores/{store.slug}/support/{path}").status_code == 200


def test_pages_are_404_for_other_stores(member_client, other_store):
    assert member_client.get(f"/stores/{other_store.slug}/support/").status_code == 404


def test_knowledge_page_edits(member_client, store):
    base = f"/stores/{store.slug}/support/knowledge/"
    member_client.post(base, {"title": "Do you ship to Iceland?", "text": "Yes, in 6 days."})
    entry = KnowledgeEntry.objects.for_store(store).get()
    member_client.post(base + f"{entry.pk}/", {"title": entry.title, "text": "Yes, in 5 days.", "is_active": "on"})
    assert KnowledgeEntry.objects.get(pk=entry.pk).text == "Yes, in 5 days."
    with (FIXTURES / "faq_small.json").open("rb") as fh:
        member_client.post(base + "import/", {"file": fh})
    assert KnowledgeEntry.objects.for_store(store).count() == 9
    member_client.post(base + f"{entry.pk}/delete/")
    assert not KnowledgeEntry.objects.filter(pk=entry.pk).exists()
