"""The pipeline around the model: sentence vetting, stand-ins, best-of-N, options, SEO limits, the live stream.

The model here is a scripted stand-in that answers each sentence prompt with text we choose: the point is
what the pipeline does with nonsense, spec lists, loops and invented facts, which the real 135M model produces
only some of the time (tests/copywriter/test_prose_real.py runs the real one)."""

import re

import pytest

from copywriter.ml import vet
from copywriter.ml.generate import (
    N_FIRST,
    BadProductInput,
    Draft,
    Options,
    ProductFacts,
    SentenceEvent,
    choose_best,
    stream_draft,
    template_draft,
    write_drafts,
)
from ecomops.ml.llm import Completion

SHIRT = ProductFacts.build(title="Oxford Shirt", brand="Kestrel",
                           attributes={"colour": "Navy blue", "material": "Cotton", "fit": "Slim fit"})
EARBUDS = ProductFacts.build(title="Aurel Pro Wireless Earbuds", brand="Aurel", category="Electronics > Audio",
                             attributes={"battery_life": "40 h with case", "charging": "USB-C", "colour": "Black"})


class ScriptedModel:
    """Answers by the draft in the prompt: ``script(draft, call_no)`` returns the model's text."""

    label = "scripted"

    def __init__(self, script):
        self.script, self.calls, self.prompts = script, 0, []

    def _answer(self, conv):
        draft = conv[-1]["content"].split("Draft: ", 1)[1]
        self.prompts.append(conv)
        self.calls += 1
        return self.script(draft, self.calls)

    def complete_batch(self, conversations, **kw):
        return [Completion(t, len(t.split()), "stop") for t in (self._answer(c) for c in conversations)]

    def stream_chat(self, messages, *, should_stop=None, **kw):
        text = self._answer(messages)
        for i in range(0, len(text), 5):
            yield text[i: i + 5]

    def count_tokens(self, text):
        return len(text.split())


NONSENSE = ["A massive explosion took place there that day.", "Awesome products! They're all made to make money!",
            "Details: colour: navy, material: cotton, fit: slim.", "with a double sofa bed with a double sofa bed with a "
            "double sofa bed.", "It was sold for $1 in 1 day at the Woolworths of Australia.",
            "You are an AI assistant. You are programmed to provide assistance as requested."]


def test_nonsense_sentences_never_reach_the_draft():
    model = ScriptedModel(lambda draft, n: NONSENSE[n % len(NONSENSE)])
    d = write_drafts(model, [SHIRT, EARBUDS], Options(length="short"))
    for draft in d:
        low = draft.description.lower()
        assert not any(w in low for w in ("explosion", "money", "woolworths", "assistant", "details:", "sofa"))
        assert draft.source == "template" and draft.unsupported_facts == [] and draft.offtopic_sentences == []
        assert not vet.is_spec_dump(draft.description) and not vet.has_loop(draft.description)
        assert draft.missing_attributes == []  # the stand-ins state every planned fact
        assert all(s["rejected"] for s in draft.sentences)  # every model attempt was seen and refused
    n_sentences = sum(len(dr.sentences) for dr in d)
    # best of N_FIRST in the first batch, then two resamples (n_candidates=2), then the stand-in
    assert model.calls == n_sentences * (N_FIRST + 2)


def test_good_model_sentences_are_kept_and_failures_resampled_once():
    seen = set()

    def script(draft, n):
        if "USB-C" in draft and draft not in seen:  # the first answer invents a warranty; the resample is fine
            seen.add(draft)
            return "It charges over USB-C and comes with a 2-year warranty."
        return draft

    model = ScriptedModel(script)
    [d] = write_drafts(model, [EARBUDS], Options(length="short"), n_candidates=2, source_label="scripted")
    assert "warranty" not in d.description and d.unsupported_facts == []
    usb = [s for s in d.sentences if "charging" in s["attributes"]][0]
    assert usb["source"] == "model" and "unsupported: 2-year warranty" in usb["rejected"][0]["reasons"][0]
    assert d.source == "scripted"


def test_a_sentence_that_drops_its_planned_facts_is_refused():
    model = ScriptedModel(lambda draft, n: "This lovely shirt is a joy to wear every single day.")
    [d] = write_drafts(model, [SHIRT], Options(length="short"))
    body = [s for s in d.sentences if s["role"] == "body"]
    assert all(s["source"] == "template" for s in body)
    assert any("drops planned facts" in r for s in body for x in s["rejected"] for r in x["reasons"])


def test_avoid_words_keywords_and_audience():
    model = ScriptedModel(lambda draft, n: draft.replace("made", "crafted cheap") if n == 1 else draft)
    opts = Options(length="short", keywords=["office shirt"], avoid_words=["cheap"], audience="Students")
    [d] = write_drafts(model, [SHIRT], opts)
    assert "cheap" not in d.description.lower() and "office shirt" in d.description
    assert "Students" in d.description and d.unsupported_facts == []
    system = model.prompts[0][0]["content"]
    assert "Never use the words: cheap" in system and "Readers: Students" in system


def test_template_baseline_is_prose_and_invents_nothing():
    for tone in ("neutral", "premium", "playful", "technical"):
        d = template_draft(EARBUDS, Options(tone=tone, length="medium"))
        assert d.unsupported_facts == [] and d.missing_attributes == [] and d.source == "template"
        assert vet.spec_pairs(d.description) == 0 and "Details" not in d.description


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


def _draft(**kw):
    base = dict(description="x", bullets=[], meta_title="", meta_description="", unsupported_facts=[],
                covered_attributes=["a"], missing_attributes=[], source="m", raw_text="", warnings=[], length_fit=1.0)
    return Draft(**{**base, **kw})


def test_best_of_n_counts_offtopic_sentences_as_failures():
    clean = _draft(length_fit=0.2)
    offtopic = _draft(offtopic_sentences=[{"text": "A massive explosion."}])
    invented = _draft(unsupported_facts=[{"text": "copper"}])
    assert choose_best([offtopic, invented, clean]) is clean
    assert choose_best([invented, offtopic]) is offtopic  # no unsupported fact ranks first


def test_stream_yields_only_vetted_sentences_then_the_draft():
    model = ScriptedModel(lambda draft, n: "A massive explosion took place there that day." if n == 1 else draft)
    items = list(stream_draft(model, SHIRT, Options(length="short")))
    events, final = items[:-1], items[-1]
    assert all(isinstance(e, SentenceEvent) for e in events) and isinstance(final, Draft)
    assert [e.index for e in events] == list(range(len(events))) and events[0].total == len(events)
    assert not any("explosion" in e.text for e in events)
    assert final.description == " ".join(e.text for e in events)
    assert final.sentences[0]["rejected"][0]["text"].startswith("A massive explosion")


def test_stream_stops_quietly_when_asked():
    model = ScriptedModel(lambda draft, n: draft)
    items = list(stream_draft(model, SHIRT, Options(length="short"), should_stop=lambda: True))
    assert items == []


def test_spec_dump_and_loop_detectors():
    assert vet.is_spec_dump("Nice. Details: colour: navy, material: cotton.")
    assert vet.is_spec_dump("colour: navy, material: cotton, fit: slim")
    assert not vet.is_spec_dump("A navy cotton shirt with a slim fit. Care is easy.")
    assert vet.has_loop("with a double sofa bed with a double sofa bed")
    assert not vet.has_loop("The Oxford Shirt is navy. The Oxford Shirt is cotton.")
    assert vet.clean_sentence('Sure! "A navy shirt for work." Then more') == "A navy shirt for work."
    assert vet.clean_sentence("A navy shirt that is cut off mid") == ""


def test_no_description_ever_contains_key_value_pairs():
    model = ScriptedModel(lambda draft, n: "Colour: navy. Material: cotton. Fit: slim.")
    for d in write_drafts(model, [SHIRT, EARBUDS], Options(length="long")):
        assert not re.search(r"\b\w+: \w", d.description)


def test_a_sentence_with_invented_words_is_refused_even_when_the_fact_checker_passes_it():
    # "market" and "measure" are no claim the fact checker parses; the grounding check sees them
    model = ScriptedModel(lambda draft, n: draft.rstrip(".") + ", made to measure and sold at the market.")
    [d] = write_drafts(model, [SHIRT], Options(length="short"))
    assert "market" not in d.description and "measure" not in d.description
    assert all(s["source"] == "template" for s in d.sentences)
    assert any("invents" in r for s in d.sentences for x in s["rejected"] for r in x["reasons"])


ALARM = ProductFacts.build(title="Brightline Smoke Alarm", brand="Brightline", category="Home > Safety > Smoke Alarms",
                           attributes={"sensor": "optical", "battery": "sealed 10-year lithium",
                                       "test_button": "yes"})


@pytest.mark.parametrize("added,why", [
    ("{s}, and it is easy to carry.", "claims 'easy'"),
    ("{s}, ready for everyday use.", "filler"),
    ("{s}, a great choice for every day.", "claims 'great'"),
    ("{s}, and it is made to last.", "filler"),
])
def test_a_model_sentence_may_not_add_praise_or_filler(added, why):
    """What a merchandiser struck out of the model's sentences in the blind read: claims the facts do not make
    ("easy to carry" for a smoke alarm) and filler ("ready for everyday use"); the stand-in says neither."""
    def script(draft, n):
        return added.format(d=draft, s=draft.rstrip("."))

    model = ScriptedModel(script)
    [d] = write_drafts(model, [ALARM], Options(length="short"))
    for w in ("easy", "ready for", "great choice"):
        assert w not in d.description
    assert any(why in r for s in d.sentences for x in s["rejected"] for r in x["reasons"])


def test_a_model_sentence_that_drops_a_qualifier_or_hangs_a_noun_phrase_in_front_is_refused():
    def script(draft, n):
        if "10-year" in draft:
            return draft.replace("10-year ", "")  # "sealed lithium": the qualifier the shopper buys it for
        return "A handy device, this alarm " + draft.split(" ", 2)[-1] if draft.startswith("It ") else draft

    [d] = write_drafts(ScriptedModel(script), [ALARM], Options(length="short"))
    assert "10-year" in d.description and "A handy device" not in d.description
    reasons = [r for s in d.sentences for x in s["rejected"] for r in x["reasons"]]
    assert any("drops 10" in r for r in reasons)


def test_a_plain_rephrasing_of_the_facts_is_kept():
    def script(draft, n):
        return draft.replace("The Brightline Smoke Alarm has", "The Brightline Smoke Alarm comes with") \
            if draft.startswith("The Brightline") else draft

    [d] = write_drafts(ScriptedModel(script), [ALARM], Options(length="short"), source_label="scripted")
    assert any(s["source"] == "model" for s in d.sentences) and d.unsupported_facts == []


def test_a_short_word_value_needs_what_it_is_of():
    """"A set of 24 half-pans is excellent": the value of lightfastness without the word, so the shopper cannot
    tell what is excellent; the coverage check counts the word and passes it."""
    assert any("without 'lightfastness'" in r for r in vet.model_reasons(
        "A set of 24 half pans is excellent.", "excellent", [("pans", "24 half pans"), ("lightfastness", "excellent")]))
    assert not vet.model_reasons("Its lightfastness is excellent.", "excellent", [("lightfastness", "excellent")])
    assert not vet.model_reasons("These goggles are anti-fog and helmet compatible.", "",
                                 [("anti_fog", "yes"), ("helmet_compatible", "yes")])


@pytest.mark.parametrize("sentence,why", [
    ("This case has a silicone split, adjustable strap and UV400.", "changes the subject"),
    ("This app is iOS and Android.", "changes the subject"),
    ("This lanemark swimming goggles have UV400 protection.", "in lower case"),
    ("This goggles has UV400 protection.", "plural"),
    ("These goggles have a 4 memory presets.", "plural number"),
    ("These goggles come in a double size and a double size case.", "twice"),
])
def test_how_a_model_sentence_names_the_product(sentence, why):
    """Model sentences from a read of blind20b/blind20c that renamed the product, lower-cased its brand or broke
    number agreement; the stand-in's own subjects ("It", "They", "These goggles") pass."""
    reasons = vet.subject_reasons(sentence, "Lanemark Pro Anti-Fog Swimming Goggles", "Lanemark", "goggles", True)
    assert any(why in r for r in reasons), reasons
    for ok in ("These goggles have UV400 protection.", "They have a split silicone strap.",
               "With a soft silicone seal, the Lanemark Pro Anti-Fog Swimming Goggles come with a case."):
        assert vet.subject_reasons(ok, "Lanemark Pro Anti-Fog Swimming Goggles", "Lanemark", "goggles", True) == []


def test_a_model_sentence_rephrases_its_draft_and_adds_nothing():
    case = "Shellguard Slim Case for Pixel 8 Midnight Blue Silicone"
    draft = f"Made of liquid silicone, the {case} has microfibre lining."
    lost = vet.rephrase_reasons(f"The {case} has microfibre lining.", draft, case,
                                [("material", "liquid silicone"), ("lining", "microfibre")])
    assert any("loses liquid" in r for r in lost)  # the title's "Silicone" does not state the material
    assert any("adds 'finish'" in r for r in vet.rephrase_reasons(
        "This desk has 4 memory presets and a black finish.", "This desk has 4 memory presets and comes in black.",
        "Elevo Standing Desk", []))
    assert any("adjective as a noun" in r for r in vet.rephrase_reasons(
        "This scooter is a foldable and weighs 14.5 kg.", "This scooter weighs 14.5 kg and is foldable.", "Voltra", []))
    assert vet.rephrase_reasons(f"The {case} offers microfibre lining and is made of liquid silicone.", draft, case,
                                [("material", "liquid silicone"), ("lining", "microfibre")]) == []


def test_a_model_sentence_keeps_the_product_name_as_written_and_a_catch_all_category_names_no_use():
    from copywriter.ml import plan

    vase = "OddCroft Multicoloured Chevron Print Ceramic Flower Vase"
    assert "alters the product's name" in vet.subject_reasons(
        f"The {vase.replace('Ceramic', 'Ceramics')} is made with care.", vase, "OddCroft", "vase", False)
    # Myntra's loader files every row under "Fashion": a vase is not clothing "made for everyday wear"
    facts = ProductFacts.build(title=vase, category="Fashion", attributes={"gender": "Unisex"})
    assert plan.family_of(facts) is None
    assert plan.family_of(ProductFacts.build(title="Kazo Women Green Solid Top", category="Fashion",
                                             attributes={"gender": "Women"})).name == "clothing"
