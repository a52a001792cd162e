"""Grounded answers in the bot's own words, realised one source sentence at a time by the shared language model.

A 135M model cannot be trusted with a page of passages, so the work is planned for it (like the copywriter's
planner): `select_evidence` picks the one to three source sentences that answer the question (FAQ answer
sentences, policy sentences, a product's facts such as "Battery life: 40 h."); the LM rewrites each into one
sentence for the customer from a tiny few-shot prompt; every sentence is vetted before anything is shown:
grounded (states no fact its source lacks), reads as an answer, and keeps its source's qualifiers (numbers, time
limits, conditions: `grounding.missing_qualifiers`). The greedy sentence comes first; for one that fails, N sampled
candidates are decoded together in one `chat_batch` and the best vetted one is kept (best of N: SmolLM2-135M keeps
every fact of its source in about one try of six; N = `CANDIDATES`); a sentence with no vetted candidate is rewritten by rule
(`rewrite.py`) or quoted. Only vetted sentences reach the customer (`VettedStream`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .grounding import check_grounding, cited_numbers, missing_qualifiers
from .index import tokenize
from .safety import strip_instructions

NOT_FOUND = "I don't know"
MAX_PASSAGE_CHARS = 420
MAX_LM_PASSAGES = 2  # evidence comes from the two best supported passages
MAX_EVIDENCE = 3
EVIDENCE_MARGIN = 0.12  # a sentence is evidence when it scores within this of the best one
SENTENCE_TOKENS = 48

SYSTEM_PROMPT = (
    "You are a shop's support assistant. Answer the customer in one short sentence, speaking to them as 'you', "
    "using only the fact. Keep every word listed after Keep."
)
# Worked examples teach the 135M model the task better than any instruction (measured: without them it answered
# "The answer to this question is:" or restated the question). They come from a domain no shop sells in (a public
# library, a swimming pool, a ferry) so that none of their facts fits a shop's answer, and `_leaks` rejects
# any sentence that still borrows one of their words (the former shop-like example's "within Germany" was copied into
# answers). They answer first, to the customer: a yes/no question gets its "Yes" up front. (A "No, you cannot …"
# example was tried and dropped: measured 08:19 UTC, most sampled candidates then opened "No," whatever the fact said.)
FEW_SHOT = (
    ("Library books can be borrowed for 21 days and renewed twice online.", "how long can I keep a book?",
     "You can keep a library book for 21 days and renew it twice online."),
    ("The swimming pool is open to members only, until 9 pm on weekdays.", "is the pool open on weekdays?",
     "Yes, until 9 pm on weekdays, but the swimming pool is open to members only."),
    ("Bicycles are allowed on the Harbour Ferry.", "are bicycles allowed on the ferry?",
     "Yes, bicycles are allowed on the Harbour Ferry."),
    ("The Harbour Ferry has a crossing time of 35 min.", "how long is the ferry ride?",
     "The Harbour Ferry takes 35 min to cross."),
)
_SHOT_WORDS = frozenset(
    w for fact, question, answer in FEW_SHOT for w in re.findall(r"[a-z]+", f"{fact} {question} {answer}".lower())
    if len(w) > 3 and w not in {"keep", "open", "only", "until", "hours", "when", "does", "long", "from", "with",
                                "take", "takes", "allowed"}
)


def keep_words(fact: str) -> list[str]:
    """The fact's qualifiers as the words the LM is told to keep (numbers with their units, codes, conditions)."""
    from .grounding import qualifiers_in

    return [q.surface for q in qualifiers_in(fact)]


def _leaks(sentence: str, sources: list[str], question: str) -> list[str]:
    """Words of the worked examples that the sentence borrowed and neither its source nor the question says."""
    allowed = set(re.findall(r"[a-z]+", " ".join([*sources, question]).lower()))
    return sorted({w for w in re.findall(r"[a-z]+", sentence.lower()) if w in _SHOT_WORDS and w not in allowed})


@dataclass(frozen=True)
class Passage:
    entry_id: int
    title: str
    text: str
    kind: str = "faq"
    score: float = 0.0

    @property
    def clean_text(self) -> str:
        return strip_instructions(self.text)[:MAX_PASSAGE_CHARS]

    @property
    def full_text(self) -> str:
        return strip_instructions(self.text)


@dataclass(frozen=True)
class Evidence:
    n: int  # 1-based number of the passage it comes from
    text: str  # one source sentence, as the customer may be shown it
    score: float = 0.0


@dataclass
class Answer:
    text: str
    citations: list[int] = field(default_factory=list)  # entry ids
    grounded: bool = True
    mode: str = "generated"  # generated | mixed (some sentences quoted) | extractive | none
    unsupported: list[str] = field(default_factory=list)
    draft: str = ""
    evidence: list[str] = field(default_factory=list)  # the source sentences the answer realises
    sentences_generated: int = 0  # realised by the language model
    sentences_rewritten: int = 0  # the deterministic own-words rewrite (the LM's failed its checks twice)
    sentences_quoted: int = 0
    first_token_s: float | None = None  # the model's first token
    first_visible_s: float | None = None  # the first vetted sentence passed on to the customer
    total_s: float = 0.0
    stopped_early: bool = False  # a generated sentence failed the checks and was replaced


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[\"'(A-Z0-9])", text) if s.strip()]


_PRODUCT_HEAD = re.compile(r"^(?P<title>.+?) \(SKU [^)]*\)\.?$")
_SKIP_PRODUCT_FACT = re.compile(r"^(?:brand|category):", re.IGNORECASE)


def passage_facts(passage: Passage) -> list[str]:
    """The passage's sentences as stand-alone facts. A product card's fact lines name the product, so a fact
    read alone still says what it is about ("Aurora Earbuds — battery life: 40 h.")."""
    sentences = _sentences(passage.full_text) or [passage.full_text]
    if passage.kind != "product":
        return sentences
    title = passage.title
    facts = []
    for s in sentences:
        if (m := _PRODUCT_HEAD.match(s)) is not None:
            title = m.group("title")
            continue
        if _SKIP_PRODUCT_FACT.match(s):
            continue
        facts.append(f"{title} — {s[0].lower()}{s[1:]}" if re.match(r"^[A-Z][a-z ]{1,30}:", s) or len(s) < 40 else s)
    return facts or sentences


def clause_units(evidence: list[Evidence]) -> list[Evidence]:
    """Shorter units for a small model: a source sentence of clauses joined by "; " is realised clause by clause
    ("Standard shipping takes 3 to 5 business days; express shipping takes 1 to 2 business days." is two units).
    Measured: SmolLM2 kept one clause and dropped the other's numbers in most tries on the whole sentence."""
    out = []
    for e in evidence:
        parts = [p.strip().rstrip(".") for p in e.text.split("; ")]
        if len(parts) < 2 or any(len(tokenize(p)) < 2 for p in parts):
            out.append(e)
            continue
        out += [Evidence(e.n, f"{p[:1].upper()}{p[1:]}.", e.score) for p in parts]
    return out


def _embed_default(texts: list[str]) -> np.ndarray:
    from support.ml import embedder

    return embedder.embed(texts)


def select_evidence(
    question: str,
    passages: list[Passage],
    *,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    question_vector: np.ndarray | None = None,
    max_evidence: int = MAX_EVIDENCE,
) -> list[Evidence]:
    """The source sentences that answer the question: MiniLM similarity to the question plus word overlap, the best
    one and any within `EVIDENCE_MARGIN` of it, at most `max_evidence`, in source order."""
    shown = passages[:MAX_LM_PASSAGES]
    candidates = [(n, fact) for n, p in enumerate(shown, start=1) for fact in passage_facts(p)]
    if not candidates:
        return []
    embed = embed or _embed_default
    # A product fact is scored without the product's name in front: every fact of a card carries it, so with it
    # all of them look alike to MiniLM ("What size is the jar?" scored "in stock" as high as "volume: 50 ml").
    scored_texts = [_PRODUCT_PREFIX.sub("", fact) for _, fact in candidates]
    vectors = embed([question, *scored_texts]) if question_vector is None else None
    q = question_vector if question_vector is not None else vectors[0]
    fact_vectors = embed(scored_texts) if vectors is None else vectors[1:]
    fact_words = []
    for _fact, text in zip(candidates, scored_texts, strict=True):
        words = {w.rstrip("s") for w in tokenize(text) if len(w) > 2}
        words |= {w for key, asked in ATTRIBUTE_QUESTION_WORDS.items() if text.lower().startswith(key + ":")
                  for w in asked}
        fact_words.append(words)
    # A product card's free-text description ranks behind its facts: a question about a product asks a fact.
    penalty = [0.15 if shown[n - 1].kind == "product" and not _PRODUCT_ATTRIBUTE.match(fact) else 0.0
               for n, fact in candidates]

    # The words that name a product ("the earbuds") say which card, not which of its facts: left out of the overlap.
    name_words = [{w.rstrip("s") for w in tokenize(shown[n - 1].title)} if shown[n - 1].kind == "product" else set()
                  for n, _ in candidates]

    def score(i: int, vec_q: np.ndarray, words_q: set[str]) -> float:
        asked = words_q - name_words[i]
        overlap = len(asked & fact_words[i]) / max(len(asked), 1)
        return float(fact_vectors[i] @ vec_q) + 0.3 * overlap - 0.03 * (candidates[i][0] - 1) - penalty[i]

    q_words = {w.rstrip("s") for w in tokenize(question) if len(w) > 2}
    scores = [score(i, q, q_words) for i in range(len(candidates))]
    best = max(scores)
    ranked = sorted(range(len(candidates)), key=lambda i: -scores[i])
    # a product's description sentence is evidence only when it is the best one (it states no fact asked for)
    chosen = [i for i in ranked[:max_evidence] if scores[i] >= best - EVIDENCE_MARGIN and (not penalty[i] or i == ranked[0])]
    # A question about a whole policy section ("What is your return policy?") gets the whole section (up to the cap):
    # any one sentence of it would drop the others' time limits and conditions.
    top_n = candidates[ranked[0]][0]
    top = shown[top_n - 1]
    title_words = {w.rstrip("s") for w in tokenize(top.title)} | _GENERAL_QUESTION_WORDS
    if top.kind == "policy" and q_words and q_words <= title_words:
        section = [i for i, (n, _) in enumerate(candidates) if n == top_n]
        if len(section) <= max_evidence:
            chosen = section
    # A question with several parts ("are they waterproof, what's the battery life?") needs a fact for each part:
    # the best fact of every clause joins the evidence, within the same cap.
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(question) if len(tokenize(c.strip())) >= 2]
    if len(clauses) > 1:
        clause_vectors = embed(clauses)
        for clause, vec_c in zip(clauses, clause_vectors, strict=True):
            c_words = {w.rstrip("s") for w in tokenize(clause) if len(w) > 2}
            part = max(range(len(candidates)), key=lambda i: score(i, vec_c, c_words))
            if part not in chosen and len(chosen) < max_evidence:
                chosen.append(part)
    return [Evidence(candidates[i][0], candidates[i][1], scores[i]) for i in sorted(chosen)]


_CLAUSE_SPLIT = re.compile(r"[,;?]|\band\b|\balso\b", re.I)
_PRODUCT_PREFIX = re.compile(r"^.+? — (?=[a-z][a-z -]{0,40}:|[a-z])")
_PRODUCT_ATTRIBUTE = re.compile(r"^.+? — [a-z][a-z -]{0,40}: ")
_GENERAL_QUESTION_WORDS = frozenset({"policy", "policie", "rule", "term", "condition", "work", "info", "information"})
# The words customers ask a product attribute with, beside its own name (MiniLM does not tie "heavy" to "weight:").
ATTRIBUTE_QUESTION_WORDS = {
    "weight": ("heavy", "weigh", "light"), "volume": ("size", "big", "much", "large", "small"),
    "capacity": ("size", "big", "hold", "much", "large", "fit"), "battery life": ("battery", "last", "long", "charge"),
    "water resistance": ("waterproof", "water", "rain", "wet", "swim"), "dimensions": ("size", "big", "large", "wide"),
    "scent": ("smell", "scented", "fragrance", "perfume"), "material": ("made",), "price": ("cost", "much", "price"),
    "connectivity": ("bluetooth", "connect", "wireless", "wifi"), "warranty": ("guarantee", "warranty"),
    "dishwasher safe": ("dishwasher",), "skin type": ("skin",),
}  # fmt: skip


def fact_sources(fact: str) -> list[str]:
    """What a sentence realising ``fact`` may draw on: the fact, and for a product card's "<title> — key: value"
    line its sentence (:func:`support.ml.rewrite.product_prose`: the same words plus frame words such as "has",
    "comes with")."""
    from .rewrite import product_prose

    prose = product_prose(fact)
    return [fact, prose] if prose and prose != fact else [fact]


def _prompt(fact: str, question: str) -> str:
    """The fact the model realises: a product line as its sentence, not "key: value" (measured: SmolLM2 failed
    the vetting in all tries on keys it had not seen, "strung: no", "grip size: L2")."""
    keep = keep_words(fact)
    shown = fact_sources(fact)[-1]
    return f"Fact: {shown}\nKeep: {', '.join(keep) if keep else '-'}\nCustomer: {question}"


def build_messages(fact: str, question: str) -> list[dict]:
    """One planned clause to realise: the fact, its qualifiers as must-keep words, the question."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for shot_fact, shot_question, shot_answer in FEW_SHOT:
        messages += [{"role": "user", "content": _prompt(shot_fact, shot_question)},
                     {"role": "assistant", "content": shot_answer}]
    messages.append({"role": "user", "content": _prompt(fact, question)})
    return messages


def build_user_message(question: str, passages: list[Passage]) -> str:
    """The numbered passages as one prompt (kept for callers that show the bot's context)."""
    blocks = [f"[{i}] {p.title}: {p.clean_text}" for i, p in enumerate(passages, start=1)]
    return "Passages:\n" + "\n".join(blocks) + f"\n\nCustomer question: {question}\nAnswer:"


def extractive_answer(question: str, passages: list[Passage], *, max_sentences: int = 2,
                      evidence: list[Evidence] | None = None) -> Answer:
    """Quote the source: the evidence sentences when known, else the best passage's sentences that overlap the
    question most (always grounded, every qualifier kept)."""
    if not passages:
        return Answer(text="", grounded=True, mode="none")
    if evidence:
        numbers = sorted({e.n for e in evidence})
        text = " ".join(f"{e.text.rstrip()} [{e.n}]" for e in evidence)
        return Answer(text=text, citations=[passages[n - 1].entry_id for n in numbers], grounded=True,
                      mode="extractive", evidence=[e.text for e in evidence], sentences_quoted=len(evidence))
    best = passages[0]
    sentences = _sentences(best.clean_text) or [best.clean_text]
    q = set(tokenize(question))
    ranked = sorted(range(len(sentences)), key=lambda i: (-len(q & set(tokenize(sentences[i]))), i))
    chosen = sorted(ranked[:max_sentences])
    quote = " ".join(sentences[i] for i in chosen).strip()
    return Answer(text=f"{quote} [1]", citations=[best.entry_id], grounded=True, mode="extractive",
                  evidence=[sentences[i] for i in chosen], sentences_quoted=len(chosen))


# What a 135M model writes when it is not answering: echoes of the prompt's scaffolding, apologies, meta talk.
_NOT_AN_ANSWER = re.compile(
    r"\b(?:passages?|question|answer is|answer:|sorry|confusion|as an ai|language model|let me know|customer:|"
    r"fact:|keep:|the customer|rewrite|assistant)\b|\n\s*\[\d+\]|\?",
    re.IGNORECASE,
)


def _first_sentence(text: str) -> str:
    """The model's reply up to its first finished sentence ('' when it never finishes one)."""
    text = re.sub(r"\s+", " ", text.strip().split("\n")[0]).strip()
    m = re.search(r"^.*?[.!](?=\s|$)", text)
    return m.group(0).strip() if m else ""


def _supported_by(text: str, sources: list[str], question: str, *, min_share: float = 0.7,
                  titles: tuple[str, ...] = ()) -> bool:
    """Most of the answer's content words come from its sources (or the question it answers), and it reads as an
    answer, not as an echo of the prompt (a small model sometimes restates the question or the passage titles)."""
    if _NOT_AN_ANSWER.search(text):
        return False
    words = [w for w in tokenize(re.sub(r"\[\d+\]", " ", text)) if len(w) > 2]
    if len(words) < 3:
        return False
    source = set(tokenize(" ".join(sources)))
    stems = {w.rstrip("s") for w in source}
    q_stems = {w.rstrip("s") for w in tokenize(question)}
    share = sum(w in source or w.rstrip("s") in stems for w in words) / len(words)
    with_question = sum(w in source or w.rstrip("s") in stems or w.rstrip("s") in q_stems for w in words) / len(words)
    if share < min_share - 0.15 or with_question < min_share:
        return False
    return not any(t.lower().strip(" ?") in text.lower() for t in titles if len(t) > 12)


# Words a sentence may use that its source does not say: the grammar of an answer to a customer (and unit names
# written out), none of which states a fact. Every other word must come from the source sentence (a 135M model's
# additions were "popular", "on all products", "The Electronics Company": each a claim nobody made).
ANSWER_WORDS = frozenset(
    "yes you your yours can get gets have has had use used uses using pay order "
    "orders item items product products keep put come comes came with there here also both "
    "will would just each take takes taking make makes get able need needs want lasts last hold holds holding "
    "weigh weighs contain contains rated rating made cost costs add added arrive arrives goes hours hour days day "
    "minutes minute months month years year litres liters litre liter grams gram millilitres ml euros euro "
    "deliver delivered connect connects rated not no they them their these those this one ones".split()
)


# "The backpack is a 5-year warranty.", "The backpack is a 30 l.": a thing equated with a quantity (SmolLM2, measured)
_NOT_A_SENTENCE = re.compile(r"\b(?:is|are) an? \d", re.IGNORECASE)


def unsupported_words(sentence: str, sources: list[str]) -> list[str]:
    """The sentence's content words that neither its sources nor the grammar of an answer (`ANSWER_WORDS`) give."""
    def root(w: str) -> str:  # "resistant" / "resistance", "delivered" / "delivery": one root
        return _stem(w)[:6]

    source = {root(w) for w in tokenize(" ".join(sources))}
    return [w for w in tokenize(re.sub(r"\[\d+\]", " ", sentence))
            if not w.isdigit() and root(w) not in source and w not in ANSWER_WORDS and _stem(w) not in ANSWER_WORDS]


def keeps_polarity(sentence: str, sources: list[str]) -> bool:
    """A source that says no ("dishwasher safe: no", "not refundable") must be answered with a no: a sentence
    without any negation realises its fact as the opposite (measured: "you can put it in the dishwasher")."""
    from .grounding import facts_in

    return not facts_in(" ".join(sources))["negations"] or bool(facts_in(sentence)["negations"])


def sentence_vetted(sentence: str, sources: list[str], question: str, *, titles: tuple[str, ...] = ()) -> bool:
    """May this generated sentence be shown: grounded in `sources` (no number, term or negation they lack, no
    content word they do not give), says no where they do, reads as an answer, keeps their qualifiers."""
    if not sentence or len(sentence) < 12 or _NOT_AN_ANSWER.search(sentence):
        return False
    if not check_grounding(sentence, sources).grounded or not keeps_polarity(sentence, sources):
        return False
    if len(tokenize(sentence)) < 3 or unsupported_words(sentence, sources):
        return False
    if _NOT_A_SENTENCE.search(sentence) or re.search(r"\b(\w{3,}) \1\b", sentence, re.IGNORECASE):
        return False  # "The Kestrel Carbon Carbon Racket …": a doubled word alters a name (SmolLM2, measured)
    if any(t.lower().strip(" ?") in sentence.lower() for t in titles if len(t) > 12):
        return False
    if not yes_fits(sentence, sources, question):
        return False
    return not missing_qualifiers(" ".join(sources), sentence)


_YES = re.compile(r"^\W*yes\b", re.IGNORECASE)
_YES_NO_QUESTION = re.compile(
    r"(?:^|[,;.!]\s*|\b(?:so|and|but|hi|hey)\s+)(?:is|are|can|could|do|does|did|will|would|may|should|has|have|isn't|"
    r"aren't|can't|don't|doesn't)\b", re.IGNORECASE)


def yes_fits(sentence: str, sources: list[str], question: str) -> bool:
    """A sentence that opens with "Yes" answers a yes/no question whose every content word its source states, and
    never a source that says no. The check a 135M model needs: it answers "Yes" to "is the mat slippery?" from
    "Non slip: yes." and to "is my card from last year still valid?" from "valid for 24 months"."""
    if not _YES.search(sentence):
        return True
    from .grounding import facts_in

    if facts_in(" ".join(sources))["negations"] or not _YES_NO_QUESTION.search(question.strip()):
        return False

    def root(w: str) -> str:
        return _stem(w)[:6]

    source = {root(w) for w in tokenize(" ".join(sources)) if len(w) > 2}
    asked = [root(w) for w in tokenize(question) if len(w) > 2 and w not in ANSWER_WORDS and not w.isdigit()]
    # "wash" is stated by "washable"; "slippery" is not stated by "slip" (the source word may not be the shorter)
    return all(any(s.startswith(a) for s in source) for a in asked)


class VettedStream:
    """The one path from the answerer to the customer: passes text on one finished sentence at a time, and only
    sentences that passed the checks the final answer must pass.

    `offer` takes a whole sentence with the source sentences it realises (the planner's path); `feed` takes raw
    model pieces and vets each finished sentence against the passages (a free-running draft); the first failing
    sentence ends a fed draft."""

    _END = re.compile(r"[.!?](?:\s*\[\d+\])?(?=\s)|\n")

    def __init__(self, question: str, passages: list[Passage], emit: Callable[[str], None] | None, *, started: float):
        self.question, self.passages, self.emit, self.started = question, passages, emit, started
        self.buffer = ""
        self.accepted = ""
        self.rejected = False
        self.first_visible_s: float | None = None

    def _show(self, sentence: str) -> None:
        if self.first_visible_s is None:
            self.first_visible_s = time.perf_counter() - self.started
        if self.emit is not None:
            self.emit(sentence if self.accepted else sentence.lstrip())
        self.accepted += sentence

    def offer(self, sentence: str, sources: list[str], *, quoted: bool = False) -> bool:
        """Show `sentence` if it passes (a quoted source sentence only needs to be grounded); False otherwise."""
        ok = (check_grounding(sentence, sources).grounded if quoted
              else sentence_vetted(re.sub(r"\s*\[\d+\]", "", sentence), sources, self.question))
        if ok:
            self._show(sentence if not self.accepted else " " + sentence)
        return ok

    def feed(self, piece: str) -> bool:
        """False once the draft has failed (the caller stops generating)."""
        if self.rejected:
            return False
        self.buffer += piece
        while (match := self._END.search(self.buffer)) is not None:
            sentence, self.buffer = self.buffer[: match.end()], self.buffer[match.end() :]
            if sentence.strip() and not self._pass(sentence):
                return False
        return True

    def finish(self) -> None:
        """The model stopped: a last sentence without trailing space is vetted too; an unfinished one is dropped."""
        if not self.rejected and re.search(r"[.!](?:\s*\[\d+\])?$", self.buffer.strip()):
            self._pass(self.buffer.rstrip())
        self.buffer = ""

    def _pass(self, sentence: str) -> bool:
        candidate = (self.accepted + sentence).strip()
        cited = [self.passages[n - 1] for n in cited_numbers(candidate, len(self.passages))] or self.passages[:1]
        sources = [p.clean_text for p in cited]
        if not (check_grounding(candidate, sources).grounded
                and _supported_by(candidate, sources + [p.title for p in cited], self.question,
                                  titles=tuple(p.title for p in cited))):
            self.rejected = True
            return False
        self._show(sentence)
        return True


STOP = ["\n", ". ", "! "]  # one sentence is all that is asked for: stop decoding at its end


# Sampled candidates per sentence whose greedy one failed, decoded together in one chat_batch. 2, measured
# (evaluate_support --candidates N, bench/support.py --candidates N; README): out of sample 2 and 8 both give 13.3%
# (greedy only 6.7%), and a reply takes 1.7 s with 2 against 6.2 s with 8.
CANDIDATES = 2
SAMPLED = {"temperature": 0.8, "top_p": 0.95}
SAMPLE_SEED = 7


def _sampling(attempt: int) -> dict:
    """Greedy first; the retry samples (a different wording often keeps what the greedy one dropped). In a batch,
    conversation i is sampled with seed + i, so N copies of one prompt give N different candidates."""
    return {"temperature": 0.0} if attempt == 0 else {**SAMPLED, "seed": SAMPLE_SEED + attempt}


def best_candidate(candidates: list[str], evidence: Evidence, question: str, embed=None) -> str | None:
    """Best of N: of the candidates that pass every check (`_verdict`: grounded, qualifiers kept, reads as an answer,
    no worked-example word, relevant), the one MiniLM finds closest to its source sentence plus the question."""
    passing: list[str] = []
    for c in dict.fromkeys(c for c in candidates if c):
        if _verdict(c, evidence, question, embed) == "generated":
            passing.append(c)
    if len(passing) <= 1:
        return passing[0] if passing else None
    vectors = (embed or _embed_default)([question, evidence.text, *passing])
    q, e = vectors[0], vectors[1]
    scores = [float(v @ q) + float(v @ e) for v in vectors[2:]]
    return passing[int(np.argmax(scores))]


def _reply_sentence(raw: str) -> str:
    text = re.sub(r"\s+", " ", raw.strip().split("\n")[0]).strip()
    if text and not re.search(r"[.!]$", text):
        text = _first_sentence(text + ".") if not re.search(r"[.!]\s", text) else _first_sentence(text)
    return _first_sentence(text)


def _is_copy(sentence: str, fact: str) -> bool:
    """The model repeated its source sentence: that is a quote, not an answer in the bot's own words."""
    a, b = tokenize(sentence), tokenize(fact)
    return a == b


RELEVANCE_MARGIN = 0.15  # a sentence may be this much less similar to the question than its source sentence
PARAPHRASE_FLOOR = 0.5  # MiniLM cosine of a sentence to the source sentence it realises, at least


def relevant(sentence: str, evidence: str, question: str, embed: Callable[[list[str]], np.ndarray] | None) -> bool:
    """MiniLM: the sentence says what its source sentence says (cosine >= PARAPHRASE_FLOOR) and answers the
    question about as well as the source does (cosine to the question at most RELEVANCE_MARGIN below the source's)."""
    s, e, q = (embed or _embed_default)([sentence, evidence, question])
    return float(s @ e) >= PARAPHRASE_FLOOR and float(s @ q) >= float(e @ q) - RELEVANCE_MARGIN


def _verdict(sentence: str, evidence: Evidence, question: str, embed=None) -> str | None:
    """'generated' (vetted, own words), 'copy' (vetted but the source repeated) or None (failed the checks):
    grounded, keeps every qualifier, reads as an answer, borrows nothing from the worked examples, relevant."""
    sources = fact_sources(evidence.text)
    if not sentence_vetted(sentence, sources, question):
        return None
    if _leaks(sentence, sources, question):
        return None
    if any(_is_copy(sentence, s) for s in sources):
        return "copy"
    return "generated" if relevant(sentence, evidence.text, question, embed) else None


def _rewrite(evidence: Evidence, question: str, embed=None) -> str | None:
    """The deterministic own-words rewrite of the evidence sentence, if one fits and passes the same checks."""
    from .rewrite import own_words

    sentence = own_words(evidence.text)
    if sentence is None or _is_copy(sentence, evidence.text):
        return None
    # a product line's rewrite is its prose sentence, which _verdict calls a copy of that source: it is the rewrite
    return sentence if _verdict(sentence, evidence, question, embed) in {"generated", "copy"} else None


def _realise(lm, evidence: Evidence, question: str, *, max_tokens: int, deadline: float, started: float,
             timing: dict, embed=None) -> str | None:
    """The LM's greedy sentence realising `evidence`, streamed (the stream context reuses the cached few-shot
    prefix), if it passes every check; else None (the caller samples candidates for it)."""
    if time.perf_counter() > deadline:
        raise TimeoutError("The answer model ran past its deadline.")
    pieces: list[str] = []
    for piece in lm.stream_chat(build_messages(evidence.text, question), max_tokens=max_tokens, stop=STOP,
                                should_stop=lambda: time.perf_counter() > deadline, **_sampling(0)):
        if timing.get("first_token_s") is None:
            timing["first_token_s"] = time.perf_counter() - started
        pieces.append(piece)
    if time.perf_counter() > deadline:
        raise TimeoutError("The answer model ran past its deadline.")
    sentence = _reply_sentence("".join(pieces))
    timing.setdefault("drafts", []).append(sentence)
    return sentence if _verdict(sentence, evidence, question, embed) == "generated" else None


def sample_candidates(lm, jobs: list[tuple[Evidence, str]], *, n: int, max_tokens: int = SENTENCE_TOKENS,
                      should_stop: Callable[[], bool] | None = None) -> list[list[str]]:
    """N sampled candidate sentences for each (evidence, question), every candidate of every job decoded together
    in ONE `chat_batch` (the runtime decodes many sequences per llama_batch; copy k of a prompt is sampled with
    seed + its position, so the copies differ)."""
    if not jobs or n <= 0:
        return [[] for _ in jobs]
    conversations = [build_messages(ev.text, q) for ev, q in jobs for _ in range(n)]
    kwargs = {"should_stop": should_stop} if should_stop is not None else {}
    raw = lm.chat_batch(conversations, max_tokens=max_tokens, stop=STOP, **_sampling(1), **kwargs)
    return [[_reply_sentence(r) for r in raw[k * n:(k + 1) * n]] for k in range(len(jobs))]


def _assemble(question: str, passages: list[Passage], evidence: list[Evidence], sentences: list[str | None],
              stream: VettedStream, *, started: float, timing: dict, embed=None) -> Answer:
    """The answer from its planned clauses: the LM's vetted sentence, else the deterministic own-words rewrite,
    else the source sentence quoted; each offered to the customer through the one `VettedStream`."""
    parts: list[str] = []
    generated = rewritten = quoted = 0
    for ev, sentence in zip(evidence, sentences, strict=True):
        if sentence is not None and stream.offer(f"{sentence} [{ev.n}]", fact_sources(ev.text)):
            generated += 1
            parts.append(f"{sentence} [{ev.n}]")
            continue
        own = _rewrite(ev, question, embed)
        if own is not None and stream.offer(f"{own} [{ev.n}]", fact_sources(ev.text)):
            rewritten += 1
            parts.append(f"{own} [{ev.n}]")
            continue
        stream.offer(f"{ev.text} [{ev.n}]", [ev.text], quoted=True)
        quoted += 1
        parts.append(f"{ev.text} [{ev.n}]")
    numbers = sorted({e.n for e in evidence})
    mode = "generated" if not quoted else ("mixed" if generated + rewritten else "extractive")
    return Answer(
        text=" ".join(parts), citations=[passages[n - 1].entry_id for n in numbers], grounded=True, mode=mode,
        draft=" | ".join(timing.get("drafts", [])), evidence=[e.text for e in evidence],
        sentences_generated=generated, sentences_rewritten=rewritten, sentences_quoted=quoted,
        first_token_s=timing.get("first_token_s"), first_visible_s=stream.first_visible_s,
        total_s=time.perf_counter() - started, stopped_early=quoted + rewritten > 0,
    )


def generate_answer(
    question: str,
    passages: list[Passage],
    *,
    lm=None,
    max_new_tokens: int = 64,
    on_token: Callable[[str], None] | None = None,
    deadline_s: float = 30.0,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    question_vector: np.ndarray | None = None,
    candidates: int = CANDIDATES,
) -> Answer:
    """Answer from the evidence sentences, each realised by the LM (`lm`: a runtime LanguageModel; default the
    shared one) and vetted: greedy first, then the best of `candidates` sampled ones; else the deterministic
    rewrite, else quoted. Raises TimeoutError past the deadline
    (the caller hands off). `on_token` only ever sees vetted sentences, through a `VettedStream`."""
    lm = lm or _default_lm()
    started = time.perf_counter()
    deadline = started + deadline_s
    evidence = clause_units(select_evidence(question, passages, embed=embed, question_vector=question_vector))
    if not evidence:
        return Answer(text="", mode="none", total_s=time.perf_counter() - started)
    stream = VettedStream(question, passages[:MAX_LM_PASSAGES], on_token, started=started)
    timing: dict = {}
    sentences: list[str | None] = []
    for ev in evidence:
        try:
            sentences.append(_realise(lm, ev, question, max_tokens=min(SENTENCE_TOKENS, max_new_tokens),
                                      deadline=deadline, started=started, timing=timing, embed=embed))
        except TimeoutError:
            if timing.get("first_token_s") is None:
                raise  # the model never answered: the caller hands off
            sentences.append(None)  # a slow model mid-answer: quote the rest of the evidence instead
    # Best of N for the sentences whose greedy one failed: N sampled candidates each, all in one chat_batch, while
    # there is time (half the deadline left at least); the best vetted one is kept.
    failed = [k for k, sentence in enumerate(sentences) if sentence is None]
    if failed and candidates > 0 and time.perf_counter() < started + (deadline - started) / 2:
        from ecomops.ml.llm import LMStopped

        try:
            pools = sample_candidates(lm, [(evidence[k], question) for k in failed], n=candidates,
                                      max_tokens=min(SENTENCE_TOKENS, max_new_tokens),
                                      should_stop=lambda: time.perf_counter() > deadline)
        except LMStopped:
            pools = [[] for _ in failed]
        for k, pool in zip(failed, pools, strict=True):
            timing.setdefault("drafts", []).extend(pool)
            sentences[k] = best_candidate(pool, evidence[k], question, embed)
    return _assemble(question, passages, evidence, sentences, stream, started=started, timing=timing, embed=embed)


def generate_answers_batch(
    items: list[tuple[str, list[Passage]]],
    *,
    lm=None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    candidates: int = CANDIDATES,
) -> list[Answer]:
    """`generate_answer` for many questions at once (evaluation, bulk replies): the same evidence, prompts and
    vetting, with every sentence of every answer decoded together (`LanguageModel.chat_batch`): one greedy pass,
    then `candidates` sampled candidates for each sentence that failed, in one more batch (best of N)."""
    lm = lm or _default_lm()
    started = time.perf_counter()
    evidence = [clause_units(select_evidence(q, ps, embed=embed)) for q, ps in items]
    slots = [(i, j) for i, evs in enumerate(evidence) for j in range(len(evs))]
    chosen: dict[tuple[int, int], str | None] = dict.fromkeys(slots)
    drafts: dict[int, list[str]] = {i: [] for i in range(len(items))}
    outputs = lm.chat_batch([build_messages(evidence[i][j].text, items[i][0]) for i, j in slots],
                            max_tokens=SENTENCE_TOKENS, stop=STOP, **_sampling(0)) if slots else []
    pending = []
    for (i, j), raw in zip(slots, outputs, strict=True):
        sentence = _reply_sentence(raw)
        drafts[i].append(sentence)
        if _verdict(sentence, evidence[i][j], items[i][0], embed) == "generated":
            chosen[(i, j)] = sentence
        else:
            pending.append((i, j))
    pools = sample_candidates(lm, [(evidence[i][j], items[i][0]) for i, j in pending], n=candidates)
    for (i, j), pool in zip(pending, pools, strict=True):
        drafts[i].extend(pool)
        chosen[(i, j)] = best_candidate(pool, evidence[i][j], items[i][0], embed)
    answers = []
    for i, (question, passages) in enumerate(items):
        if not evidence[i]:
            answers.append(Answer(text="", mode="none"))
            continue
        stream = VettedStream(question, passages[:MAX_LM_PASSAGES], None, started=started)
        answers.append(_assemble(question, passages, evidence[i], [chosen[(i, j)] for j in range(len(evidence[i]))],
                                 stream, started=started, timing={"drafts": drafts[i]}, embed=embed))
    return answers


def _default_lm():
    from ecomops.ml.llm import get_language_model

    return get_language_model()


def _complete_sentences(text: str) -> str:
    """The draft up to its last finished sentence (a draft cut off by the token limit ends mid-sentence)."""
    text = text.strip().split("\n\n")[0].strip()
    if re.search(r"[.!](?:\s*\[\d+\])?$", text):
        return text
    cut = max(text.rfind(". "), text.rfind("! "))
    return text[: cut + 1].strip() if cut > 0 else ""


def ground_or_extract(question: str, draft: Answer, passages: list[Passage]) -> Answer:
    """The final gate: keep an answer only if it answers, cites real passages, states only facts they contain and
    keeps the qualifiers of the sentences it realises; otherwise quote the source."""
    text = draft.text.strip()
    if not passages:
        return Answer(text="", mode="none", draft=draft.draft)

    def fallback(unsupported: list[str] | None = None) -> Answer:
        evidence = _evidence_numbers([Evidence(1, s) for s in draft.evidence], passages) if draft.evidence else None
        result = extractive_answer(question, passages, evidence=evidence)
        result.unsupported = unsupported or []
        result.draft = draft.draft
        result.first_token_s, result.first_visible_s, result.total_s = draft.first_token_s, draft.first_visible_s, draft.total_s
        return result

    if draft.mode == "extractive":
        return fallback()
    if not text or NOT_FOUND.lower() in text.lower():
        return fallback()
    text = _complete_sentences(text)
    numbers = cited_numbers(text, min(len(passages), MAX_LM_PASSAGES)) or [1]  # only what the LM was shown
    cited = [passages[n - 1] for n in numbers]
    result = check_grounding(text, [p.full_text for p in cited])
    if not result.grounded or len(text) < 12:
        return fallback(result.unsupported)
    # Every sentence must keep the qualifiers of the source sentences it realises: the evidence when known, else
    # the cited passages' sentences that share content words with it.
    sentences = re.split(r"(?<=[.!?])\s*(?:\[\d+\])?\s+(?=[\"'(A-Z0-9])", text)  # "… delivery. [1] Your …"
    # The planner's answer has one sentence per evidence sentence, in order: each is checked against its own.
    paired = draft.evidence if draft.evidence and len(draft.evidence) == len(sentences) else None
    for k, sentence in enumerate(sentences):
        plain = re.sub(r"\s*\[\d+\]", "", sentence).strip()
        if draft.evidence and any(plain == e.rstrip() for e in draft.evidence):
            continue  # a quoted source sentence
        sources = [paired[k]] if paired else _realised_sources(
            plain, draft.evidence or [s for p in cited for s in passage_facts(p)])
        if not sources or missing_qualifiers(" ".join(sources), plain):
            return fallback()
        sources = [x for src in sources for x in fact_sources(src)]  # a product line's sentence form too
        # A product's name may be said (it is what the answer is about); an FAQ question's text may not (an echo).
        echo_titles = tuple(p.title for p in cited if p.kind != "product")
        if not sentence_vetted(plain, sources, question, titles=echo_titles):
            return fallback()
    if not re.search(r"\[\d+\]", text):
        text = f"{text} [{numbers[0]}]"
    return Answer(
        text=text, citations=[p.entry_id for p in cited], grounded=True,
        mode=draft.mode if draft.mode in {"generated", "mixed"} else "generated",
        draft=draft.draft, evidence=draft.evidence, sentences_generated=draft.sentences_generated,
        sentences_rewritten=draft.sentences_rewritten, sentences_quoted=draft.sentences_quoted, first_token_s=draft.first_token_s,
        first_visible_s=draft.first_visible_s, total_s=draft.total_s,
    )


def _evidence_numbers(evidence: list[Evidence], passages: list[Passage]) -> list[Evidence]:
    """Evidence sentences with the number of the passage that holds them."""
    out = []
    for e in evidence:
        n = next((i for i, p in enumerate(passages[:MAX_LM_PASSAGES], start=1) if e.text in passage_facts(p)
                  or e.text.rstrip(".").lower() in p.full_text.lower()), 1)  # a clause unit of a sentence
        out.append(Evidence(n, e.text))
    return out


def _realised_sources(sentence: str, candidates: list[str]) -> list[str]:
    """The source sentences a generated sentence paraphrases: those sharing most of its content words."""
    words = {w.rstrip("s") for w in tokenize(sentence) if len(w) > 2}
    scored = []
    for c in candidates:
        cw = {w.rstrip("s") for w in tokenize(c) if len(w) > 2}
        if cw:
            scored.append((len(words & cw) / len(cw), c))
    if not scored:
        return []
    best = max(s for s, _ in scored)
    return [c for s, c in scored if s >= max(0.34, best - 0.1)]


MIN_PASSAGE_SCORE = 0.45  # best passage cosine below which the knowledge does not cover the question
LOW_CONFIDENCE = 0.5


def knowledge_supports(best_score: float | None) -> bool:
    return best_score is not None and best_score >= MIN_PASSAGE_SCORE


def is_low_confidence(intent: str, confidence: float | None) -> bool:
    return intent == "out_of_scope" or (confidence is not None and confidence < LOW_CONFIDENCE)


def declines_as_out_of_scope(intent: str, confidence: float | None, best_score: float | None) -> bool:
    """The hand-off rule for questions outside what the bot knows: low confidence and no supporting passage."""
    return is_low_confidence(intent, confidence) and not knowledge_supports(best_score)


# --- product questions: a product the question names is a passage, whatever its cosine --------------------------

_GENERIC_TITLE_WORDS = frozenset(
    "new set pack kit pro max mini plus edition size colour color black white grey gray blue red green wireless "
    "electric classic premium original large small medium".split()
)


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def named_products(question: str, products: list[tuple[int, str]]) -> list[int]:
    """The products (entry id, title) the question names: the title's head noun (its last distinctive word, e.g.
    "earbuds", "kettle") or its brand-like first word occurs in the question. A two-part question about "the
    earbuds" scores under the passage floor against the whole product card by cosine alone; a customer naming the
    product is the strongest evidence of what the question is about."""
    q = {_stem(w) for w in tokenize(question)}
    named = []
    for entry_id, title in products:
        words = [w for w in tokenize(title) if len(w) > 2 and not w.isdigit()]
        distinctive = [w for w in words if w not in _GENERIC_TITLE_WORDS]
        if not distinctive:
            continue
        head, first = _stem(distinctive[-1]), _stem(distinctive[0])
        if head in q or (first in q and first != head and len(first) > 3):
            named.append(entry_id)
    return named


def with_named_products(question: str, passages: list[Passage], products: list[Passage]) -> list[Passage]:
    """`passages` with the products the question names first, each scored at least MIN_PASSAGE_SCORE (named is
    supported); passages of other products the question does not name are dropped behind them."""
    ids = set(named_products(question, [(p.entry_id, p.title) for p in products]))
    if not ids:
        return passages
    by_id = {p.entry_id: p for p in passages}
    first = []
    for p in products:
        if p.entry_id in ids:
            hit = by_id.get(p.entry_id, p)
            first.append(Passage(hit.entry_id, hit.title, hit.text, kind="product",
                                 score=max(hit.score, MIN_PASSAGE_SCORE)))
    first.sort(key=lambda p: -p.score)
    rest = [p for p in passages if p.entry_id not in ids and p.kind != "product"]
    return first + rest
