"""Checks every generated sentence must pass before it can enter a draft (and the same checks for evaluation).

* **style**: one real sentence of 4-45 words; no ``key: value`` lists, no "Details:", no talk about the task
  ("Here is a rewritten version", "As an AI"), no empty hype ("unparalleled", "game-changer"), no avoided word;
* **loop**: no phrase repeated ("with a double sofa bed with a double sofa bed");
* **facts**: every claim backed by the product input (:mod:`copywriter.ml.facts`), and the attributes the plan
  gave this sentence are actually stated;
* **relevance**: about this product and not naming another product type (:mod:`copywriter.ml.relevance`).

No Django.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import facts as factlib
from .grounding import root

MIN_WORDS, MAX_WORDS = 4, 45
KEY_VALUE_RE = re.compile(r"(?:^|[,;.\n]\s*|\s)[A-Za-z][A-Za-z _/\-]{0,28}:\s*[\w\"'(]")
DETAILS_RE = re.compile(r"\bdetails\s*:", re.I)
META_RE = re.compile(
    r"\b(rewritten|rewrite|revised version|the goal was|original (?:fact|text|sentence)|this description|"
    r"draft sentence|the draft|word count|here(?:'s| is) (?:a|the|your)|i hope|let me know|as an ai|"
    r"ai assistant|language model|facts? (?:given|provided)|product description|one sentence|sure[,!])\b", re.I)
HYPE_RE = re.compile(
    r"\b(unparalleled|unmatched|game[- ]changer|revolutionary|elevate your|look no further|whether you're|"
    r"in today's|best[- ]in[- ]class|world[- ]class|must[- ]have|second to none|like never before|"
    r"amazing innovation|renowned|make money|high-end|state[- ]of[- ]the[- ]art|cutting[- ]edge)\b", re.I)


FINITE_RE = re.compile(
    r"\b(?:is|are|was|were|has|have|had|can|will|would|should|may|might|does|do|did|it's|they're|makes?|keeps?|"
    r"holds?|comes?|offers?|gives?|lets?|helps?|brings?|features?|includes?|weighs?|measures?|runs?|works?|lasts?|"
    r"suits?|stands?|takes?|uses?|needs?|requires?|contains?|connects?|charges?|puts?|delivers?|reaches?|plays?|"
    r"seats?|covers?|tracks?|refreshes|refresh|opens?|settles?|burns?|fits?|stays?|provides?|adds?|looks?|feels?|"
    r"supports?|sits?|goes|go|carries|carry|folds?|cleans?|protects?|fills?|pairs?|wears?)\b", re.I)


def is_fragment(text: str) -> bool:
    """No finite verb: "A 27-inch screen, with a resolution of 3840 x 2160." is a fragment, not a sentence."""
    return not FINITE_RE.search(text or "")


def spec_pairs(text: str) -> int:
    """How many ``key: value`` pairs the text contains (three or more make it a spec dump)."""
    return len(KEY_VALUE_RE.findall(text or ""))


def is_spec_dump(text: str) -> bool:
    return spec_pairs(text) >= 3 or bool(DETAILS_RE.search(text or ""))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def has_loop(text: str, *, n: int = 3) -> bool:
    """A phrase repeated: the same n-gram (n >= 3 words) twice in a row, or any 4-gram three times or more."""
    w = _words(text)
    for size in range(n, 9):
        for i in range(len(w) - 2 * size + 1):
            if w[i: i + size] == w[i + size: i + 2 * size]:
                return True
    grams = Counter(tuple(w[i: i + 4]) for i in range(len(w) - 3))
    return any(c >= 3 for c in grams.values())


def sentence_repeats(text: str, *, n: int = 3) -> bool:
    """Inside one sentence, any 3-gram twice is already a loop."""
    w = _words(text)
    grams = Counter(tuple(w[i: i + n]) for i in range(len(w) - n + 1))
    return any(c >= 2 for c in grams.values())


def clean_sentence(raw: str) -> str:
    """The first sentence of a model answer, without quotes, markdown or a "Sentence:" label."""
    text = re.sub(r"[*#_`]+", "", raw or "").strip()
    text = re.sub(r"^(?:sure|okay|ok)[,!.]?\s+", "", text, flags=re.I)
    text = re.sub(r"^(?:sentence|answer|rewritten|rewrite|output|description)\s*:\s*", "", text, flags=re.I)
    text = re.sub(r"[\"“”]", "", text).strip().strip("'").strip()
    text = re.sub(r"\s+", " ", text)
    m = re.match(r"(.+?[.!?])(?:\s|$)", text)
    if m and len(m.group(1).split()) >= MIN_WORDS:
        text = m.group(1)
    elif text and text[-1] not in ".!?":
        return ""  # cut off mid-sentence (max_tokens hit): not a sentence
    return text.strip().strip("\"'“”").strip()


@dataclass
class SentenceVerdict:
    text: str
    reasons: list[str] = field(default_factory=list)
    unsupported: list[dict] = field(default_factory=list)
    relevance: float | None = None
    lm_score: float | None = None  # mean token log-prob under the LM (copywriter.ml.sense), None when unscored
    rank_score: float | None = None  # what best-of-N picks by among passing candidates

    @property
    def ok(self) -> bool:
        return not self.reasons


def style_reasons(text: str, avoid_words: Sequence[str] = ()) -> list[str]:
    reasons = []
    n = len(text.split())
    if not text:
        return ["empty"]
    if n < MIN_WORDS or n > MAX_WORDS:
        reasons.append(f"length {n} words")
    if spec_pairs(text) >= 1 or DETAILS_RE.search(text):
        reasons.append("key: value list")
    if is_fragment(text):
        reasons.append("a fragment (no verb)")
    if META_RE.search(text):
        reasons.append("talks about the task")
    if HYPE_RE.search(text):
        reasons.append("empty hype")
    if sentence_repeats(text):
        reasons.append("repeats itself")
    low = text.lower()
    for w in avoid_words:
        if w and re.search(rf"\b{re.escape(w.lower())}\b", low):
            reasons.append(f"uses avoided word {w!r}")
    return reasons


def fact_reasons(text: str, src: factlib.Source, required: Sequence[str]) -> tuple[list[str], list[dict]]:
    report = factlib.check_facts(text, source=src)
    reasons = []
    if report.unsupported:
        reasons.append("unsupported: " + ", ".join(c.text for c in report.unsupported))
    missing = [a for a in required if a in report.missing_attributes]
    if missing:
        reasons.append("drops planned facts: " + ", ".join(missing))
    return reasons, report.unsupported_facts


# --- what only a model sentence is held to (the stand-in states its facts and nothing else by construction) ----

# words that claim a quality a shopper would hold the shop to; a model sentence may use one only when the facts do
# ("easy to carry" for a smoke alarm, "reliable and easy to use", "perfect for spinning reels", "a beautiful product")
PUFFERY = {"easy", "easier", "easily", "effortless", "effortlessly", "perfect", "perfectly", "ideal", "ideally",
           "great", "excellent", "beautiful", "beautifully", "lovely", "stunning", "gorgeous", "amazing",
           "wonderful", "fantastic", "reliable", "dependable", "durable", "sturdy", "robust", "comfortable",
           "comfortably", "comfort", "cozy", "cosy", "convenient", "conveniently", "handy", "quick", "quickly",
           "fast", "versatile", "luxurious", "luxury", "premium", "superior", "best", "high-quality", "quality",
           "safe", "safely", "secure", "securely", "stylish", "elegant", "sleek", "trendy", "fashionable",
           "ready"}
# filler that says nothing about this product ("…, ready for everyday use", "a great choice for every day")
FILLER_RE = re.compile(r"\b(?:for|in)\s+(?:your\s+)?(?:everyday|every day|daily)(?:\s+(?:use|life|wear|routine|tasks?))?"
                       r"\b|\bready (?:for|to)\b|\bchoice for\b|\bmust-have\b|\bmade to last\b|\bbuilt to last\b",
                       re.I)
# "A freestanding setup, this tent has …", "A battery of 2 x AAA, this thermometer …": a noun phrase hung in front
APPOSITIVE_RE = re.compile(r"^(?:A|An)\s+[^,]{2,60},\s+(?:and\s+|but\s+)?(?:this|these|the|it|they)\b", re.I)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")


_LABEL_FREE = {"gender", "audience", "for", "suitable for", "colour", "color", "material", "fabric", "size",
               "finish", "pattern", "style", "type", "life stage", "skin type", "hair type"}


def model_reasons(text: str, facts_text: str, planned: Sequence[tuple[str, str]], draft: str = "") -> list[str]:
    """Claims and shapes a model sentence may not add: puffery the facts do not state, filler, a hung noun
    phrase in front, a planned fact's qualifier dropped (every number of a planned value must be there:
    "sealed lithium" for "sealed 10-year lithium"), and a short word value without what it is of ("excellent"
    is lightfastness, "yes" is helmet compatible: "A set of 24 half-pans is excellent" states neither)."""
    planned_values = [v for _, v in planned]
    reasons = []
    low = text.lower()
    facts_low = facts_text.lower()
    puff = [w for w in re.findall(r"[a-z][a-z\-]*", low) if w in PUFFERY
            and not re.search(rf"\b{re.escape(w)}", facts_low)]
    if puff:
        reasons.append("claims " + ", ".join(repr(w) for w in dict.fromkeys(puff)) + " (not in the facts)")
    m = FILLER_RE.search(text)
    if m and not re.search(rf"\b{re.escape(m.group(0).lower())}\b", facts_low):
        reasons.append(f"filler {m.group(0)!r}")
    if APPOSITIVE_RE.match(text.strip()) and not low.startswith("a unisex design"):
        reasons.append("a noun phrase hung in front of the subject")
    have = {n.replace(",", ".") for n in _NUMBER_RE.findall(text)}
    for v in planned_values:
        lost = [n for n in _NUMBER_RE.findall(v) if n.replace(",", ".") not in have]
        if lost:
            reasons.append(f"drops {', '.join(lost)} of {v!r}")
    stems = {root(w) for w in _words(text)}
    draft_stems = {root(w) for w in _words(draft)} if draft else None
    for name, v in planned:
        label = re.sub(r"[_\-]+", " ", name).strip().lower()
        short = len(v.split()) <= 2 and not re.search(r"\d", v)
        if not short or label in _LABEL_FREE or label.endswith((" colour", " color", " material")):
            continue
        # the words of the name the stand-in's sentence says ("is anti-fog" says it without "anti fog: yes")
        label_words = [w for w in _words(label) if len(w) > 2 and (draft_stems is None or root(w) in draft_stems)]
        if label_words and not any(root(w) in stems for w in label_words):
            reasons.append(f"states {v!r} without {label!r}")
    return reasons


_SUBJECT_PRONOUNS = {"it", "they", "its", "their", "you", "your"}


def subject_reasons(text: str, title: str, brand: str, noun: str, plural: bool) -> list[str]:
    """What the sentence is about, and how it names it: a model body sentence that changes the subject ("This case
    has a silicone strap" for goggles, "This app is iOS and Android", "A battery of 2 x AAA is used …"), writes the
    brand in lower case ("This reefwell 100W aquarium heater"), gets the number wrong ("This golf balls has", "a 4
    memory presets") or says one thing twice ("comes in a double size … double size")."""
    reasons = []
    low = text.lower()
    m = FINITE_RE.search(text)
    region = text[: m.start()] if m else text
    region = region.rsplit(",", 1)[-1].strip().lower()  # "With 8 programmes, it keeps …": the part after the comma
    words = re.findall(r"[a-z0-9][a-z0-9\-&']*", region)
    heads = {w.rstrip("s") for w in re.findall(r"[a-z]+", f"{noun} {title}".lower()) if len(w) > 2}
    if words and not (set(words) & _SUBJECT_PRONOUNS) and not any(w.rstrip("s") in heads for w in words):
        reasons.append(f"changes the subject ({region!r})")
    head = " ".join(title.split()[:3]).lower()
    if len(title.split()) >= 4 and head in low and title.lower() not in low:
        reasons.append("alters the product's name")  # "… Ceramics Flower Vase" for "… Ceramic Flower Vase"
    for w in re.findall(r"[A-Za-z][A-Za-z\-']{2,}", brand or ""):
        if w[0].isupper() and re.search(rf"(?<![A-Za-z]){re.escape(w.lower())}(?![A-Za-z])", text):
            reasons.append(f"writes the brand {w!r} in lower case")
            break
    first_noun = noun.split()[-1] if noun else ""
    if first_noun and plural and re.search(rf"\b(?:this|a|an)\s+(?:\w+\s+){{0,3}}{re.escape(first_noun)}\b", low):
        reasons.append(f"'{first_noun}' is plural")
    if re.search(r"\b(?:a|an)\s+(?!1\b)\d+(?:[.,]\d+)?\s+(?:[a-z\-]+\s+)?[a-z\-]+s\b(?![\-])", low):
        reasons.append("'a' before a plural number")
    content = [w for w in _words(low) if len(w) > 2 and w not in {"and", "the", "with", "this", "has", "have", "for"}]
    pairs = Counter(zip(content, content[1:], strict=False))
    if any(c >= 2 for c in pairs.values()):
        reasons.append("says the same thing twice")
    return reasons


# the verbs and connectives a rephrasing may bring in; every other content word must be the draft's (or the title's)
REPHRASE_WORDS = {"offers", "offer", "features", "feature", "comes", "come", "with", "includes", "include",
                  "made", "designed", "has", "have", "and", "also", "both", "while", "plus", "just", "its", "their",
                  "this", "these", "the", "a", "an", "it", "they", "is", "are", "of", "in", "for", "to", "on", "at",
                  "by", "from", "your", "you", "up", "as", "well", "which", "that", "there", "can", "be", "used",
                  "use", "uses", "available", "so", "or", "but", "too", "each", "all", "every", "one", "into"}
_ADJ_NOUN_RE = re.compile(r"\b(?:is|are)\s+an?\s+([a-z\-]+(?:able|ible|proof|less|ed))\s*(?:and\b|,|\.|$)", re.I)


def rephrase_reasons(text: str, draft: str, title: str, planned: Sequence[tuple[str, str]]) -> list[str]:
    """A model sentence rephrases its draft; it may not add to it or lose a part of it. Content words must come from
    the draft or the title ("is made from natural cotton" for "comes in natural", "has a black finish" for "comes
    in black"); a planned value's words the draft states outside the title must still be there outside the title
    ("Made of liquid silicone, the … Silicone Case" -> "The … Silicone Case has …" loses the material); and three
    shapes a 135M model writes: an adjective used as a noun ("is a submersible and …"), a comma splice ("… with 8
    programmes, it keeps …") and "of" before an adjective ("contains 2.5 L of washable")."""
    reasons = []
    t_low = title.lower()
    text_rest = text.lower().replace(t_low, " ")
    draft_rest = draft.lower().replace(t_low, " ")
    allowed = {root(w) for w in _words(draft + " " + title)}
    added = [w for w in _words(text) if not w.isdigit() and w not in REPHRASE_WORDS and root(w) not in allowed
             and not re.fullmatch(r"\d[\d.,]*[a-z]*", w)]
    if added:
        reasons.append("adds " + ", ".join(repr(w) for w in dict.fromkeys(added)) + " to the draft")
    text_roots = {root(w) for w in _words(text_rest)}
    draft_roots = {root(w) for w in _words(draft_rest)}
    for name, v in planned:
        lost = [w for w in _words(v) if len(w) > 2 and root(w) in draft_roots and root(w) not in text_roots]
        if lost:
            reasons.append(f"loses {', '.join(lost)} of {name}")
    if (adj := _ADJ_NOUN_RE.search(text)) is not None:
        reasons.append(f"uses an adjective as a noun ({adj.group(0).strip()})")
    m = FINITE_RE.search(text)
    if m and re.search(r",\s+(?:it|they)\s+\w+", text[m.end():], re.I):
        reasons.append("a comma splice")
    if re.search(r"\bof\s+[a-z\-]+(?:able|ible)\s*[.!]?$", text.strip(), re.I):
        reasons.append("'of' before an adjective")
    return reasons


def model_sentence_reasons(text: str, *, facts_text: str, title: str, brand: str, noun: str, plural: bool,
                           draft: str, planned: Sequence[tuple[str, str]]) -> list[str]:
    """Everything a model sentence is held to beyond the checks every sentence gets: its claims
    (:func:`model_reasons`), that it rephrases its draft (:func:`rephrase_reasons`) and how it names the product
    (:func:`subject_reasons`)."""
    return model_reasons(text, facts_text, planned, draft) + rephrase_reasons(text, draft, title, planned) + \
        subject_reasons(text, title, brand, noun, plural)
