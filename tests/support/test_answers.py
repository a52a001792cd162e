"""Answers through the shared language-model runtime (the real SmolLM2 GGUF, real PostgreSQL): the demo store's
return policy keeps "within 30 days", a product question is answered from the product's facts, and the
independent audit (quantulum3) agrees with the answerer's own qualifier check."""

from __future__ import annotations

import pytest

from ecomops.models import Product
from support.ml.answering import Evidence, Passage, passage_facts, select_evidence, sentence_vetted
from support.ml.audit import audit_answer
from support.ml.grounding import missing_qualifiers, qualifiers_in
from support.models import KnowledgeEntry
from support.services.answering import answer_question
from support.services.demo import support_demo_seed
from support.services.knowledge import knowledge_embed_pending, product_card, products_sync

from .test_widget import close_thread_connections  # noqa: F401 - autouse fixture closes worker-thread DB connections

pytestmark = [pytest.mark.django_db]


# --- the qualifier check (no model) ---------------------------------------------------------------------------

@pytest.mark.quick
@pytest.mark.parametrize("answer, dropped", [
    ("You can send back unused items up to 30 days after delivery.", set()),
    ("You can send back items within 30 days of delivery.", {"unused"}),  # the condition is gone
    ("You can return unused items within 30 hours.", {"30 day"}),  # the unit changed
    ("You can return unused items for a month.", {"30 day", "within"}),
])
def test_missing_qualifiers_sees_dropped_conditions_numbers_and_units(answer, dropped):
    source = "Unused items can be returned within 30 days of delivery."
    assert {q.key for q in missing_qualifiers(source, answer)} == dropped


@pytest.mark.quick
def test_product_codes_and_units_are_qualifiers():
    keys = {q.key for q in qualifiers_in("Battery life: 40 h. Water resistance: IPX5. Orders before 2 pm.")}
    assert {"40 hour", "ipx5", "2 pm", "before"} <= keys
    assert not missing_qualifiers("Battery life: 40 h.", "The battery lasts 40 hours.")


@pytest.mark.quick
def test_product_card_lists_each_fact_as_a_sentence_naming_the_product():
    product = Product(title="Auralis Earbuds", sku="AU-1", price="79.00", currency="EUR", stock=3,
                      attributes={"battery_life": "40 h", "water_resistance": "IPX5"})
    facts = passage_facts(Passage(1, product.title, product_card(product), kind="product"))
    assert "Auralis Earbuds — battery life: 40 h." in facts and "Auralis Earbuds — water resistance: IPX5." in facts


@pytest.mark.quick
def test_a_sentence_that_negates_or_drops_a_fact_is_not_vetted():
    fact = "Auralis Earbuds — water resistance: IPX5."
    assert not sentence_vetted("No, the earbuds are not waterproof.", [fact], "are the earbuds waterproof?")
    assert not sentence_vetted("The earbuds are water resistant.", [fact], "are the earbuds waterproof?")
    assert sentence_vetted("The Auralis Earbuds are water resistant to IPX5.", [fact], "are the earbuds waterproof?")


@pytest.mark.quick
def test_the_audit_is_independent_and_sees_a_dropped_time_limit():
    source = ["Unused items can be returned within 30 days of delivery. Refunds take 5 business days."]
    kept = audit_answer("what is your return policy?", "You can send unused items back up to thirty days after delivery.",
                        source)
    assert kept.dropped == [] and kept.grounded  # "thirty days" read by quantulum3, not by our regexes
    dropped = audit_answer("what is your return policy?", "You can return unused items after delivery.", source)
    assert "30 day" in dropped.dropped and "within" in dropped.dropped
    invented = audit_answer("what is your return policy?", "You can return unused items within 60 days.", source)
    assert not invented.grounded and invented.added == ["60 day"]
    # "after we receive the return" states no receipt condition (a five-letter stem read it as "receipt")
    refund = ["Money is paid back within 10 days after we receive the return."]
    assert audit_answer("when do I get my money back?", "You get your money back within 10 days after we receive "
                        "the return.", refund).dropped == []
    assert "receipt" in audit_answer("can I return it?", "You can return it if you need to.",
                                     ["Returns need the receipt."]).dropped


def test_evidence_for_a_product_question_is_the_facts_it_asks_about():
    card = product_card(Product(title="Auralis Earbuds", sku="AU-1", price="79.00", currency="EUR", stock=3,
                                attributes={"battery_life": "40 h", "water_resistance": "IPX5", "colour": "graphite",
                                            "connectivity": "Bluetooth 5.3"}))
    evidence = select_evidence("are the earbuds waterproof, what's the battery life?",
                               [Passage(1, "Auralis Earbuds", card, kind="product", score=0.6)])
    texts = " ".join(e.text for e in evidence)
    assert "IPX5" in texts and "40 h" in texts and "graphite" not in texts
    assert all(isinstance(e, Evidence) and e.n == 1 for e in evidence)


# --- the real model through the pipeline ------------------------------------------------------------------------

pytest_slow = pytest.mark.slow


def _cited_texts(reply) -> list[str]:
    return [KnowledgeEntry.objects.get(pk=s["id"]).text for s in reply.sources if s["cited"]]


@pytest_slow
def test_the_demo_return_policy_answer_keeps_within_30_days(team_classifier, store, settings):
    settings.SUPPORT_LM_TIMEOUT_S = 600  # about what is said, not speed (bench/support.py); the CI machine is shared
    support_demo_seed(store)
    knowledge_embed_pending(store=store)
    shown: list[str] = []
    r = answer_question(store=store, question="What is your return policy?", use_lm=True, on_token=shown.append)
    assert not r.handoff and r.grounded and r.mode in {"generated", "mixed", "extractive"}
    assert "within 30 days" in r.answer
    audit = audit_answer("What is your return policy?", r.answer, _cited_texts(r))
    assert audit.grounded and audit.dropped == [], audit
    assert "".join(shown).strip() == r.answer  # what streamed is exactly the vetted answer


@pytest_slow
def test_a_product_question_is_answered_from_the_products_facts(team_classifier, store, settings):
    settings.SUPPORT_LM_TIMEOUT_S = 600
    Product.objects.create(store=store, sku="AU-EB-40", title="Auralis Wireless Earbuds", brand="Auralis",
                           category="Electronics > Audio", price="79.00", currency="EUR", stock=12,
                           attributes={"battery_life": "40 h", "water_resistance": "IPX5", "colour": "graphite"})
    Product.objects.create(store=store, sku="CL-KT-17", title="Copperleaf Electric Kettle", price="49.00", currency="EUR",
                           stock=4, attributes={"capacity": "1.7 l", "warranty": "2 years"})
    products_sync(store=store)
    knowledge_embed_pending(store=store)
    r = answer_question(store=store, question="are the earbuds waterproof, what's the battery life?", use_lm=True)
    assert not r.handoff and r.grounded
    assert "IPX5" in r.answer and "40" in r.answer
    cited = [s for s in r.sources if s["cited"]]
    assert [s["title"] for s in cited] == ["Auralis Wireless Earbuds"] and cited[0]["kind"] == "product"
    assert audit_answer("are the earbuds waterproof, what's the battery life?", r.answer, _cited_texts(r)).dropped == []


# --- the deterministic own-words rewrite and product naming (no model) ----------------------------------------

@pytest.mark.quick
@pytest.mark.parametrize("source, expected", [
    ("Unused items can be returned within 30 days of delivery.",
     "You can return unused items within 30 days of delivery."),
    ("Gift cards are valid for 24 months from the date of purchase.",
     "Your gift card is valid for 24 months from the date of purchase."),
    ("Orders placed before 2 pm ship the same business day.",
     "If you order before 2 pm, your order ships the same business day."),
    ("Auralis Earbuds — battery life: 40 h.", "The Auralis Earbuds have a battery life of 40 h."),
    ("Copperleaf Kettle — dishwasher safe: no.", "The Copperleaf Kettle is not dishwasher safe."),
    # keys without a frame of their own go through the copywriter's realiser (by the value's kind)
    ("Lindholm Oak Bookshelf — assembly required: yes.", "The Lindholm Oak Bookshelf requires assembly."),
    ("Kestrel Carbon Tennis Racket — strung: no.", "The Kestrel Carbon Tennis Racket is not strung."),
    ("Solano Yoga Mat — thickness: 6 mm.", "The Solano Yoga Mat is 6 mm thick."),
    ("Please contact us for details.", None),  # no rule fits: the caller quotes it
])
def test_own_words_turns_a_source_sentence_to_the_customer(source, expected):
    from support.ml.rewrite import own_words

    got = own_words(source)
    assert got == expected
    if expected is not None:
        assert not missing_qualifiers(source, got)


@pytest.mark.quick
def test_a_rewrite_keeps_qualifiers_and_a_leaking_sentence_is_refused():
    from support.ml.answering import _leaks

    fact = "Shoes can be returned unworn, with tags, within 30 days of delivery."
    assert _leaks("You can return shoes within 30 days, renewed twice online.", [fact], "can I return shoes?") == [
        "online", "renewed", "twice"]
    assert _leaks("You can return shoes unworn, with tags, within 30 days of delivery.", [fact], "q") == []


@pytest.mark.quick
def test_a_product_the_question_names_is_a_passage_whatever_its_cosine():
    from support.ml.answering import MIN_PASSAGE_SCORE, named_products, with_named_products

    products = [(1, "Auralis Wireless Earbuds"), (2, "Copperleaf Electric Kettle"), (3, "Mira Botanics Face Cream")]
    assert named_products("are the earbuds waterproof, what's the battery life?", products) == [1]
    assert named_products("can I put the kettle in the dishwasher", products) == [2]
    assert named_products("is the Mira ok for sensitive skin", products) == [3]
    assert named_products("what is your return policy?", products) == []
    assert named_products("do you sell wireless chargers?", products) == []  # a generic title word names nothing
    faq = Passage(10, "Do you ship internationally?", "We ship to the EU.", score=0.3)
    card = Passage(1, "Auralis Wireless Earbuds", "Auralis Wireless Earbuds (SKU A). Battery life: 40 h.",
                   kind="product", score=0.31)
    out = with_named_products("are the earbuds waterproof?", [faq], [card])
    assert [p.entry_id for p in out] == [1, 10] and out[0].score == MIN_PASSAGE_SCORE


@pytest.mark.quick
def test_sentences_the_small_model_wrote_that_must_not_pass():
    """Measured SmolLM2 sentences (evaluate_support, 04:31 UTC) that the former checks let through."""
    kettle = "Copperleaf Electric Kettle — dishwasher safe: no."
    said_yes = "The Electric Kettle is safe to use, and you can put it in the dishwasher."
    assert not sentence_vetted(said_yes, [kettle], "Can I put the electric kettle in the dishwasher?")
    assert "negation" in audit_answer("Can I put the kettle in the dishwasher?", said_yes, [kettle]).dropped
    assert not sentence_vetted("The Electronics Company offers a 2-year warranty against manufacturing defects.",
                               ["Electronics carry a 2-year warranty against manufacturing defects."], "q")
    assert not sentence_vetted("The Mira Botanics Face Cream is a popular face cream that can help with sensitive skin.",
                               ["Mira Botanics Face Cream — skin type: sensitive."], "is it ok for sensitive skin?")
    assert sentence_vetted("The Auralis earbuds have a battery life of 40 hours.",
                           ["Auralis Wireless Earbuds — battery life: 40 h."], "how long does the battery last")
    assert not sentence_vetted("The Fjordwalk Trail Backpack is a 5-year warranty.",
                               ["Fjordwalk Trail Backpack — warranty: 5 years."], "what's the warranty?")
    assert not sentence_vetted(  # "return shipping" is a claim the source does not make
        "The Express Shipping is 1 to 2 business days, and the return shipping takes 3 to 5 business days.",
        ["Standard shipping takes 3 to 5 business days; express shipping takes 1 to 2 business days."], "q")


@pytest.mark.quick
def test_a_yes_answers_only_a_yes_no_question_its_source_states():
    """A 135M model answers "Yes" to what its fact does not say: every content word of the question must be in the
    source, the source must not say no, and the question must be a yes/no one."""
    from support.ml.answering import yes_fits

    mat = ["Solano Yoga Mat — non slip: yes."]
    assert not sentence_vetted("Yes, the Solano Yoga Mat is non slip.", mat, "is the solano mat slippery?")
    assert sentence_vetted("The Solano Yoga Mat is non slip.", mat, "is the solano mat slippery?")
    card = ["Gift cards are valid for 24 months from the date of purchase."]
    assert not yes_fits("Yes, gift cards are valid for 24 months from the date of purchase.", card,
                        "my gift card is from last year, can I still use it?")
    food = ["Opened pet food cannot be returned for hygiene reasons."]
    assert not yes_fits("Yes, opened pet food cannot be returned for hygiene reasons.", food, "can I return opened food?")
    shipping = ["Standard shipping is free on orders over 50 EUR; below that it costs 4.95 EUR."]
    assert yes_fits("Yes, standard shipping is free on orders over 50 EUR.", shipping, "is shipping free?")
    assert not yes_fits("Yes, standard shipping is free on orders over 50 EUR.", shipping, "how much is shipping?")
    assert yes_fits("Standard shipping is free on orders over 50 EUR.", shipping, "how much is shipping?")


def test_best_of_n_keeps_a_vetted_candidate_and_refuses_the_rest():
    """best_candidate over real MiniLM: a candidate that drops a qualifier, one that adds a fact and one that copies
    the source never win; of the vetted ones the closest to source and question does."""
    from support.ml import embedder
    from support.ml.answering import best_candidate

    ev = Evidence(1, "Unused items can be returned within 30 days of delivery.")
    question = "how many days do i have to send something back"
    pool = ["You can return items within 30 days of delivery.",  # drops "unused"
            "You can return unused items within 60 days of delivery.",  # a number the source lacks
            "Unused items can be returned within 30 days of delivery.",  # a copy, not own words
            "You can return unused items within 30 days of delivery.",
            "You have 30 days."]  # drops "unused", "within"
    assert best_candidate(pool, ev, question, embedder.embed) == "You can return unused items within 30 days of delivery."
    assert best_candidate(pool[:3], ev, question, embedder.embed) is None


@pytest.mark.slow
def test_n_sampled_candidates_come_from_one_chat_batch_and_differ():
    """The real runtime: N copies of one prompt in one chat_batch are sampled with different seeds, so best of N has
    N different tries to choose from (greedy would give N equal ones)."""
    from support.ml.answering import sample_candidates
    from support.services.answering import language_model

    ev = Evidence(1, "Gift wrapping costs 3 EUR per item and can be added at checkout.")
    pools = sample_candidates(language_model(), [(ev, "Can you wrap my order as a present?")], n=6)
    assert len(pools) == 1 and len(pools[0]) == 6
    assert len(set(pools[0])) >= 3, pools


@pytest.mark.quick
def test_a_number_word_inside_another_word_is_no_qualifier():
    """"Tennis" holds "ten", "phone" holds "one": read as numbers, every answer about a tennis racket "dropped" a
    10 and was quoted instead."""
    from support.ml.grounding import qualifiers_in

    assert [q.key for q in qualifiers_in("Kestrel Carbon Tennis Racket — weight: 300 g.")] == ["300 g"]
    assert "10 day" in [q.key for q in qualifiers_in("Returns are accepted within ten days.")]


@pytest.mark.quick
def test_a_doubled_word_is_refused():
    """SmolLM2 wrote "The Kestrel Carbon Carbon Racket has an L2 grip size.": every word is the source's, the name
    is not."""
    from support.ml.answering import sentence_vetted

    fact = "Kestrel Carbon Tennis Racket — grip size: L2."
    assert not sentence_vetted("The Kestrel Carbon Carbon Racket has an L2 grip size.", [fact], "what grip size?")
