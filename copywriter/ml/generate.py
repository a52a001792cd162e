"""Grounded description generation: facts-only prompts, sampled candidates, constrained post-editing,
and a deterministic template fallback that guarantees every attribute is covered.

The pipeline for one product:
1. ``build_prompt``: a facts-only prompt (the model only sees the input facts and the style options).
2. sample ``n_candidates`` continuations in one batched ``generate`` call (many products at once in bulk).
3. ``finalise``: for each candidate, drop sentences with unsupported claims or avoided words, then append
   template sentences for the attributes it missed; re-check.
4. keep the best by (no unsupported facts, coverage, length fit). A draft that still carries unsupported
   facts keeps them in its report (``unsupported_facts``): it is marked, never silently passed.

No Django here; ``copywriter.services`` feeds plain dicts in and stores the results.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import facts as factlib
from . import lm

TONES = ("neutral", "premium", "playful", "technical", "brand")
LENGTH_WORDS = {"short": 50, "medium": 100, "long": 200}
MAX_ATTRIBUTES = 25
MAX_VALUE_CHARS = 200
SYSTEM_PROMPT = (
    "You write product descriptions for an online shop. Use only the facts given. "
    "Never invent materials, sizes, numbers, certifications, warranties or brand names."
)


class BadProductInput(ValueError):
    """The product cannot be described: no title or no attributes."""


class GenerationStopped(Exception):
    """The caller's ``should_stop`` ended a batch before it finished (a cancelled job)."""


@dataclass
class ProductFacts:
    title: str
    brand: str = ""
    category: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, *, title: str, brand: str = "", category: str = "",
              attributes: Mapping[str, Any] | None = None) -> ProductFacts:
        """Validate and normalise; oversized attribute sets are truncated with a warning."""
        title = (title or "").strip()
        if not title:
            raise BadProductInput("The product has no title.")
        attrs = {str(k).strip(): factlib._flatten(v).strip() for k, v in (attributes or {}).items()
                 if str(k).strip() and factlib._flatten(v).strip()}
        if not attrs:
            raise BadProductInput("The product has no attributes; add at least one (e.g. colour, material).")
        warnings = []
        if len(attrs) > MAX_ATTRIBUTES:
            warnings.append(f"Only the first {MAX_ATTRIBUTES} of {len(attrs)} attributes were used.")
            attrs = dict(list(attrs.items())[:MAX_ATTRIBUTES])
        long_keys = [k for k, v in attrs.items() if len(v) > MAX_VALUE_CHARS]
        for k in long_keys:
            attrs[k] = attrs[k][:MAX_VALUE_CHARS].rsplit(" ", 1)[0]
        if long_keys:
            warnings.append(f"Attribute values truncated to {MAX_VALUE_CHARS} characters: {', '.join(long_keys)}.")
        return cls(title[:300], (brand or "").strip()[:200], (category or "").strip()[:300], attrs, warnings)


@dataclass
class Options:
    tone: str = "neutral"
    brand_voice: str = ""
    length: str = "medium"
    keywords: list[str] = field(default_factory=list)
    avoid_words: list[str] = field(default_factory=list)
    audience: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Options:
        data = dict(data or {})
        tone = data.get("tone") or "neutral"
        length = data.get("length") or "medium"
        if tone not in TONES:
            raise ValueError(f"Unknown tone {tone!r}; choose one of {', '.join(TONES)}.")
        if length not in LENGTH_WORDS:
            raise ValueError(f"Unknown length {length!r}; choose short, medium or long.")
        return cls(tone, str(data.get("brand_voice") or "")[:500], length,
                   _word_list(data.get("keywords")), _word_list(data.get("avoid_words")),
                   str(data.get("audience") or "")[:120])

    @property
    def target_words(self) -> int:
        return LENGTH_WORDS[self.length]


def _word_list(v: Any) -> list[str]:
    if not v:
        return []
    if isinstance(v, str):
        v = v.split(",")
    return [str(x).strip()[:60] for x in v if str(x).strip()][:20]


@dataclass
class Draft:
    description: str
    bullets: list[str]
    meta_title: str
    meta_description: str
    unsupported_facts: list[dict]
    covered_attributes: list[str]
    missing_attributes: list[str]
    source: str  # "model", "model+edited", "template"
    raw_text: str
    warnings: list[str]
    length_fit: float
    new_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- prompting ---------------------------------------------------------------------------------

TONE_HINTS = {
    "neutral": "clear and factual",
    "premium": "refined and elegant, for a premium shop",
    "playful": "warm, upbeat and playful",
    "technical": "precise and technical, focused on specifications",
}


def facts_block(facts: ProductFacts) -> str:
    lines = [f"Product: {facts.title}"]
    if facts.brand:
        lines.append(f"Brand: {facts.brand}")
    if facts.category:
        lines.append(f"Category: {facts.category}")
    lines += [f"{k.replace('_', ' ')}: {v}" for k, v in facts.attributes.items()]
    return "\n".join(lines)


def build_prompt(facts: ProductFacts, options: Options) -> str:
    """The user message: facts first, then style. Also the training prompt, so keep it stable."""
    tone = options.brand_voice if options.tone == "brand" and options.brand_voice else TONE_HINTS.get(
        options.tone, "clear and factual")
    parts = [
        "Facts:",
        facts_block(facts),
        "",
        f"Write a {tone} product description of about {options.target_words} words using only these facts.",
    ]
    if options.audience:
        parts.append(f"Audience: {options.audience}.")
    if options.keywords:
        parts.append(f"Include the words: {', '.join(options.keywords)}.")
    if options.avoid_words:
        parts.append(f"Do not use the words: {', '.join(options.avoid_words)}.")
    return "\n".join(parts)


def render_prompt(tokenizer: Any, facts: ProductFacts, options: Options) -> str:
    return lm.chat_prompt(tokenizer, build_prompt(facts, options), system=SYSTEM_PROMPT)


def max_new_tokens_for(options: Options) -> int:
    return int(options.target_words * 1.45) + 16


# --- deterministic template ----------------------------------------------------------------------

def _attr_phrase(name: str, value: str) -> str:
    label = name.replace("_", " ").strip().lower()
    if value.lower() in {"yes", "true"}:
        return label
    if value.lower() in {"no", "false"}:
        return f"not {label}"
    if label in {"colour", "color", "primary colour", "primary color"}:
        return f"in {value.lower()}"
    if label in {"gender", "audience"}:
        return f"for {value.lower()}"
    if label in {"material", "fabric"}:
        return f"made of {value.lower()}"
    return f"{label}: {value}"


OPENERS = {
    "neutral": "{title}{by}.",
    "premium": "Discover {title}{by}.",
    "playful": "Meet {title}{by}!",
    "technical": "{title}{by}: specifications.",
    "brand": "{title}{by}.",
}


def template_description(facts: ProductFacts, options: Options, attributes: Sequence[str] | None = None) -> str:
    """Every (or the given) attribute in plain sentences: dull, complete, and never invents a fact."""
    by = f" by {facts.brand}" if facts.brand and facts.brand.lower() not in facts.title.lower() else ""
    names = list(attributes) if attributes is not None else list(facts.attributes)
    sentences = [OPENERS.get(options.tone, OPENERS["neutral"]).format(title=facts.title, by=by)] if \
        attributes is None else []
    phrases = [_attr_phrase(k, facts.attributes[k]) for k in names if k in facts.attributes]
    for i in range(0, len(phrases), 3):
        chunk = phrases[i: i + 3]
        sentences.append(("It comes " if i == 0 and attributes is None else "Details: ") + ", ".join(chunk) + ".")
    if attributes is None:
        if facts.category:
            sentences.append(f"Category: {facts.category.split('>')[-1].strip()}.")
        if options.audience:
            sentences.append(f"Made for {options.audience}.")
        if options.keywords:
            sentences.append(f"Keywords: {', '.join(options.keywords)}.")
    return " ".join(sentences)


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


# --- post-editing and selection -------------------------------------------------------------------

_FILLER_RE = re.compile(r"\b(elevate your|look no further|whether you're|in today's|game[- ]changer)\b", re.I)
# the small model sometimes talks about its task instead of the product: such sentences are dropped
_META_RE = re.compile(r"\b(rewritten|revised version|the goal was|original (?:fact|text)|this description|"
                      r"word count|here(?:'s| is) (?:a|the|your)|i hope|let me know|as an ai|facts? (?:given|provided))\b",
                      re.I)


def _source_for(facts: ProductFacts, options: Options) -> factlib.Source:
    extra = dict(facts.attributes)
    if options.keywords:
        extra["__keywords"] = ", ".join(options.keywords)
    if options.audience:
        extra["__audience"] = options.audience
    src = factlib.Source.from_product(facts.title, facts.brand, facts.category, extra)
    # style-only entries count as support, not as attributes to cover
    src.attributes = dict(facts.attributes)
    return src


def length_fit(text: str, target_words: int) -> float:
    """1.0 at the target length, falling linearly to 0 at 0 or 2x the target."""
    n = len(text.split())
    return max(0.0, 1.0 - abs(n - target_words) / target_words)


def clean_model_text(text: str) -> str:
    text = re.sub(r"^(sure|here is|here's)[^\n:]*:\s*", "", text.strip(), flags=re.I)
    text = re.sub(r"[*#_`]+", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    # an unfinished last sentence (max_new_tokens hit) is dropped
    if text and text[-1] not in ".!?" and re.search(r"[.!?]", text):
        text = text[: max(text.rfind("."), text.rfind("!"), text.rfind("?")) + 1]
    return text


def finalise(raw: str, facts: ProductFacts, options: Options, *, new_tokens: int = 0,
             source_label: str = "model", post_edit: bool = True) -> Draft:
    src = _source_for(facts, options)
    text = clean_model_text(raw)
    edited = False
    if post_edit:
        report = factlib.check_facts(text, source=src)
        if report.unsupported:
            text = factlib.remove_unsupported_sentences(text, report)
            edited = True
        avoid = [w.lower() for w in options.avoid_words]
        kept = []
        for _, _, s in factlib.split_sentences(text):
            if (any(re.search(rf"\b{re.escape(w)}\b", s.lower()) for w in avoid) or _FILLER_RE.search(s)
                    or _META_RE.search(s)):
                edited = True
                continue
            kept.append(s)
        # over-long text: drop trailing sentences (the template below re-adds any attribute they carried)
        while len(kept) > 1 and len(" ".join(kept).split()) > 1.25 * options.target_words:
            kept.pop()
            edited = True
        text = " ".join(kept)
        report = factlib.check_facts(text, source=src)
        if report.missing_attributes or not text:
            opener = "" if text else template_description(facts, options, attributes=[]) or ""
            base = text or OPENERS.get(options.tone, OPENERS["neutral"]).format(
                title=facts.title, by=f" by {facts.brand}" if facts.brand else "")
            if base[-1] not in ".!?":
                base += "."
            text = (base + " " + opener + " " + template_description(
                facts, options, attributes=report.missing_attributes)).strip()
            edited = True
        missing_kw = [k for k in options.keywords if k.lower() not in text.lower()]
        if missing_kw:
            text += f" Keywords: {', '.join(missing_kw)}."
            edited = True
    text = re.sub(r"\s+", " ", text).strip()
    report = factlib.check_facts(text, source=src)
    label = source_label if not edited else f"{source_label}+edited"
    return Draft(
        description=text,
        bullets=bullets_for(facts),
        meta_title=meta_title_for(facts),
        meta_description=meta_description_for(text),
        unsupported_facts=report.unsupported_facts,
        covered_attributes=report.covered_attributes,
        missing_attributes=report.missing_attributes,
        source=label,
        raw_text=raw,
        warnings=list(facts.warnings),
        length_fit=round(length_fit(text, options.target_words), 4),
        new_tokens=new_tokens,
    )


def template_draft(facts: ProductFacts, options: Options) -> Draft:
    text = template_description(facts, options)
    d = finalise(text, facts, options, source_label="template", post_edit=False)
    d.source = "template"
    return d


def _rank(d: Draft) -> tuple:
    total = len(d.covered_attributes) + len(d.missing_attributes)
    coverage = 1.0 if total == 0 else len(d.covered_attributes) / total
    return (len(d.unsupported_facts) == 0, coverage, d.length_fit)


def choose_best(candidates: Sequence[Draft]) -> Draft:
    return max(candidates, key=_rank)


@dataclass
class BulkStats:
    new_tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


def generate_drafts(
    model: Any,
    tokenizer: Any,
    products: Sequence[ProductFacts],
    options: Options,
    *,
    n_candidates: int = 3,
    max_new_tokens: int | None = None,
    temperature: float = 0.7,
    post_edit: bool = True,
    seed: int | None = None,
    source_label: str = "model",
    stats: BulkStats | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Draft]:
    """One batched ``generate`` for all products x candidates; returns the best draft per product.

    ``should_stop`` (polled while decoding) cancels the batch: :class:`GenerationStopped` is raised and
    nothing of the unfinished batch is returned.
    """
    if not products:
        return []
    prompts = [render_prompt(tokenizer, p, options) for p in products]
    result = lm.generate_batch(
        model, tokenizer, prompts, max_new_tokens=max_new_tokens or max_new_tokens_for(options),
        temperature=temperature if n_candidates > 1 else 0.0, num_return_sequences=n_candidates, seed=seed,
        should_stop=should_stop,
    )
    if stats is not None:
        stats.new_tokens += result.new_tokens
        stats.seconds += result.seconds
    if result.stopped:
        raise GenerationStopped(f"stopped mid-batch after {result.seconds:.1f} s")
    drafts = []
    for i, facts in enumerate(products):
        gens = result.generations[i * n_candidates: (i + 1) * n_candidates]
        cands = [finalise(g.text, facts, options, new_tokens=g.new_tokens, source_label=source_label,
                          post_edit=post_edit) for g in gens]
        best = choose_best(cands)
        best.new_tokens = sum(g.new_tokens for g in gens)
        drafts.append(best)
    return drafts


def stream_draft(model: Any, tokenizer: Any, facts: ProductFacts, options: Options, *,
                 max_new_tokens: int | None = None, seed: int | None = None,
                 source_label: str = "model") -> Iterator[str | Draft]:
    """Yield text pieces as the model writes, then the finalised (grounded) Draft as the last item."""
    t0 = time.perf_counter()
    pieces: list[str] = []
    for piece in lm.stream_generate(model, tokenizer, render_prompt(tokenizer, facts, options),
                                    max_new_tokens=max_new_tokens or max_new_tokens_for(options), seed=seed):
        pieces.append(piece)
        yield piece
    raw = "".join(pieces)
    n_tokens = len(tokenizer(raw, add_special_tokens=False)["input_ids"]) if raw else 0
    draft = finalise(raw, facts, options, new_tokens=n_tokens, source_label=source_label)
    draft.warnings.append(f"generated in {time.perf_counter() - t0:.1f} s")
    yield draft
