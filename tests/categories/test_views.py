"""The review queue page and the product page's panel: bulk accept / reject, filters, isolation."""

from __future__ import annotations

from categories.models import SuggestionStatus
from tests.categories.conftest import attribute_suggestion, category_suggestion
from tests.factories import ProductFactory


def test_queue_lists_filters_and_accepts_in_bulk(member_client, store, other_store):
    a = ProductFactory(store=store, sku="A", title="Kettle A", category="")
    b = ProductFactory(store=store, sku="B", title="Kettle B", category="")
    sa = category_suggestion(a, path="Kitchen > Kettles", confidence=0.96)
    sb = category_suggestion(b, path="Kitchen > Kettles", confidence=0.55)
    category_suggestion(ProductFactory(store=other_store, title="Rival secret kettle", category=""))
    page = member_client.get("/stores/acme/categories/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Kettle A" in html and "Kettle B" in html and "Rival secret kettle" not in html
    filtered = member_client.get("/stores/acme/categories/", {"min_confidence": "0.9"}).content.decode()
    assert "Kettle A" in filtered and "Kettle B" not in filtered
    r = member_client.post("/stores/acme/categories/decide/", {"action": "accept", "category_ids": [sa.pk, sb.pk]})
    assert r.status_code == 302
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.category == b.category == "Kitchen > Kettles"
    follow = member_client.get(r["Location"]).content.decode()
    assert "2 accepted." in follow


def test_bad_filter_is_a_400_and_bad_ids_an_error_message(member_client, store):
    assert member_client.get("/stores/acme/categories/", {"min_confidence": "lots"}).status_code == 400
    r = member_client.post("/stores/acme/categories/decide/", {"action": "accept", "category_ids": ["x"]}, follow=True)
    assert "must be numbers" in r.content.decode()
    r = member_client.post("/stores/acme/categories/decide/", {"action": "accept", "category_ids": [424242]},
                           follow=True)
    assert "Not pending suggestions" in r.content.decode()


def test_product_page_shows_the_pending_suggestion_and_rejects_it(member_client, store):
    p = ProductFactory(store=store, sku="K-1", title="Electric kettle", category="")
    s = category_suggestion(p, path="Kitchen > Kettles")
    a = attribute_suggestion(p, name="capacity", value="1.7 L")
    html = member_client.get("/stores/acme/catalog/K-1/").content.decode()
    assert "Kitchen &gt; Kettles" in html and "1.7 L" in html
    member_client.post("/stores/acme/categories/decide/", {"action": "reject", "category_ids": [s.pk],
                                                           "attribute_ids": [a.pk], "next": "/stores/acme/catalog/K-1/"})
    s.refresh_from_db()
    assert s.status == SuggestionStatus.REJECTED
    p.refresh_from_db()
    assert p.category == "" and p.attributes == {"material": "cotton", "colour": "blue", "size": "M"}
    assert "Kitchen &gt; Kettles" not in member_client.get("/stores/acme/catalog/K-1/").content.decode()


def test_another_stores_queue_is_a_404(member_client, other_store):
    assert member_client.get("/stores/rival/categories/").status_code == 404
    assert member_client.post("/stores/rival/categories/rescore/").status_code == 404
