"""Descriptions a small model can get right: plan the content, let the LM realise one sentence at a time, vet
every sentence, and replace the ones that fail with a well-formed sentence built from the facts.

The pipeline for a product (:func:`write_drafts` does many products at once, :func:`stream_draft` one, live):

1. :func:`copywriter.ml.plan.plan_content`: an opening sentence (what it is, who it is for), 2-4 body sentences
   of 1-3 facts each, a closing sentence for medium/long copy; each planned sentence comes with a draft built
   from its facts.
2. the LM rewrites each draft into a natural sentence from its few facts (:meth:`LanguageModel.chat_batch`: the
   sentences of every product in the batch decode together);
3. :mod:`copywriter.ml.vet` + :mod:`copywriter.ml.relevance`: style, loops, fact support, the planned facts
   present, on-topic, no contradicting product type;
4. a failing sentence is regenerated once (``n_candidates`` samples, the best passing one by relevance wins),
   and if none passes the plan's own sentence stands in.

The description is prose only; attribute highlights stay in ``bullets``. The draft keeps an honest report:
unsupported facts and off-topic sentences that are still there (only a stand-in sentence can carry one).

No Django; the model is any :class:`ecomops.ml.llm.LanguageModel`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import facts as factlib
from . import grounding, relevance, sense, vet
from . import plan as planlib
from .inputs import (  # noqa: F401  (re-exported: callers import these from here)
    LENGTH_WORDS,
    MAX_ATTRIBUTES,
    MAX_VALUE_CHARS,
    TONES,
    BadProductInput,
    Options,
    ProductFacts,
)

# the whole-description prompt: what fine-tuning trains on (copywriter.ml.train) and bench/copywriter.py times
SYSTEM_PROMPT = (
    "You write product descriptions for an online shop. Use only the facts given. "
    "Never invent materials, sizes, numbers, certifications, warranties or brand names."
)
SENTENCE_SYSTEM = "Rewrite the draft as one natural sentence for an online shop. Keep every fact. Add nothing."
# worked examples per sentence role, from products no catalogue row shares: the 135M model follows the format far
# more often with them. Every word of every answer is licensed (copywriter.ml.grounding): the product's own words
# or generic copy words, so the examples never teach the model to add details; and none adds praise or filler
# (an earlier "… is ready for everyday use" and "easy to move" came back in most of the model's sentences, and a
# merchandiser struck them: vet.model_reasons refuses them now). An example that merged a clause sentence into the
# next ("This sage green lamp has a linen shade …") was tried and dropped: the model then renamed the product in
# most body sentences ("This case has …", "This reefwell 100W aquarium heater …"). Kept short on purpose: prompt
# tokens dominate the cost of a one-sentence answer on a small CPU.
ROLE_SHOTS = {
    "opening": (
        ("Product: Hydro Bottle (bottle)\nDraft: Made of stainless steel, the Hydro Bottle holds 750 ml and keeps "
         "drinks cold for 24 hours.",
         "Made of stainless steel, the Hydro Bottle holds 750 ml and keeps your drinks cold for 24 hours."),
        ("Product: Atlas Desk Lamp (lamp)\nDraft: The Atlas Desk Lamp has 3 brightness levels and a 1.5 m cable.",
         "The Atlas Desk Lamp offers 3 brightness levels and comes with a 1.5 m cable."),
    ),
    "body": (
        ("Product: Hydro Bottle (bottle)\nDraft: It has a bamboo lid and a powder-coated finish.",
         "A bamboo lid sits on top, and the finish is powder-coated."),
        ("Product: Atlas Desk Lamp (lamp)\nDraft: This lamp weighs 1.2 kg and comes in sage green.",
         "This lamp comes in sage green and weighs just 1.2 kg."),
    ),
}
TONE_HINTS = {
    "neutral": "",
    "premium": "refined and elegant",
    "playful": "warm, upbeat and playful",
    "technical": "precise and technical",
}
SENTENCE_MAX_TOKENS = 64
FIRST_TEMPERATURE = 0.6  # best-of-N: N samples of every planned sentence in one batch, ranked by the sense score
RETRY_TEMPERATURE = 0.4  # lower: fewer invented openers and predicates in the resample
N_FIRST = 3
STANDIN_MARGIN = 0.3  # nats of mean token log-prob: how much better the stand-in must read to replace the model


class GenerationStopped(Exception):
    """The caller's ``should_stop`` ended a batch before it finished (a cancelled job)."""


@dataclass
class Draft:
    description: str
    bullets: list[str]
    meta_title: str
    meta_description: str
    unsupported_facts: list[dict]
    covered_attributes: list[str]
    missing_attributes: list[str]
    source: str  # "<model label>" (every sentence the model's), "<label>+template" (some stand-ins), "template"
    raw_text: str
    warnings: list[str]
    length_fit: float
    new_tokens: int = 0
    offtopic_sentences: list[dict] = field(default_factory=list)
    sentences: list[dict] = field(default_factory=list)  # [{"text", "source", "attributes", "rejected": [...]}]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- prompts ---------------------------------------------------------------------------------------------

def facts_block(facts: ProductFacts) -> str:
    lines = [f"Product: {facts.title}"]
    if facts.brand:
        lines.append(f"Brand: {facts.brand}")
    if facts.category:
        lines.append(f"Category: {facts.category}")
    lines += [f"{k.replace('_', ' ')}: {v}" for k, v in facts.attributes.items()]
    return "\n".join(lines)


def build_prompt(facts: ProductFacts, options: Options) -> str:
    """The whole-description user message (fine-tuning targets and the speed bench use it; keep it stable)."""
    tone = options.brand_voice if options.tone == "brand" and options.brand_voice else TONE_HINTS.get(
        options.tone, "clear and factual")
    parts = ["Facts:", facts_block(facts), "",
             f"Write a {tone} product description of about {options.target_words} words using only these facts."]
    if options.audience:
        parts.append(f"Audience: {options.audience}.")
    if options.keywords:
        parts.append(f"Include the words: {', '.join(options.keywords)}.")
    if options.avoid_words:
        parts.append(f"Do not use the words: {', '.join(options.avoid_words)}.")
    return "\n".join(parts)


def render_prompt(tokenizer: Any, facts: ProductFacts, options: Options) -> str:
    from . import lm

    return lm.chat_prompt(tokenizer, build_prompt(facts, options), system=SYSTEM_PROMPT)


def max_new_tokens_for(options: Options) -> int:
    return int(options.target_words * 1.45) + 16


def _tone(options: Options) -> str:
    if options.tone == "brand" and options.brand_voice:
        return options.brand_voice[:200]
    return TONE_HINTS.get(options.tone, "")


def sentence_messages(facts: ProductFacts, plan: planlib.ContentPlan, planned: planlib.PlannedSentence,
                      options: Options) -> list[dict]:
    """One planned sentence: the product, its draft (which already states exactly its facts) and the style in
    the system message (a 135M model copies style words it sees next to the draft into the sentence)."""
    system = SENTENCE_SYSTEM
    tone = _tone(options)
    if tone:
        system += f" Tone: {tone}."
    if options.audience:
        system += f" Readers: {options.audience}."
    if planned.role == "opening" and options.keywords:
        system += " Use the words: " + ", ".join(options.keywords) + "."
    if options.avoid_words:
        system += " Never use the words: " + ", ".join(options.avoid_words) + "."
    messages = [{"role": "system", "content": system}]
    for u, a in ROLE_SHOTS.get(planned.role, ROLE_SHOTS["body"]):
        messages += [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
    messages.append({"role": "user", "content": f"Product: {facts.title} ({plan.noun.text})\nDraft: {planned.draft}"})
    return messages


# --- SEO fields and highlights ---------------------------------------------------------------------------

def bullets_for(facts: ProductFacts) -> list[str]:
    return [f"{k.replace('_', ' ').capitalize()}: {v}" for k, v in list(facts.attributes.items())[:8]]


def _cut(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


def meta_title_for(facts: ProductFacts) -> str:
    title = facts.title
    if facts.brand and facts.brand.lower() not in title.lower() and len(title) + len(facts.brand) + 3 <= 60:
        title = f"{title} | {facts.brand}"
    return _cut(title, 60)


def meta_description_for(description: str) -> str:
    return _cut(description, 155)


def length_fit(text: str, target_words: int) -> float:
    """1.0 at the target length, falling linearly to 0 at 0 or 2x the target."""
    n = len(text.split())
    return max(0.0, 1.0 - abs(n - target_words) / target_words)


def source_for(facts: ProductFacts, options: Options) -> factlib.Source:
    """What a sentence may state: the product input, plus the merchant's keywords and audience (style only)."""
    extra = dict(facts.attributes)
    if options.keywords:
        extra["__keywords"] = ", ".join(options.keywords)
    if options.audience:
        extra["__audience"] = options.audience
    src = factlib.Source.from_product(facts.title, facts.brand, facts.category, extra)
    src.attributes = dict(facts.attributes)  # style-only entries count as support, not as attributes to cover
    return src


# --- vetting ---------------------------------------------------------------------------------------------

@dataclass
class _Slot:
    product: int
    planned: planlib.PlannedSentence
    chosen: str = ""
    source: str = ""
    raw: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    best_score: float = -1e9
    best_lm: float | None = None


def vet_sentences(items: Sequence[tuple[ProductFacts, factlib.Source, planlib.PlannedSentence, str]],
                  options: Options, model: Any = None) -> list[vet.SentenceVerdict]:
    """Style, loop, facts and planned-facts checks per sentence, the sense check (:mod:`copywriter.ml.sense`:
    "made of" a material, openers from the facts, a predicate the product can be, and the LM acceptability score
    when ``model`` can score), then relevance for all of them in one pass."""
    verdicts = []
    extra = grounding.style_extra(options.keywords, options.audience)
    licensed: dict[int, set[str]] = {}
    named: dict[int, tuple[str, planlib.Noun]] = {}  # per product: its words as one text, and its noun
    for facts, src, planned, text in items:
        v = vet.SentenceVerdict(text, vet.style_reasons(text, options.avoid_words))
        if text:
            reasons, unsupported = vet.fact_reasons(text, src, planned.attributes)
            v.reasons += reasons
            v.unsupported = unsupported
            if id(facts) not in named:
                named[id(facts)] = (" ".join([facts.title, facts.brand, facts.category, *facts.attributes,
                                              *facts.attributes.values(), *extra]), planlib.product_noun(facts))
            facts_text, noun = named[id(facts)]
            v.reasons += vet.model_sentence_reasons(
                text, facts_text=f"{facts_text} {planned.draft}", title=facts.title, brand=facts.brand,
                noun=noun.text, plural=noun.plural, draft=planned.draft,
                planned=[(a, facts.attributes[a]) for a in planned.attributes if a in facts.attributes])
            lic = licensed.setdefault(id(facts), grounding.licensed_roots(facts, extra))
            invented = grounding.invented_words(text, facts, licensed=lic)
            if invented:
                v.reasons.append("invents " + ", ".join(repr(w) for w in invented[:6]))
        verdicts.append(v)
    # the LM score only for sentences that passed everything else (scoring costs a forward pass each)
    scorable = [i for i, v in enumerate(verdicts) if v.text and not v.reasons]
    sense_vs = sense.check([(items[i][0], verdicts[i].text) for i in scorable], model,
                           roles=[items[i][2].role for i in scorable])
    for i, sv in zip(scorable, sense_vs, strict=True):
        verdicts[i].reasons += sv.reasons
        verdicts[i].lm_score = sv.lm_score
    todo = [i for i, v in enumerate(verdicts) if v.text]
    by_product: dict[int, list[int]] = {}
    for i in todo:
        by_product.setdefault(id(items[i][0]), []).append(i)
    groups = list(by_product.values())
    scored = relevance.score_sentences([(items[g[0]][0], [verdicts[i].text for i in g]) for g in groups])
    for g, rels in zip(groups, scored, strict=True):
        for i, r in zip(g, rels, strict=True):
            verdicts[i].relevance = r.score
            if verdicts[i].lm_score is not None and r.score is not None:
                # rerank passing candidates by fluency (LM score), relevance breaking near-ties
                verdicts[i].rank_score = verdicts[i].lm_score + 0.5 * r.score
            if r.off_topic:
                verdicts[i].reasons.append(f"off-topic (relevance {r.score:.2f})")
            if r.contradiction:
                verdicts[i].reasons.append(f"names another product type ({r.contradiction})")
    return verdicts


def _complete(model: Any, conversations: list[list[dict]], *, temperature: float, seed: int | None,
              should_stop: Callable[[], bool] | None) -> list[tuple[str, int]]:
    from ecomops.ml import llm

    kw = dict(max_tokens=SENTENCE_MAX_TOKENS, temperature=temperature, top_p=0.95, repeat_penalty=1.15,
              stop=["\n"], seed=seed)
    if should_stop is not None:
        kw["should_stop"] = should_stop
    try:
        if hasattr(model, "complete_batch"):
            return [(c.text, c.n_tokens) for c in model.complete_batch(conversations, **kw)]
        texts = model.chat_batch(conversations, **kw)
    except getattr(llm, "LMStopped", GenerationStopped) as exc:
        raise GenerationStopped(str(exc)) from None
    return [(t, model.count_tokens(t)) for t in texts]


@dataclass
class BulkStats:
    new_tokens: int = 0
    seconds: float = 0.0
    sentences: int = 0
    model_sentences: int = 0

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


def write_drafts(model: Any, products: Sequence[ProductFacts], options: Options, *, n_candidates: int = 2,
                 n_first: int = N_FIRST,
                 seed: int = 0, source_label: str = "model", stats: BulkStats | None = None,
                 should_stop: Callable[[], bool] | None = None) -> list[Draft]:
    """Drafts for many products: ``n_first`` candidates of every planned sentence of every product decode in one
    batch (best-of-N, the best passing one by the sense score wins), then the sentences with no passing candidate
    are resampled (``n_candidates`` each, cooler) in a second batch; what still fails gets its stand-in.

    ``should_stop`` (polled while decoding) cancels: :class:`GenerationStopped`, nothing returned."""
    if not products:
        return []
    stats = stats if stats is not None else BulkStats()
    plans = [planlib.plan_content(f, options) for f in products]
    srcs = [source_for(f, options) for f in products]
    slots = [_Slot(pi, ps) for pi, p in enumerate(plans) for ps in p.sentences]
    convs = [sentence_messages(products[s.product], plans[s.product], s.planned, options) for s in slots]

    def run_round(indices: list[int], copies: int, temperature: float, round_seed: int | None) -> None:
        todo = [i for i in indices for _ in range(copies)]
        if not todo:
            return
        t0 = time.perf_counter()
        outs = _complete(model, [convs[i] for i in todo], temperature=temperature, seed=round_seed,
                         should_stop=should_stop)
        stats.seconds += time.perf_counter() - t0
        stats.new_tokens += sum(n for _, n in outs)
        texts = [vet.clean_sentence(t) for t, _ in outs]
        # the same candidate twice (samples often agree) is vetted, and LM-scored, once
        unique = list(dict.fromkeys(zip(todo, texts, strict=True)))
        vetted = dict(zip(unique, vet_sentences([(products[slots[i].product], srcs[slots[i].product],
                                                  slots[i].planned, t) for i, t in unique], options, model),
                          strict=True))
        verdicts = [vetted[(i, t)] for i, t in zip(todo, texts, strict=True)]
        for i, (raw, _), v in zip(todo, outs, verdicts, strict=True):
            slot = slots[i]
            slot.raw.append(raw)
            score = v.rank_score if v.rank_score is not None else (v.relevance or 0.0)
            if v.ok and score > slot.best_score and not slot.source:
                slot.best_score = score
                slot.chosen = v.text
                slot.best_lm = v.lm_score
            elif not v.ok:
                slot.rejected.append({"text": v.text or raw, "reasons": v.reasons})
        for i in set(todo):
            if slots[i].chosen:
                slots[i].source = "model"

    if n_first <= 1:
        run_round(list(range(len(slots))), 1, 0.0, None)
    else:
        run_round(list(range(len(slots))), n_first, FIRST_TEMPERATURE, seed + 7919)
    failed = [i for i, s in enumerate(slots) if not s.chosen]
    run_round(failed, max(1, n_candidates), RETRY_TEMPERATURE, seed)
    _prefer_better_stand_ins(model, products, slots)
    for s in slots:
        if not s.chosen:
            s.chosen, s.source = s.planned.draft, "template"
    stats.sentences += len(slots)
    stats.model_sentences += sum(1 for s in slots if s.source == "model")
    per_product: list[list[_Slot]] = [[] for _ in products]
    for s in slots:
        per_product[s.product].append(s)
    drafts = [assemble(f, options, group, source_label=source_label) for f, group in zip(products, per_product,
                                                                                           strict=True)]
    _attach_relevance(products, drafts)
    # tokens are counted per batch; each product gets its share by its number of sentences
    share = stats.new_tokens / max(1, len(slots))
    for d, group in zip(drafts, per_product, strict=True):
        d.new_tokens = int(round(share * len(group)))
    return drafts


def _prefer_better_stand_ins(model: Any, products: Sequence[ProductFacts], slots: Sequence[_Slot]) -> None:
    """The stand-in competes too: a passing model sentence that reads clearly worse than the plan's own sentence
    under the LM (mean token log-prob lower by more than STANDIN_MARGIN) gives way to it."""
    todo = [s for s in slots if s.source == "model" and s.best_lm is not None
            and s.chosen.strip() != s.planned.draft.strip()]
    if not todo:
        return
    scores = sense.lm_scores(model, [(products[s.product], s.planned.draft) for s in todo])
    for s, base in zip(todo, scores, strict=True):
        if base is not None and base - s.best_lm > STANDIN_MARGIN:
            s.rejected.append({"text": s.chosen, "reasons": [
                f"reads worse than the stand-in (LM {s.best_lm:.2f} < {base:.2f} - {STANDIN_MARGIN})"]})
            s.chosen, s.source = "", ""


def assemble(facts: ProductFacts, options: Options, slots: Sequence[_Slot], *, source_label: str) -> Draft:
    """The chosen sentences in plan order (a repeated sentence once), the keyword sentence if a keyword is
    still missing, and the full facts report."""
    texts, seen, records = [], set(), []
    for s in slots:
        key = re.sub(r"\W+", " ", s.chosen.lower()).strip()
        if not s.chosen or key in seen:
            continue
        seen.add(key)
        texts.append(s.chosen)
        records.append({"text": s.chosen, "source": s.source, "role": s.planned.role,
                        "attributes": s.planned.attributes, "rejected": s.rejected[:4]})
    description = " ".join(texts)
    missing_kw = [k for k in options.keywords if k.lower() not in description.lower()]
    if missing_kw:
        extra = planlib.keyword_sentence(missing_kw)
        description += " " + extra
        records.append({"text": extra, "source": "template", "role": "keywords", "attributes": [], "rejected": []})
    description = re.sub(r"\s+", " ", description).strip()
    report = factlib.check_facts(description, source=source_for(facts, options))
    sources = {r["source"] for r in records if r["role"] != "keywords"}
    label = "template" if sources <= {"template"} else source_label if sources == {"model"} \
        else f"{source_label}+template"
    return Draft(
        description=description,
        bullets=bullets_for(facts),
        meta_title=meta_title_for(facts),
        meta_description=meta_description_for(description),
        unsupported_facts=report.unsupported_facts,
        covered_attributes=report.covered_attributes,
        missing_attributes=report.missing_attributes,
        source=label[:40],
        raw_text="\n".join(r for s in slots for r in s.raw),
        warnings=list(facts.warnings),
        length_fit=round(length_fit(description, options.target_words), 4),
        sentences=records,
    )


def _attach_relevance(products: Sequence[ProductFacts], drafts: Sequence[Draft]) -> None:
    """The final off-topic report of each draft (stand-in sentences included), all products in one pass."""
    items = [(f, [s for _, _, s in factlib.split_sentences(d.description)]) for f, d in zip(products, drafts,
                                                                                          strict=True)]
    for d, verdicts in zip(drafts, relevance.score_sentences(items), strict=True):
        d.offtopic_sentences = [r.as_dict() for r in verdicts if not r.ok]


def template_draft(facts: ProductFacts, options: Options) -> Draft:
    """The deterministic baseline: every planned sentence as built from the facts, no model."""
    plan = planlib.plan_content(facts, options)
    slots = [_Slot(0, ps, ps.draft, "template") for ps in plan.sentences]
    d = assemble(facts, options, slots, source_label="template")
    _attach_relevance([facts], [d])
    return d


def rank(d: Draft) -> tuple:
    """Best-of-N order: no unsupported fact, no off-topic sentence, then coverage, then length fit."""
    total = len(d.covered_attributes) + len(d.missing_attributes)
    coverage = 1.0 if total == 0 else len(d.covered_attributes) / total
    return (not d.unsupported_facts, not d.offtopic_sentences, coverage, d.length_fit)


def choose_best(candidates: Sequence[Draft]) -> Draft:
    return max(candidates, key=rank)


# --- one product, live -----------------------------------------------------------------------------------

@dataclass
class SentenceEvent:
    """One vetted sentence, ready to show: only these ever reach the browser, never raw tokens."""

    index: int
    text: str
    source: str  # "model" or "template"
    total: int  # planned sentences


def stream_draft(model: Any, facts: ProductFacts, options: Options, *, seed: int = 0, source_label: str = "model",
                 should_stop: Callable[[], bool] | None = None) -> Iterator[SentenceEvent | Draft]:
    """Yield each sentence once it has passed every check (model sentence, one resample, or its stand-in),
    then the finished :class:`Draft`. Stops quietly (no Draft) when ``should_stop`` fires."""
    t0 = time.perf_counter()
    plan = planlib.plan_content(facts, options)
    src = source_for(facts, options)
    slots: list[_Slot] = []
    n_tokens = 0
    for index, planned in enumerate(plan.sentences):
        slot = _Slot(0, planned)
        msgs = sentence_messages(facts, plan, planned, options)
        for attempt, temperature in enumerate((0.0, RETRY_TEMPERATURE)):
            raw = "".join(model.stream_chat(msgs, should_stop=should_stop, max_tokens=SENTENCE_MAX_TOKENS,
                                            temperature=temperature, top_p=0.95, repeat_penalty=1.15,
                                            stop=["\n"], seed=seed + attempt))
            if should_stop is not None and should_stop():
                return
            n_tokens += model.count_tokens(raw)
            slot.raw.append(raw)
            text = vet.clean_sentence(raw)
            verdict = vet_sentences([(facts, src, planned, text)], options, model)[0]
            if verdict.ok:
                slot.chosen, slot.source = verdict.text, "model"
                break
            slot.rejected.append({"text": text or raw, "reasons": verdict.reasons})
        if not slot.chosen:
            slot.chosen, slot.source = planned.draft, "template"
        slots.append(slot)
        yield SentenceEvent(index, slot.chosen, slot.source, len(plan.sentences))
    draft = assemble(facts, options, slots, source_label=source_label)
    _attach_relevance([facts], [draft])
    draft.new_tokens = n_tokens
    draft.warnings.append(f"generated in {time.perf_counter() - t0:.1f} s")
    yield draft


def stream_plan(facts: ProductFacts, options: Options, *,
                should_stop: Callable[[], bool] | None = None) -> Iterator[SentenceEvent | Draft]:
    """The "plan" writer's :func:`stream_draft`: the planner's sentences (no language model), one event each, then
    the :class:`Draft`; stops quietly when ``should_stop`` fires."""
    draft = template_draft(facts, options)
    for i, s in enumerate(draft.sentences):
        if should_stop is not None and should_stop():
            return
        yield SentenceEvent(i, s["text"], s["source"], len(draft.sentences))
    yield draft
