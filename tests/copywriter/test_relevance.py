"""The relevance check on the real MiniLM embedder: off-topic sentences, contradicting product types, calibration."""

import json

import pytest

from copywriter.ml import relevance
from copywriter.ml.inputs import ProductFacts

BELLIES = ProductFacts.build(title="AW Bellies", brand="AW", category="Fashion", attributes={"gender": "Women",
                                                                                          "colour": "Pink"})
BAG = ProductFacts.build(title="DKNY Unisex Black & Grey Printed Medium Trolley Bag", brand="DKNY", category="Fashion",
                         attributes={"gender": "Unisex", "colour": "Black"})
STOVE = ProductFacts.build(title="Prestige 2-Burner Gas Stove", brand="Prestige", category="Home & Kitchen > Cooktops",
                           attributes={"burners": "2", "material": "Toughened glass top", "ignition": "manual"})


def test_off_topic_sentences_are_flagged_and_on_topic_ones_kept():
    bad = ["A massive explosion took place there that day.", "The weather in Rome will be sunny tomorrow.",
           "This is a great product."]
    good = ["These pink bellies are made for women.", "A black and grey trolley bag with a retractable handle.",
            "The toughened glass top wipes clean in seconds."]
    verdicts = relevance.score_sentences([(BELLIES, bad[:2] + good[:1]), (BAG, [bad[2], good[1]]),
                                          (STOVE, [good[2]])])
    flat = [v for vs in verdicts for v in vs]
    assert [v.off_topic for v in flat] == [True, True, False, True, False, False]


def test_naming_another_product_type_is_a_contradiction_even_with_the_title_in_it():
    [v] = relevance.check_sentences(BELLIES, ["AW Bellies, a popular and affordable breakfast option."])
    assert v.contradiction == "food" and not v.ok
    [ok] = relevance.check_sentences(BELLIES, ["AW Bellies in pink, made for women."])
    assert ok.ok


def test_short_fragments_are_not_judged():
    [v] = relevance.check_sentences(STOVE, ["Black."])
    assert v.score is None and v.ok


def test_the_stored_calibration_says_how_it_was_derived():
    data = json.loads(relevance.CALIBRATION_FILE.read_text())
    assert 0.05 < data["threshold"] < 0.4 and data["derivation"]["keep"] == 0.95
    assert "training split" in data["derivation"]["source"] and data["derivation"]["n_sentences"] > 500


@pytest.mark.django_db
def test_calibration_is_derived_from_human_copy(tmp_path, monkeypatch):
    from copywriter.ml import evaluation as ev

    examples = ev.load_examples(relevance.Path(__file__).resolve().parents[1] / "fixtures" / "copywriter" /
                                "multidomain.csv")
    cal = relevance.calibrate([(e.facts, e.description) for e in examples], keep=0.9, source="fixture")
    stats = relevance.human_sentence_stats([(e.facts, e.description) for e in examples])
    kept = (stats["score"] >= cal.threshold).mean()
    assert 0.88 <= kept <= 0.92  # the threshold keeps the share it was asked to keep
    out = tmp_path / "cal.json"
    relevance.save_calibration(cal, out)
    assert json.loads(out.read_text())["derivation"]["source"] == "fixture"
