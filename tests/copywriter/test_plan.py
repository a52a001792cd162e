"""Content planning: an opening that names the product type, body sentences of 1-3 facts, prose stand-ins."""

import re

import pytest

from copywriter.ml import vet
from copywriter.ml.inputs import Options, ProductFacts
from copywriter.ml.plan import attribute_phrase, family_of, plan_content, product_noun, template_text

pytestmark = pytest.mark.quick

SOFA = ProductFacts.build(title="Oslo 3-Seater Fabric Sofa", brand="Nordhem", category="Furniture > Living Room > Sofas",
                          attributes={"seats": "3", "upholstery": "Woven polyester", "frame": "solid pine",
                                      "legs": "oak", "dimensions": "210 x 88 x 82 cm", "colour": "Dove grey"})
JEANS = ProductFacts.build(title="SPYKAR Women Pink Skinny Fit Cropped Jeans", brand="SPYKAR", category="Fashion",
                           attributes={"gender": "Women", "colour": "Pink"})


def test_opening_names_the_product_with_facts_and_body_sentences_carry_one_to_three_facts():
    plan = plan_content(SOFA, Options(length="medium"))
    roles = [s.role for s in plan.sentences]
    assert roles[0] == "opening" and roles[-1] == "closing" and set(roles[1:-1]) == {"body"}
    opening = plan.sentences[0]
    assert opening.draft.startswith("The Oslo 3-Seater Fabric Sofa from Nordhem ") and 1 <= len(opening.attributes) <= 3
    assert "for the home" not in opening.draft  # the family's use is a guess, not a fact
    body = [s for s in plan.sentences if s.role == "body"]
    assert 1 <= len(body) <= 4 and all(1 <= len(s.attributes) <= 3 for s in body)
    assert sorted(plan.planned_attributes) == sorted(SOFA.attributes)


def test_a_material_leads_and_repeated_verbs_are_shared():
    pan = ProductFacts.build(title="Ember Skillet", category="Kitchen > Cookware",
                             attributes={"material": "cast iron", "diameter": "26 cm", "weight": "2.6 kg",
                                         "handle": "helper handle", "lid": "glass lid", "pouring_lips": "2"})
    text = template_text(plan_content(pan, Options(length="short")), Options())
    assert text.startswith("Made of cast iron, the Ember Skillet "), text
    assert not re.search(r"\bhas [^.]*, has [^.]* and has\b", text), text  # never "has …, has … and has …"
    assert text.count(" has ") <= 2, text


def test_short_copy_has_no_closing_and_at_most_two_body_sentences():
    plan = plan_content(SOFA, Options(length="short"))
    assert 1 <= [s.role for s in plan.sentences].count("body") <= 2 and plan.sentences[-1].role == "body"


def test_template_text_is_prose_never_key_value():
    for facts in (SOFA, JEANS):
        for tone in ("neutral", "premium", "playful", "technical"):
            text = template_text(plan_content(facts, Options(tone=tone, length="long")), Options(tone=tone))
            assert vet.spec_pairs(text) == 0 and "Details" not in text and not vet.has_loop(text)
    text = template_text(plan_content(SOFA, Options()), Options())
    assert "is upholstered in woven polyester" in text and "a solid pine frame" in text


def test_fashion_gender_goes_into_the_opening_and_plural_nouns_agree():
    plan = plan_content(JEANS, Options(length="short"))
    assert plan.sentences[0].draft.startswith("Designed for women, the SPYKAR")
    assert plan.sentences[0].attributes == ["gender", "colour"]
    assert re.search(r"SPYKAR Women Pink Skinny Fit Cropped Jeans (come|are finished) in pink\.",
                     template_text(plan, Options()))
    assert product_noun(JEANS).plural and not product_noun(SOFA).plural


@pytest.mark.parametrize("title,category,family", [
    ("Grain-Free Adult Dog Food 12 kg", "Pet Supplies > Dogs > Dry Food", "pets"),
    ("Marlow Marble-Top Coffee Table", "Furniture > Living Room > Coffee Tables", "furniture"),
    ("Brewmate 12-Cup Programmable Coffee Maker", "Home & Kitchen > Small Appliances", "kitchen"),
    ("AW Bellies", "Fashion", "footwear"),
    ("Zoomer Remote Control Stunt Car", "Toys > Vehicles", "toys"),
])
def test_family_comes_from_the_head_noun(title, category, family):
    assert family_of(ProductFacts.build(title=title, category=category, attributes={"x": "y"})).name == family


@pytest.mark.parametrize("name,value,phrase", [
    ("colour", "Navy blue", "navy blue"), ("material", "Cotton", "made"), ("waterproof", "yes", "is waterproof"),
    ("waterproof", "no", "is not waterproof"), ("remote_control", "yes", "remote control"),
    ("capacity", "750 ml", "750 ml"), ("heat_settings", "3", "has 3 heat settings"),
    ("size", "EU 46", "comes in size EU 46"), ("skin_type", "all skin types", "suits all skin types"),
])
def test_attribute_phrases_read_as_prose(name, value, phrase):
    p = attribute_phrase(name, value, product_noun(SOFA), "seed")
    assert phrase in p.text and ":" not in p.text
