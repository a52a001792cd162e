"""Hybrid ranking against the real PostgreSQL (full text, pg_trgm) and the real MiniLM."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecomops.models import Product
from search.selectors import SearchFilters, lexical_only_ids, search_products, substring_ids
from search.services import synonym_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def skus(store, ids):
    by_id = dict(Product.objects.for_store(store).filter(pk__in=ids).values_list("pk", "sku"))
    return [by_id[i] for i in ids if i in by_id]


def test_earbuds_black_finds_the_black_earbuds_first(indexed):
    found = skus(indexed, search_products(indexed, "earbuds black").product_ids)
    assert found[0] in {"EAR-B", "DRAFT-1"}
    assert set(found[:2]) == {"EAR-B", "DRAFT-1"}  # the dashboard sees drafts too
    # the old substring search finds nothing for it
    assert substring_ids(indexed, "earbuds black") == []


def test_auralis_earbuds_and_kettle_is_not_kettlebell(indexed):
    auralis = skus(indexed, search_products(indexed, "auralis earbuds").product_ids)
    assert set(auralis[:3]) == {"EAR-B", "EAR-W", "DRAFT-1"}
    kettle = skus(indexed, search_products(indexed, "kettle").product_ids)
    assert set(kettle[:2]) == {"KET-1", "KET-2"}


def test_typos_still_find_the_product(indexed):
    assert skus(indexed, search_products(indexed, "wireles headphnes").product_ids)[0] == "HP-B"
    assert skus(indexed, search_products(indexed, "earbudz").product_ids)[0].startswith(("EAR", "DRAFT"))
    assert skus(indexed, search_products(indexed, "hoddie").product_ids)[0] == "HO-O"
    # full text alone does not
    assert lexical_only_ids(indexed, "wireles headphnes") == []


def test_filters_apply_inside_the_search(indexed):
    public = SearchFilters(statuses=("active",))
    found = skus(indexed, search_products(indexed, "earbuds", filters=public).product_ids)
    assert "DRAFT-1" not in found and "EAR-B" in found
    in_stock = skus(indexed, search_products(indexed, "earbuds", filters=SearchFilters(in_stock=True)).product_ids)
    assert "EAR-P" not in in_stock
    cheap = skus(indexed, search_products(indexed, "earbuds", filters=SearchFilters(price_max=Decimal("50"))).product_ids)
    assert cheap[0] == "EAR-P" and all(
        Product.objects.get(store=indexed, sku=s).price <= 50 for s in cheap)
    white = skus(indexed, search_products(indexed, "earbuds", filters=SearchFilters(attributes={"colour": "WHITE"})).product_ids)
    assert white == ["EAR-W"]
    kitchen = skus(indexed, search_products(indexed, "black", filters=SearchFilters(category="Home")).product_ids)
    assert kitchen and all(s.startswith(("KET", "MUG")) for s in kitchen)


def test_a_filter_never_empties_the_page_that_the_top_n_would_fill(indexed):
    """With limit=1 the unfiltered answer is a black earbud; the filtered answer must still come back."""
    result = search_products(indexed, "earbuds black", filters=SearchFilters(attributes={"colour": "sand"}), limit=1)
    assert skus(indexed, result.product_ids) == ["EAR-P"]


def test_merchant_synonyms(indexed, other_store):
    assert "TS-B" not in skus(indexed, lexical_only_ids(indexed, "tee"))
    synonym_create(store=indexed, terms="tee, t-shirt")
    found = skus(indexed, search_products(indexed, "black tee").product_ids)
    assert found[0] == "TS-B"
    # another store's rule does not apply here and vice versa
    synonym_create(store=other_store, terms="mug => kettlebell")
    assert skus(indexed, search_products(indexed, "mug").product_ids)[0] == "MUG-1"


def test_one_store_never_sees_another_stores_products(indexed, other_store):
    mine = set(Product.objects.for_store(indexed).values_list("pk", flat=True))
    theirs = set(Product.objects.for_store(other_store).values_list("pk", flat=True))
    for query in ("earbuds black", "rival", "kettle", "wireles headphnes"):
        ids = set(search_products(indexed, query).product_ids)
        assert ids <= mine and not ids & theirs
    assert set(search_products(other_store, "earbuds").product_ids) <= theirs


def test_did_you_mean_when_results_are_few(indexed):
    result = search_products(indexed, "yogga", filters=SearchFilters(category="Home"))
    assert result.did_you_mean == "yoga"


def test_filtered_vector_search_falls_back_to_every_passing_product(indexed, monkeypatch):
    """When the nearest-products probe holds too few passing products, all passing ids are searched."""
    from search import selectors

    monkeypatch.setattr(selectors, "VECTOR_PROBE", 2)
    filters = SearchFilters(category="Sports")
    probe_only = selectors.vector_ids(indexed, "earbuds", filters, limit=3, min_score=-1.0)
    assert set(skus(indexed, probe_only)) == {"KB-8", "KB-16", "YM-1"}


def test_a_rare_word_outweighs_a_common_one(store):
    """IDF: when black is everywhere, a product with the rarer word (earbuds) ranks above one with only "black",
    in the lexical list and in the hybrid result. ts_rank alone ranked the black phone stands first."""
    from search.selectors import vector_cache_clear
    from search.services import search_reindex
    from tests.search.conftest import catalog_create

    rows = [("EAR-B", "Auralis Compact Earbuds, black", "Auralis", "Electronics > Audio", "79.00", 5,
             {"colour": "black"}, "active"),
            ("EAR-W", "Auralis Compact Earbuds, white", "Auralis", "Electronics > Audio", "79.00", 5,
             {"colour": "white"}, "active")]
    for i, noun in enumerate(["Phone stand", "Charger", "Desk lamp", "Backpack", "Water bottle", "Umbrella",
                              "Notebook", "Keyboard"]):
        rows.append((f"BLK-{i}", f"Northline {noun}, black", "Northline", "Accessories", "19.00", 5,
                     {"colour": "black"}, "active"))
    catalog_create(store, rows)
    search_reindex(store=store)
    try:
        lexical = skus(store, lexical_only_ids(store, "earbuds black"))
        assert lexical[:2] == ["EAR-B", "EAR-W"], lexical
        hybrid = skus(store, search_products(store, "earbuds black").product_ids)
        assert hybrid[:2] == ["EAR-B", "EAR-W"], hybrid
    finally:
        vector_cache_clear()


def test_a_description_that_mentions_the_words_ranks_behind_the_products_named_so(store):
    from search.selectors import SearchFilters, Tier, lexical_matches, vector_cache_clear
    from search.services import search_reindex
    from tests.factories import ProductFactory

    named = ProductFactory(store=store, sku="BAG", title="Fjordwalk Travel backpack, olive", brand="Fjordwalk",
                           category="Outdoor", attributes={}, description="")
    described = ProductFactory(store=store, sku="PIL", title="Fjordwalk Neck pillow", brand="Fjordwalk",
                               category="Outdoor", attributes={},
                               description="A travel backpack companion: clips to any travel backpack strap.")
    ProductFactory(store=store, sku="MUG", title="Brightware Travel mug", brand="Brightware", category="Kitchen",
                   attributes={}, description="")
    search_reindex(store=store)
    try:
        tiers = dict(lexical_matches(store, "travel backpack", SearchFilters()))
        assert tiers == {named.pk: Tier.NAMED, described.pk: Tier.DESCRIBED,
                         **{pid: Tier.PARTIAL for pid in tiers if pid not in (named.pk, described.pk)}}
        assert len(tiers) == 3  # the travel mug has one of the words
        assert search_products(store, "travel backpack").product_ids[:2] == [named.pk, described.pk]
    finally:
        vector_cache_clear()
