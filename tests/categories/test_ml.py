"""The Django-free core: paths, the split by name, the abstain threshold, the head on given vectors, extraction."""

from __future__ import annotations

import numpy as np
import pytest

from categories.ml.attributes import existing_value, extract_attributes
from categories.ml.classifier import (
    CategoryHead,
    group_split,
    name_key,
    split_path,
    taxonomy_text,
    threshold_for_precision,
)
from categories.ml.evaluation import evaluate_attributes, read_attribute_csv, title_type

pytestmark = pytest.mark.quick


def test_split_path_accepts_both_separators_and_cuts_levels():
    assert split_path("Apparel >> Shoes > Sneakers") == ["Apparel", "Shoes", "Sneakers"]
    assert split_path("Apparel>Shoes>Sneakers", 2) == ["Apparel", "Shoes"]
    assert split_path("  ") == []


def test_group_split_never_puts_one_name_on_both_sides():
    names = [name_key(t) for t in ["Red Shirt", "red shirt", "Blue Shirt", "Green Mug", "green  mug!"] * 20]
    train, test = group_split(names, 0.2, seed=1)
    assert len(test) > 0
    assert not {names[i] for i in train} & {names[i] for i in test}


def test_threshold_is_lowest_confidence_that_reaches_the_precision():
    conf = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([1, 1, 1, 1, 1, 0, 0])
    assert threshold_for_precision(conf, correct, 0.9, min_support=3) == pytest.approx(0.7)
    assert threshold_for_precision(conf, correct, 0.6, min_support=3) == pytest.approx(0.5)
    assert threshold_for_precision(np.array([0.9, 0.8]), np.array([0, 0]), 0.9, min_support=1) is None


def _vectors(labels, seed=0):
    """Clustered unit vectors, one centre per label: stands in for embeddings in this unit test of the head."""
    rng = np.random.default_rng(seed)
    centres = {lab: rng.normal(size=384) for lab in sorted(set(labels))}
    v = np.array([centres[lab] + rng.normal(scale=0.8, size=384) for lab in labels])
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_head_learns_abstains_and_round_trips():
    labels = ["A > x", "B > y", "C > z"] * 30
    texts = [f"item {i} {lab}" for i, lab in enumerate(labels)]
    vec = _vectors(labels)
    head = CategoryHead(features="embed").fit_with_threshold(texts, labels, [str(i) for i in range(90)], vec,
                                                             target_precision=0.9)
    assert 0.0 < head.threshold <= 1.0
    assert head.validation["size"] >= 5
    preds = head.predict(texts[:9], vec[:9])
    assert sum(p.path == lab for p, lab in zip(preds, labels[:9], strict=True)) >= 8
    # a vector between all centres is not confidently anything
    blur = vec[:3].mean(axis=0, keepdims=True)
    assert head.predict(["?"], blur)[0].confidence < max(p.confidence for p in preds)
    again = CategoryHead.from_bytes(head.to_bytes())
    assert again.threshold == head.threshold
    assert [p.path for p in again.predict(texts[:9], vec[:9])] == [p.path for p in preds]


def test_head_needs_two_categories():
    with pytest.raises(ValueError, match="two different categories"):
        CategoryHead(features="embed").fit(["a", "b"], ["X", "X"], _vectors(["X", "X"]))


def test_taxonomy_text_puts_the_leaf_first():
    assert taxonomy_text("Home & Garden > Kitchen & Dining > Kettles") == "Kettles (Kitchen & Dining, Home & Garden)"


def test_title_type_reads_the_product_type_from_a_fashion_name():
    assert title_type("Parx Men Brown & Off-White Slim Fit Printed Casual Shirt") == "Shirt"
    assert title_type("SPYKAR Women Pink Super Skinny Fit Cropped Jeans") == "Jeans"
    assert title_type("EthnoVogue Women Beige Kurta Set with Jacket") == "Set"


@pytest.mark.parametrize("title,description,expected", [
    ("Running Shoes EU 46 Grey", "", {"size": "EU 46", "colour": "grey"}),
    ("Stainless Steel Water Bottle 500 ml", "", {"capacity": "500 ml", "material": "stainless steel"}),
    ("Glass Kettle 1.5 L", "", {"capacity": "1.5 L", "material": "glass"}),
    ("Unisex Hoodie XL", "Navy blue fleece hoodie.", {"size": "XL", "colour": "navy blue", "material": "fleece"}),
    ("Men Charcoal Grey Striped Suit", "", {"colour": "charcoal grey", "pattern": "striped"}),
    ("Power Bank 20000 mAh", "Weighs 350 g.", {"capacity": "20000 mAh", "weight": "350 g"}),
    ("Formal Shoes UK 9", "", {"size": "UK 9"}),
])
def test_extraction_cases(title, description, expected):
    found = {k: v.value for k, v in extract_attributes(title, description).items()}
    for key, value in expected.items():
        assert found.get(key) == value, (key, found)


def test_extraction_does_not_invent():
    found = extract_attributes("Camping chair", "Folding frame chair, holds up to 120 kg. Pairs well with a table.")
    assert "weight" not in found
    assert "colour" not in found
    # a description naming several colours says nothing about the product's own colour
    assert "colour" not in extract_attributes("Sneakers", "Goes with black, white or red outfits.")


def test_read_from_the_demo_catalogue_brands_thousands_and_product_nouns():
    # each of these was a wrong suggestion on the demo store before the rule existed
    assert extract_attributes("Phone stand, 10,000 mAh")["capacity"].value == "10000 mAh"
    assert "material" not in extract_attributes("Harbor & Pine Polo shirt, navy", brand="Harbor & Pine")
    assert "colour" not in extract_attributes("Face cream, 50 ml")
    assert "pattern" not in extract_attributes("Trail runner", "It feels solid underfoot.")
    assert extract_attributes("Kettle 1,5 L")["capacity"].value == "1.5 L"


def test_a_merchant_value_that_already_says_it_is_not_resuggested():
    from categories.ml.attributes import already_stated

    assert already_stated("full-grain leather", "leather")
    assert already_stated("stoneware", "ceramic", "stoneware")
    assert already_stated("10,000 mAh", "10000 mAh")
    assert not already_stated("Blue", "red")


def test_title_beats_description_and_existing_value_finds_any_spelling():
    found = extract_attributes("Red mug", "Also available in blue.")
    assert found["colour"].value == "red" and found["colour"].source == "title"
    assert existing_value({"Color": "Blue"}, "colour") == ("Color", "Blue")
    assert existing_value({"size": "M"}, "colour") == (None, None)


def test_attribute_fixture_scores(settings):
    from pathlib import Path

    rows = read_attribute_csv(Path(settings.BASE_DIR) / "tests/fixtures/categories/attributes.csv")
    assert len(rows) >= 60
    result = evaluate_attributes(rows)
    assert result["micro"]["precision"] >= 0.85 and result["micro"]["recall"] >= 0.85
