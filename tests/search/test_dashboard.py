"""The catalog page's search (hybrid, highlighted, escaped) and the Search page (synonyms, zero-result queries)."""

from __future__ import annotations

import pytest

from search.models import SearchEvent, SearchSynonym
from search.services import search_event_record, search_reindex
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db]


@pytest.mark.slow
def test_catalog_search_ranks_highlights_and_escapes(member_client, indexed):
    ProductFactory(store=indexed, sku="XSS", title="<script>alert(1)</script> Earbuds case", brand="", category="")
    search_reindex(store=indexed)
    page = member_client.get("/stores/acme/catalog/", {"q": "earbuds black"}).content.decode()
    first = page.index("Compact <mark>Earbuds</mark>, <mark>black</mark>")
    assert first < page.index("Pulse Audio Pro <mark>Earbuds</mark>")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Earbuds</mark>" in page
    assert "Rival" not in page


@pytest.mark.slow
def test_catalog_search_keeps_the_status_filter_inside(member_client, indexed):
    page = member_client.get("/stores/acme/catalog/", {"q": "earbuds", "status": "draft"}).content.decode()
    assert "Prototype" in page and "Compact <mark>Earbuds</mark>" not in page


def test_before_the_first_index_the_page_falls_back_and_never_says_manage_py(member_client, store):
    ProductFactory(store=store, sku="A1", title="Plain mug")
    page = member_client.get("/stores/acme/catalog/", {"q": "mug"}).content.decode()
    assert "Plain mug" in page and 'id="search-index-missing"' in page
    empty = member_client.get("/stores/acme/catalog/", {"q": "zzz"}).content.decode()
    assert "manage.py" not in page + empty
    assert "manage.py" not in member_client.get("/stores/acme/search/").content.decode()


def test_search_page_lists_zero_result_queries_of_this_store_only(member_client, store, other_store):
    for _ in range(3):
        search_event_record(store=store, query="Unicorn Slippers", results=0)
    search_event_record(store=store, query="mug", results=4)
    search_event_record(store=other_store, query="rival secret", results=0)
    page = member_client.get("/stores/acme/search/").content.decode()
    zero = page[page.index('id="zero-result-queries"'):]
    assert "unicorn slippers" in zero and ">3<" in zero and "mug" not in zero.split("</table>")[0]
    assert "rival secret" not in page
    top = page[page.index('id="top-queries"'):page.index('id="zero-result-queries"')]
    assert top.index("unicorn slippers") < top.index("mug")
    assert SearchEvent.objects.count() == 5


@pytest.mark.slow
def test_the_teams_catalog_searches_are_recorded_apart_from_shoppers(member_client, indexed):
    member_client.get("/stores/acme/catalog/", {"q": "earbuds black"})
    member_client.get("/stores/acme/catalog/", {"q": "earbuds black", "page": "2"})  # paging is not a search
    member_client.get("/stores/acme/catalog/", {"q": "zzqx"})
    events = list(SearchEvent.objects.filter(store=indexed).order_by("id").values_list("query", "results", "source"))
    assert [(q, s) for q, _, s in events] == [("earbuds black", "dashboard"), ("zzqx", "dashboard")]
    assert events[0][1] > 0 and events[1][1] == 0
    shoppers = member_client.get("/stores/acme/search/").content.decode()
    assert "zzqx" not in shoppers  # the storefront view is shoppers' searches only
    team = member_client.get("/stores/acme/search/", {"source": "dashboard"}).content.decode()
    zero = team[team.index('id="zero-result-queries"'):]
    assert "zzqx" in zero and "What your team searches" in team
    assert member_client.get("/stores/acme/search/", {"source": "bogus"}).status_code == 200


def test_synonyms_are_edited_on_the_search_page(member_client, store, other_store):
    response = member_client.post("/stores/acme/search/actions/", {"action": "synonym-add", "terms": "Tee, T-shirt"})
    assert response.status_code == 302
    rule = SearchSynonym.objects.for_store(store).get()
    assert rule.terms == "tee, t-shirt"
    member_client.post("/stores/acme/search/actions/", {"action": "synonym-add", "terms": "tee"})
    assert SearchSynonym.objects.for_store(store).count() == 1
    foreign = SearchSynonym.objects.create(store=other_store, terms="a, b")
    member_client.post("/stores/acme/search/actions/", {"action": "synonym-delete", "synonym_id": foreign.pk})
    assert SearchSynonym.objects.filter(pk=foreign.pk).exists()
    member_client.post("/stores/acme/search/actions/", {"action": "synonym-delete", "synonym_id": rule.pk})
    assert not SearchSynonym.objects.for_store(store).exists()


def test_analysts_cannot_change_search(client, analyst, store):
    client.force_login(analyst)
    assert client.get("/stores/acme/search/").status_code == 200
    assert client.post("/stores/acme/search/actions/", {"action": "synonym-add", "terms": "a, b"}).status_code == 403


def test_another_stores_search_page_is_404(member_client, other_store):
    assert member_client.get("/stores/rival/search/").status_code == 404
