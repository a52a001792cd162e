"""The prose stand-in realises each attribute by its kind (connector, feature, duration, finish, material ...),
checked on attribute names and values from catalogues the planner was not written against
(tests/fixtures/copywriter/kinds30.csv: 30 invented products, none in multidomain.csv)."""

import csv
import json
import re
from pathlib import Path

import pytest

from copywriter.ml import facts as factlib
from copywriter.ml import realise, vet
from copywriter.ml.generate import source_for
from copywriter.ml.inputs import Options, ProductFacts
from copywriter.ml.plan import attribute_phrase, plan_content, product_noun, template_text

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "copywriter" / "kinds30.csv"


def _products():
    with FIXTURE.open(newline="", encoding="utf-8") as fh:
        return [ProductFacts.build(title=r["title"], brand=r["brand"], category=r["category"],
                                   attributes=json.loads(r["attributes"])) for r in csv.DictReader(fh)]


PRODUCTS = _products()


def _phrase(name, value, title="Test Product"):
    facts = ProductFacts.build(title=title, attributes={name: value})
    return attribute_phrase(name, value, product_noun(facts), "seed").text


@pytest.mark.parametrize("name,value,want,never", [
    # the four defects the judges passed
    ("power", "USB", "is powered by USB", "rated at USB"),
    ("armrests", "3D adjustable", "has 3D adjustable armrests", "armrests of"),
    ("water_resistant", "80 minutes", "is water resistant for 80 minutes", "resistant of"),
    ("finish", "matte", "has a matte finish", "made of"),
    # the same kinds under other names and values
    ("power_source", "mains or USB", "is powered by mains or USB", "rated at"),
    ("power", "12 V car socket", "is powered by a 12 V car socket", "rated at"),
    ("power", "2200 W", "is rated at 2200 W", "powered by"),
    ("charging", "Micro-USB", "charges over Micro-USB", "rated"),
    ("material", "Beige", " in beige", "made of"),
    ("material", "matte lacquer", "has a matte lacquer finish", "made of"),
    ("material", "enamelled cast iron", "is made of enamelled cast iron", "finish"),
    ("burn_time", "45 hours", "burns for 45 hours", "of 45"),
    ("keep_warm", "30 minutes", "keeps warm for 30 minutes", "keep warm of"),
    ("warranty", "5 years", "comes with a warranty of 5 years", "has a warranty"),
    ("handlebar", "height adjustable", "has a height adjustable handlebar", "handlebar of"),
    ("slats", "sprung wooden slats", "has sprung wooden slats", "slats slats"),
    ("wheels", "4 spinner", "has 4 spinner wheels", "wheels of"),
    ("fold", "one-hand", "has a one-hand fold", "an one"),
    ("led", "yes", "has an LED", "is led"),
    ("assembly", "required", "requires assembly", "is assembly"),
    ("case", "included", "comes with a case", "has a case"),
    ("noise_level", "under 40 dB", "has a noise level under 40 dB", "an under"),
    ("display", "1.1-inch AMOLED", "has a 1.1-inch AMOLED display", "display of"),
    ("timer", "2-minute with 30-second pacer", "has a 2-minute timer with 30-second pacer", "timer of 2"),
    ("sugar", "low sugar", "is low in sugar", "sugar sugar"),
    ("colours", "ivory, blush, black", "comes in ivory, blush and black", ":"),
    ("size", "EU 46", "comes in size EU 46", ":"),
    ("language", "English", "is in English", "has an"),
    ("features", "foldable, adjustable height", "offers foldable and adjustable height", ":"),
    # frames added after the blind read of blind20c (faults a merchandiser marked in the stand-in)
    ("stand", "not included", "does not come with a stand", "with a not"),
    ("range", "up to 30 km", "works up to 30 km away", "up to up to"),
    ("max_load", "2-9 kg", "takes a load of 2-9 kg", "up to 2-9"),
    ("top_speed", "25 km/h", "has a top speed of 25 km/h", "is top speed"),
    ("allergens", "gluten free, dairy free", "is gluten free and dairy free", "Its allergens"),
    ("wireless_charging", "compatible", "is compatible with wireless charging", "a compatible"),
    ("portafilter_holder", "fits 54 and 58 mm", "its portafilter holder fits 54 and 58 mm", "is fits"),
    ("inner_pot", "non-stick, 2 mm", "has a non-stick inner pot of 2 mm", "non-stick and 2 mm"),
    ("construction", "4-panel, hand-stitched", "has 4-panel, hand-stitched construction", "of 4-panel"),
    ("packs_into", "attached pouch", "packs into an attached pouch", "an attached pouch packs"),
    ("probe_covers", "21 included", "comes with 21 probe covers", "a 21"),
    ("strings", "Aquila Nylgut", "has Aquila Nylgut strings", "aquila"),
    ("sleeps", "2", "sleeps 2", "2 sleeps"),
    # and after the blind read of blind20d
    ("sold_as", "single block", "is sold as a single block", "block sold as"),
    ("sold_as", "pair", "is sold as a pair", "pair sold as"),
    ("packable", "yes, into left pocket", "is packable into left pocket", "is yes"),
    ("mopping", "yes, 250 ml water tank", "features mopping with a 250 ml water tank", "is yes"),
    ("shelves", "5, 2 adjustable", "has 5 shelves, 2 of them adjustable", "are 5 and"),
    ("spf", "50", "offers SPF 50 protection", "offers 50"),
    ("case", "carry case included", "comes with a carry case", "case case"),
    ("feathering", "0-60 degrees, adjustable", "has adjustable feathering of 0-60 degrees", "an adjustable"),
])
def test_each_attribute_is_realised_by_its_kind(name, value, want, never):
    text = _phrase(name, value)
    assert want in text, text
    assert never not in text, text
    assert ":" not in text


@pytest.mark.parametrize("value,kind", [
    ("USB-C", "connector"), ("HDMI, USB, AV", "connector"), ("80 minutes", "duration"), ("up to 30 hours", "duration"),
    ("55 x 40 x 20 cm", "dimension"), ("2.6 kg", "mass"), ("1.7 L", "volume"), ("2200 W", "electric"),
    ("IPX4", "rating"), ("Rosewood", "text"), ("Dusty sage green", "colour"), ("matte", "finish"),
    ("natural rattan", "material"), ("3D adjustable", "text"), ("4", "count"), ("yes", "yes"),
])
def test_value_kinds(value, kind):
    assert realise.value_kind(value) == kind


@pytest.mark.parametrize("text,art", [("one-hand fold", "a"), ("IPX4 rating", "an"), ("LED", "an"), ("USB cable", "a"),
                                      ("8-hour timer", "an"), ("hour", "an"), ("HEPA filter", "a"), ("oak top", "an")])
def test_article_by_sound(text, art):
    assert realise.article(text) == art


MADE_OF = re.compile(r"\bmade (?:of|from) ([^,.]+?)(?: and |,|\.|$)")


@pytest.mark.parametrize("facts", PRODUCTS, ids=[p.title for p in PRODUCTS])
def test_stand_in_reads_as_prose_on_unseen_catalogues(facts):
    for length in ("short", "medium"):
        options = Options(length=length)
        text = template_text(plan_content(facts, options), options)
        assert vet.spec_pairs(text) == 0 and not vet.is_spec_dump(text), text
        assert not vet.has_loop(text), text
        assert not re.search(r"\b(\w+) \1\b", text, re.I), f"doubled word: {text}"
        assert not re.search(r"\brated at (?!\d)", text), text
        for m in MADE_OF.finditer(text):
            assert realise.is_material(m.group(1)), f"'made of {m.group(1)}' is not a material: {text}"
        assert not re.search(r"\ban (?!hour|honest|[aeiouAEFHILMNORSX8]|11|18)\w", text), text
        assert not re.search(r"\ba (?:[aeio]|u(?!s|n|r))\w", text), text
        report = factlib.check_facts(text, source=source_for(facts, options))
        assert not report.unsupported_facts, (text, report.unsupported_facts)


def test_stand_in_covers_the_planned_facts_of_unseen_products():
    options = Options(length="medium")
    missing = 0
    total = 0
    for facts in PRODUCTS:
        plan = plan_content(facts, options)
        report = factlib.check_facts(template_text(plan, options), source=source_for(facts, options))
        planned = set(plan.planned_attributes)
        missing += len(planned & set(report.missing_attributes))
        total += len(planned)
    assert total > 100 and missing == 0


@pytest.mark.parametrize("title,category,noun", [
    ("Grain-Free Adult Dog Food Salmon & Sweet Potato 12 kg", "Pets > Dogs > Dog Food", "dog food"),
    ("Voltis 20000 mAh Power Bank", "Electronics > Power Banks", "power bank"),
    ("Aerolite Carbon Badminton Racket", "Sports > Racket Sports > Badminton", "racket"),
    ("Solenne Mineral Sunscreen SPF 50", "Beauty > Skincare", "sunscreen"),
    ("Pawsome Orthopaedic Dog Bed Large", "Pets > Dogs > Beds", "bed"),
    ("Cuisara 5.5 L Digital Air Fryer", "Kitchen > Air Fryers", "air fryer"),
    # a variant word after the noun (a wood, an adjective, a pack size, a connection) is not the product
    ("Marlow Concert Ukulele Mahogany", "Music > String Instruments > Ukuleles", "ukulele"),
    ("Fjell Ski Goggles Photochromic", "Winter Sports > Goggles", "goggles"),
    ("Aquaglide Swimming Goggles Mirrored", "Swimming > Goggles", "goggles"),
    ("Oakridge Golf Balls 12 Pack", "Sports > Golf > Golf Balls", "golf balls"),
    ("Scribe Label Maker Bluetooth", "Office > Label Makers", "label maker"),
    ("Lumo Travel Neck Pillow Memory Foam", "Travel > Neck Pillows", "neck pillow"),
    ("Hollis Stretch Chinos Slim Fit Navy 32W 32L", "Clothing > Men > Trousers > Chinos", "chinos"),
    ("Lowen Zero-Twist Bath Towel Stone", "Home > Bathroom > Towels", "towel"),
    ("Ridgeback Roasters Ethiopia Yirgacheffe Whole Bean Coffee 1 kg", "Food & Drink > Coffee > Coffee Beans", "coffee"),
])
def test_product_noun_is_the_head_noun(title, category, noun):
    assert product_noun(ProductFacts.build(title=title, category=category, attributes={"x": "y"})).text == noun
