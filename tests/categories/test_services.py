"""Re-scoring with the real MiniLM (slow) and the merchant's decisions (real PostgreSQL)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from categories.models import (
    AttributeSuggestion,
    CategoryModel,
    CategorySuggestion,
    SuggestionReason,
    SuggestionSource,
    SuggestionStatus,
)
from categories.services import attribute_rescore, category_rescore, suggestions_decide
from ecomops.models import Product
from tests.categories.conftest import attribute_suggestion, category_suggestion, make_catalogue
from tests.factories import ProductFactory


@pytest.mark.slow
def test_rescore_suggests_for_uncategorised_and_doubtful_products_only_from_the_stores_own_categories(
        store, other_store, catalogue):
    make_catalogue(other_store, prefix="R")
    # the rival store has a category the acme store does not: it must never be suggested to acme
    for i in range(12):
        ProductFactory(store=other_store, sku=f"RX-{i}", title=f"Electric kettle deluxe {i}",
                       category="Rival Secret > Kettles", description="Boils water.")
    blank = ProductFactory(store=store, sku="NEW-1", title="Electric kettle with keep-warm, white",
                           category="", description="Boils 1.7 L of water for tea.", attributes={})
    wrong = catalogue[0]  # a running shoe filed as a kettle
    Product.objects.filter(pk=wrong.pk).update(category="Kitchen > Kettles")
    result = category_rescore(store=store, target_precision=0.8)
    assert result["source"] == SuggestionSource.STORE
    suggestions = {s.product_id: s for s in CategorySuggestion.objects.for_store(store)}
    assert suggestions[blank.pk].path == "Kitchen > Kettles"
    assert suggestions[blank.pk].reason == SuggestionReason.MISSING
    assert suggestions[wrong.pk].path == "Footwear > Running Shoes"
    assert suggestions[wrong.pk].reason == SuggestionReason.DOUBTFUL
    assert all(s.path in {"Footwear > Running Shoes", "Kitchen > Kettles", "Audio > Headphones"}
               for s in suggestions.values())
    assert all(s.confidence >= result["threshold"] for s in suggestions.values())
    assert not CategorySuggestion.objects.for_store(other_store).exists()
    # nothing applied silently
    assert Product.objects.get(pk=blank.pk).category == ""
    assert Product.objects.get(pk=wrong.pk).category == "Kitchen > Kettles"
    model = CategoryModel.objects.for_store(store).get()
    assert "Rival Secret > Kettles" not in model.classes and model.head


@pytest.mark.slow
def test_abstains_below_the_threshold_and_falls_back_to_the_taxonomy_for_a_new_store(store):
    ProductFactory(store=store, sku="K1", title="Cordless electric kettle 1.7 L stainless steel", category="",
                   description="Boils water for tea in two minutes.", attributes={})
    ProductFactory(store=store, sku="Z1", title="Zorblax 3000", category="", description="", attributes={})
    result = category_rescore(store=store)
    assert result["source"] == SuggestionSource.TAXONOMY
    rows = {s.product.sku: s for s in CategorySuggestion.objects.for_store(store).select_related("product")}
    assert rows["K1"].path.endswith("Kettles") and rows["K1"].source == SuggestionSource.TAXONOMY
    assert "Z1" not in rows  # a meaningless name: abstained
    assert result["abstained"] >= 1


@pytest.mark.slow
def test_a_rejected_suggestion_is_not_suggested_again(store):
    p = ProductFactory(store=store, sku="K1", title="Cordless electric kettle 1.7 L", category="",
                       description="Boils water for tea.", attributes={})
    category_rescore(store=store)
    s = CategorySuggestion.objects.for_store(store).get(product=p)
    suggestions_decide(store=store, user=None, action="reject", category_ids=[s.pk])
    category_rescore(store=store)
    assert not CategorySuggestion.objects.for_store(store).filter(status=SuggestionStatus.PENDING,
                                                                  path=s.path).exists()


def test_attribute_rescore_skips_known_values_and_flags_conflicts(store, other_store):
    same = ProductFactory(store=store, sku="A1", title="Black leather wallet", category="Accessories",
                          attributes={"Colour": "Black"}, description="")
    conflict = ProductFactory(store=store, sku="A2", title="Red cotton T-shirt XL", category="Tops",
                              attributes={"color": "Blue"}, description="")
    ProductFactory(store=other_store, sku="A3", title="Green silk scarf", attributes={}, description="")
    attribute_rescore(store=store)
    rows = {(s.product.sku, s.name): s for s in AttributeSuggestion.objects.for_store(store).select_related("product")}
    assert ("A1", "colour") not in rows and rows[("A1", "material")].value == "leather"
    assert rows[("A2", "colour")].value == "red" and rows[("A2", "colour")].existing_key == "color"
    assert rows[("A2", "size")].value == "XL"
    assert not AttributeSuggestion.objects.for_store(other_store).exists()
    assert same.pk and conflict.pk


def test_accept_in_bulk_writes_categories_and_attributes_but_not_over_a_merchants_value(store, owner):
    a = ProductFactory(store=store, sku="A", category="", attributes={})
    b = ProductFactory(store=store, sku="B", category="Old", attributes={"color": "Blue"})
    sa = category_suggestion(a, path="Kitchen > Kettles")
    sb = category_suggestion(b, path="Audio > Headphones", reason=SuggestionReason.DOUBTFUL)
    new_attr = attribute_suggestion(a, name="material", value="steel")
    clash = attribute_suggestion(b, name="colour", value="red", existing_key="color", existing_value="Blue")
    result = suggestions_decide(store=store, user=owner, action="accept", category_ids=[sa.pk, sb.pk],
                                attribute_ids=[new_attr.pk, clash.pk])
    assert result.accepted == 3 and result.conflicts == [clash.pk]
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.category == "Kitchen > Kettles" and a.attributes == {"material": "steel"}
    assert b.category == "Audio > Headphones" and b.attributes == {"color": "Blue"}
    sa.refresh_from_db()
    assert sa.status == SuggestionStatus.ACCEPTED and sa.decided_by == owner and sa.decided_at
    clash.refresh_from_db()
    assert clash.status == SuggestionStatus.PENDING
    suggestions_decide(store=store, user=owner, action="accept", attribute_ids=[clash.pk], overwrite=True)
    b.refresh_from_db()
    assert b.attributes == {"color": "red"}


def test_decide_is_all_or_nothing_and_another_stores_id_is_unknown(store, other_store, owner):
    mine = category_suggestion(ProductFactory(store=store, category=""))
    theirs = category_suggestion(ProductFactory(store=other_store, category=""))
    with pytest.raises(ValidationError) as exc:
        suggestions_decide(store=store, user=owner, action="accept", category_ids=[mine.pk, theirs.pk])
    assert "category_ids" in exc.value.message_dict
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == theirs.status == SuggestionStatus.PENDING
    assert Product.objects.get(pk=theirs.product_id).category == ""


def test_accepted_attributes_reach_the_copywriters_facts(store, owner):
    from copywriter.services.generation import product_facts

    p = ProductFactory(store=store, title="Travel mug", attributes={})
    s = attribute_suggestion(p, name="capacity", value="450 ml")
    suggestions_decide(store=store, user=owner, action="accept", attribute_ids=[s.pk])
    p.refresh_from_db()
    assert product_facts(p).attributes.get("capacity") == "450 ml"


def test_one_pending_category_suggestion_per_product(store):
    from django.db import IntegrityError, transaction

    p = ProductFactory(store=store, category="")
    category_suggestion(p)
    with pytest.raises(IntegrityError), transaction.atomic():
        category_suggestion(p, path="Other")
