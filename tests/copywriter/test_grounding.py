"""The invented-content check: every content word of a sentence licensed by the product's facts or a small generic
copy vocabulary (copywriter.ml.grounding), independent of how the sentence was written."""

import csv
import json
from pathlib import Path

import pytest

from copywriter.ml import facts as factlib
from copywriter.ml import grounding
from copywriter.ml.generate import ROLE_SHOTS
from copywriter.ml.inputs import Options, ProductFacts
from copywriter.ml.plan import plan_content, template_text

pytestmark = pytest.mark.quick

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "copywriter"
# products written for this test (not fixture rows)
BEAMER = ProductFacts.build(title="Lumina Pocket Projector", brand="Lumina", category="Electronics > Projectors",
                            attributes={"brightness": "500 lumens", "inputs": "HDMI, USB", "speaker": "yes"})
COAT = ProductFacts.build(title="Fennel Wool Overcoat", brand="Fennel", category="Clothing > Men > Coats",
                          attributes={"material": "80% wool", "colour": "Camel", "gender": "Men"})
JAR = ProductFacts.build(title="Harvest Wildflower Honey 340 g", brand="Harvest", category="Food > Spreads",
                         attributes={"weight": "340 g", "origin": "Wales", "jar": "glass"})
FLASK = ProductFacts.build(title="Keel Food Flask 500 ml", brand="Keel", category="Kitchen > Food Storage",
                           attributes={"capacity": "500 ml", "keeps_warm": "8 hours", "colour": "Navy"})


@pytest.mark.parametrize("facts,sentence,word", [
    (BEAMER, "The Lumina Pocket Projector is designed for everyday use, with a built-in USB port and an LCD screen.",
     "port"),
    (COAT, "The Fennel Wool Overcoat is made to measure for men.", "measure"),
    (JAR, "This honey from Wales is available at the market.", "market"),
    (FLASK, "This flask holds 500 ml of hot food, keeping warm in a cozy 8 hours!", "cozy"),
    (COAT, "Door to door, the Fennel Wool Overcoat is designed for everyday wear.", "Door"),
    (COAT, "Dedicated to the Fennel Wool Overcoat, it comes in camel.", "Dedicated"),
    (BEAMER, "It was sold for $1 in 1 day at the Woolworths of Australia.", "Woolworths"),
    (JAR, "A massive explosion took place there that day.", "explosion"),
])
def test_invented_content_is_caught(facts, sentence, word):
    invented = grounding.invented_words(sentence, facts)
    assert word in invented, invented


@pytest.mark.parametrize("facts,sentence", [
    (BEAMER, "With a brightness of 500 lumens and HDMI and USB inputs, the Lumina Pocket Projector has a built-in "
             "speaker."),
    (COAT, "Designed for men, the Fennel overcoat is made of 80% wool and comes in a classic camel."),
    (JAR, "Harvest wildflower honey from Wales comes in a glass jar and weighs 340 g."),
    (FLASK, "Finished in navy blue, this food flask keeps warm for a full 8 hours."),
])
def test_sentences_from_the_facts_pass(facts, sentence):
    assert grounding.invented_words(sentence, facts) == []


def test_merchant_keywords_and_audience_license_their_words():
    s = "A warm overcoat for commuters who cycle."
    assert "commuters" in grounding.invented_words(s, COAT)
    assert "commuters" not in grounding.invented_words(s, COAT, grounding.style_extra(["overcoat"], "commuters"))


def test_generic_vocabulary_does_not_license_by_stem():
    # "measures" is a frame word of the stand-in; "made to measure" is a claim
    assert grounding._generic("measures") and not grounding._generic("measure")


def _rows(name):
    with open(FIX / name, newline="") as fh:
        return [ProductFacts.build(title=r["title"], brand=r["brand"], category=r["category"],
                                   attributes=json.loads(r["attributes"])) for r in csv.DictReader(fh)]


@pytest.mark.parametrize("fixture", ["multidomain.csv", "kinds30.csv"])
def test_every_stand_in_sentence_is_licensed(fixture):
    for facts in _rows(fixture):
        for length in ("short", "medium", "long"):
            for tone in ("neutral", "premium", "playful"):
                options = Options(length=length, tone=tone)
                text = template_text(plan_content(facts, options), options)
                for _, _, s in factlib.split_sentences(text):
                    assert grounding.invented_words(s, facts) == [], (s, grounding.invented_words(s, facts))


def test_the_prompt_examples_teach_no_invention():
    for shots in ROLE_SHOTS.values():
        for user, answer in shots:
            title = user.split("\n")[0][len("Product: "):].split(" (")[0]
            draft = user.split("Draft: ", 1)[1]
            facts = ProductFacts.build(title=title, attributes={"draft": draft})
            assert grounding.invented_words(answer, facts) == [], answer


def test_human_copy_flag_rate_is_reported_not_hidden():
    """People write details the data lacks ("a soft-touch zip", "at the beach"): the check flags most human
    sentences, by design. The word-level rate guards the generic vocabulary: most of a human sentence's words
    are still licensed."""
    with open(FIX / "multidomain.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    words = flagged = 0
    for r in rows:
        facts = ProductFacts.build(title=r["title"], brand=r["brand"], category=r["category"],
                                   attributes=json.loads(r["attributes"]))
        for _, _, s in factlib.split_sentences(r["description"]):
            words += len(grounding._parts(s))
            flagged += len(grounding.invented_words(s, facts))
    assert words > 2000 and 0.05 < flagged / words < 0.3
