"""Fact checker on tricky cases: units and conversions, ranges, colours, materials, negations, names."""

import pytest

from copywriter.ml.facts import check_facts, extract_claims

pytestmark = pytest.mark.quick

BOTTLE = dict(title="Hydro Bottle", brand="Acme", category="Kitchen > Bottles",
              attributes={"material": "Stainless steel", "length_cm": "30", "colour": "Navy blue",
                          "warranty": "2 years", "waterproof": "no", "size": "M, L, XL", "capacity": "750 ml"})


def unsupported(text, **kw):
    return [(c.kind, c.text) for c in check_facts(text, **(kw or BOTTLE)).unsupported]


def test_unit_conversion_cm_mm_inch_supported():
    assert unsupported("It is 300 mm long.") == []
    assert unsupported("It is 11.8 inches long.") == []  # 299.7 mm ~ 30 cm
    assert unsupported("Holds 0.75 l.") == []


def test_wrong_numbers_and_units_flagged():
    assert ("quantity", "45 cm") in unsupported("It is 45 cm long.")
    assert ("quantity", "500 ml") in unsupported("It holds 500 ml.")


def test_ranges_need_both_ends():
    kw = dict(title="Desk", attributes={"height": "70-120 cm"})
    assert unsupported("Adjusts from 70 to 120 cm.", **kw) == []
    assert unsupported("Adjusts from 700 mm to 1.2 m.", **kw) == []
    assert [k for k, _ in unsupported("Adjusts from 60 to 120 cm.", **kw)] == ["quantity"]


def test_colour_synonyms_and_shades():
    assert unsupported("A navy bottle.") == []
    assert unsupported("A dark blue bottle.") == []
    assert ("colour", "red") in unsupported("A red bottle.")
    grey = dict(title="Sofa", attributes={"colour": "Gray"})
    assert unsupported("A charcoal grey sofa.", **grey) == []


def test_materials_with_specific_and_general_forms():
    assert unsupported("Made of steel.") == []  # backed by stainless steel
    assert ("material", "copper") in unsupported("A copper body.")
    assert ("material", "cotton") in unsupported("Soft cotton sleeve.")
    alu = dict(title="Frame", attributes={"material": "Aluminum"})
    assert unsupported("A light aluminium frame.", **alu) == []


def test_negations():
    # the input says waterproof: no
    assert unsupported("It is not waterproof.") == []
    assert ("feature", "waterproof") in unsupported("It is fully waterproof.")
    yes = dict(title="Jacket", attributes={"waterproof": "yes"})
    assert unsupported("A waterproof jacket.", **yes) == []
    assert ("feature", "waterproof") in unsupported("This jacket is not waterproof.", **yes)


def test_warranty_certifications_compatibility_names():
    assert unsupported("Backed by a 2-year warranty.") == []
    assert ("warranty", "5 year warranty") in unsupported("Comes with a 5 year warranty.")
    assert ("certification", "CE certified") in unsupported("CE certified for safety.")
    assert any(k == "compatibility" for k, _ in unsupported("Compatible with iPhone 15."))
    assert any(k == "name" for k, _ in unsupported("Loved by Nike athletes."))
    assert unsupported("The Acme Hydro Bottle is here.") == []


def test_sizes():
    assert unsupported("Available in size M to XL.") == []
    assert any(k == "size" for k, _ in unsupported("Available in XXL."))


def test_coverage_reports_covered_and_missing():
    r = check_facts("A 30 cm navy stainless steel bottle, not waterproof, holds 750 ml.", **BOTTLE)
    assert set(r.covered_attributes) == {"material", "length_cm", "colour", "waterproof", "capacity"}
    assert set(r.missing_attributes) == {"warranty", "size"}


def test_plain_marketing_text_has_no_claims():
    claims = extract_claims("A lovely everyday companion that you will enjoy using.")
    assert claims == []


# --- false positives found on real catalogues (issue 9), each with the invented counterpart still caught ---

@pytest.mark.parametrize("text,attrs", [
    ("Shown in EU 46.", {"size": "EU 46"}),
    ("These sandals come in size UK 9.", {"size": "UK 9"}),
    ("It holds 750 mL.", {"capacity": "750 ml"}),
    ("Up to 40 hours of listening.", {"battery_life": "40 h with case"}),
    ("A 27″ screen.", {"screen_size": "27 inches"}),
    ("Sized for 6–12 months.", {"size": "6-12 months"}),
    ("Sized for 6 to 12 months.", {"size": "6–12 months"}),
    ("Water resistant to 5 ATM.", {"water_resistance": "5 ATM"}),
    ("This serum is fragrance free and is vegan.", {"fragrance_free": "yes", "vegan": "yes"}),
    ("It comes in stone grey.", {"colour": "Stone grey"}),
])
def test_real_specs_are_supported(text, attrs):
    assert unsupported(text, title="Product", attributes=attrs) == []


@pytest.mark.parametrize("text,attrs,kind", [
    ("Shown in EU 44.", {"size": "EU 46"}, "size"),
    ("Comes in size UK 10.", {"size": "UK 9"}, "size"),
    ("It holds 500 mL.", {"capacity": "750 ml"}, "quantity"),
    ("Up to 60 hours of listening.", {"battery_life": "40 h with case"}, "quantity"),
    ("A 32″ screen.", {"screen_size": "27 inches"}, "quantity"),
    ("Sized for 6–18 months.", {"size": "6-12 months"}, "quantity"),
    ("It is not vegan.", {"vegan": "yes"}, "feature"),
    ("It is made of stone.", {"colour": "Stone grey"}, "material"),
    ("It has a 2-year warranty.", {"size": "UK 9"}, "warranty"),
])
def test_invented_specs_are_still_caught(text, attrs, kind):
    assert kind in [k for k, _ in unsupported(text, title="Product", attributes=attrs)]
