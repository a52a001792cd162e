"""Does the sentence read right? A check that does not share the generator's blind spots.

The fact checker asks "is every claim backed?" and the relevance check "is it about this product?"; both pass
"Made of beige, the Kurta set …" (beige is in the facts, the sentence is about the kurta), "Palm-shredded, the
Parx … Shirt comes in blue" and "… Eau De Toilette 125 ml is a daily routine". This module looks at what the
sentence *does* with the facts:

* **made of X**: "made/crafted/woven … of/from X" needs X to be a material (:func:`realise.is_material`, or the
  value of a material attribute) — a colour, a finish, a size is not what something is made of;
* **opener**: a sentence may open with a participle/adjective phrase ("Designed for women, …", "Made of cotton,
  …") only when the phrase's words come from the facts ("Palm-shredded, …" does not);
* **predicate**: "<the product> is a/an <noun>" must name something the product can be: its own type (title,
  category, family), a value of its facts, or a generic head ("choice", "addition", "essential" …), never "a
  daily routine";
* **acceptability** (optional, needs the language model): the sentence's mean token log-probability under
  SmolLM2, given the product's title, against the distribution of human-written shop sentences
  (``sense_calibration.json``, written by ``evaluate_copywriter --calibrate-sense``). The rules above are the
  model-free part, so template and stand-in sentences are checked without a model.

No Django.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import facts as factlib
from . import realise
from .inputs import ProductFacts
from .plan import FAMILIES, family_of, product_noun

CALIBRATION_FILE = Path(__file__).with_name("sense_calibration.json")
DEFAULT_THRESHOLD = -5.0  # used only without a calibration file

FRAME_WORDS = {"made", "designed", "crafted", "built", "created", "styled", "cut", "woven", "finished", "featuring",
               "perfect", "ideal", "great", "available", "offered", "presented", "packed", "inspired", "tailored",
               "engineered", "shaped", "fitted", "lined", "printed", "embellished", "detailed", "rendered",
               "with", "in", "for", "from", "of", "and", "a", "an", "the", "to", "your", "you", "its", "their",
               "this", "these", "our", "every", "all", "any", "day", "everyday", "daily", "use", "wear", "look",
               "style", "comfort", "comfortable", "easy", "simple", "classic", "modern", "new", "soft", "light",
               "lightweight", "beautiful", "elegant", "stylish", "smart", "casual", "neat", "practical",
               # the words of the families' "use" phrases ("Made for your daily routine, …")
               "routine", "home", "kitchen", "pantry", "playtime", "garden", "workshop", "outdoors", "training",
               "desk", "car", "pet", "little", "one"}
GENERIC_HEADS = {"choice", "pick", "option", "addition", "essential", "essentials", "staple", "companion", "design",
                 "classic", "favourite", "favorite", "gift", "piece", "way", "solution", "match", "partner",
                 "upgrade", "product", "item", "one", "must", "buy", "investment", "treat", "find", "set", "pair",
                 "range", "collection", "style", "look", "fit", "version", "model", "edition", "blend", "formula",
                 "accessory", "tool", "kit", "must-have", "go-to", "winner", "standout", "statement",
                 "alternative"}
STOP_AFTER_HEAD = {"for", "with", "that", "which", "to", "of", "in", "on", "from", "and", "or", "by", "at", "made",
                   "designed", "perfect", "ideal", "you", "your", "who", "when", "where", "built", "crafted"}

MADE_OF_RE = re.compile(r"\b(?:made|crafted|constructed|woven|fashioned|cut|knitted|manufactured)\s+(?:out\s+)?"
                        r"(?:of|from)\s+(?:a |an |the |pure |premium |high-quality |quality |soft |fine )?"
                        r"([^,.;:!?]+?)(?=\s*(?:,|;|\.|!|\?|$|\band\b(?! [a-z]+ (?:steel|wood|leather|cotton|"
                        r"silk|wool|linen|plastic|glass|iron))|\bwith\b|\bin\b|\bfor\b|\bthat\b|\bwhich\b|\bto\b|"
                        r"\bis\b|\bare\b|\bhas\b|\bhave\b|\bcomes?\b|\bfeatures?\b|\bit\b|\bthe\b))", re.I)
MATERIAL_HEADS = {"fabric", "fabrics", "material", "materials", "blend", "blends", "yarn", "yarns", "fibre", "fibres",
                  "fiber", "fibers", "mix", "wood", "weave", "knit", "thread", "threads", "pulp", "grade"}
OPENER_RE = re.compile(r"^([A-Z][^,]{1,70}),\s+(?:the|this|these|our|it|they|its|their|[A-Z])", re.U)
COPULA_RE = re.compile(r"\b(?:is|are)\s+(?:a|an)\s+([^,.;:!?]+)", re.I)
SUBJECT_START = ("the ", "this ", "these ", "it ", "they ", "our ")


def _stems(text: str) -> set[str]:
    return {factlib._stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())}


def fact_words(facts: ProductFacts) -> set[str]:
    parts = [facts.title, facts.brand, facts.category] + [f"{k.replace('_', ' ')} {v}" for k, v in
                                                          facts.attributes.items()]
    words = _stems(" ".join(parts))
    fam = family_of(facts)
    if fam is not None:
        words |= _stems(" ".join(fam.keywords))
    words |= _stems(product_noun(facts).text)
    return words


def _material_values(facts: ProductFacts) -> list[str]:
    out = []
    for k, v in facts.attributes.items():
        label = realise.label_of(k)
        if label in realise.MATERIAL_LABELS or label.endswith(" material") or label in {"upholstery", "shell",
                                                                                        "outer", "body"}:
            out.append(v.lower())
    return out


def made_of_reasons(sentence: str, facts: ProductFacts) -> list[str]:
    reasons = []
    mats = _material_values(facts)
    for m in MADE_OF_RE.finditer(sentence):
        x = m.group(1).strip()
        xl = x.lower()
        if not xl:
            continue
        if realise.is_colour(x):
            reasons.append(f"'made of {x}': a colour is not a material")
            continue
        if any(xl in v or v in xl for v in mats):
            continue
        if realise.is_material(x):
            last = re.findall(r"[a-z][a-z\-]*", xl)[-1:] or [""]
            if len(x.split()) > 1 and not realise.is_material(last[0]) and last[0] not in MATERIAL_HEADS:
                # "Made of glass pipette dropper": glass is a material, a dropper is a part
                reasons.append(f"'made of {x}': names a part ({last[0]}), not a material")
            continue
        kind = realise.value_kind(x)
        if kind in {"finish", "duration", "dimension", "mass", "volume", "electric", "count", "percent", "rating",
                    "temperature", "connector"}:
            reasons.append(f"'made of {x}': a {kind} is not a material")
        elif kind in {"text", "list", "quantity"}:
            reasons.append(f"'made of {x}': not a material of this product")
    return reasons


def _participle_or_adjective(word: str) -> bool:
    w = word.lower().strip("-")
    return bool(re.search(r"(ed|en|ing|ful|ous|ive|able|ible|less|ish|ic|al|y)$", w)) or "-" in w


def opener_reasons(sentence: str, facts: ProductFacts, words: set[str] | None = None) -> list[str]:
    """An opening participle/adjective phrase must be made of the facts' words."""
    m = OPENER_RE.match(sentence.strip())
    if not m:
        return []
    opener = m.group(1)
    low = opener.lower()
    if low.startswith(SUBJECT_START) or len(opener.split()) > 8:
        return []
    first = opener.split()[0]
    if first.lower() in {"with", "from", "for", "in", "at", "whether", "if", "when", "while", "because", "as", "on",
                         "thanks", "like", "unlike", "after", "before", "since", "although", "though", "once",
                         "by", "to", "just", "so", "yes", "no", "meet", "available"}:
        return []
    if not _participle_or_adjective(first) and first.lower() not in FRAME_WORDS:
        return []
    words = words if words is not None else fact_words(facts)
    content = [w for w in re.findall(r"[a-z0-9]+", low) if w not in FRAME_WORDS and len(w) > 2]
    first_parts = [p for p in re.findall(r"[a-z0-9]+", first.lower()) if p not in FRAME_WORDS]
    if first_parts and not all(factlib._stem(p) in words for p in first_parts):
        return [f"opens with '{opener}', which is not one of the facts"]
    if content and not any(factlib._stem(w) in words for w in content):
        return [f"opens with '{opener}', which is not one of the facts"]
    return []


def predicate_reasons(sentence: str, facts: ProductFacts, words: set[str] | None = None) -> list[str]:
    """"<product> is a/an <noun phrase>": the head noun must be something the product can be."""
    s = sentence.strip()
    low = s.lower()
    title_low = facts.title.lower()
    m = COPULA_RE.search(s)
    if not m:
        return []
    before = low[: m.start()]
    if not (low.startswith(SUBJECT_START) or title_low[:20] in before or before.strip() == ""):
        return []
    if re.search(r"\b(that|which|who|where|when|if|because|so|while)\b", before):
        return []
    if "," in before and title_low[:20] not in before:
        return []
    np_words = []
    for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9'\-]*", m.group(1)):
        if w.lower() in STOP_AFTER_HEAD:
            break
        np_words.append(w.lower())
    if not np_words:
        return []
    head = np_words[-1]
    words = words if words is not None else fact_words(facts)
    head_stem = factlib._stem(head)
    if head in GENERIC_HEADS or head_stem in words or any(factlib._stem(p) in words for p in head.split("-")):
        return []
    if any(head_stem in _stems(" ".join(f.keywords)) for f in FAMILIES):
        return []  # another product type: the relevance check's contradiction test judges those
    return [f"says the product is '{' '.join(np_words)}', which the facts do not make it"]


def naming_reasons(sentence: str, facts: ProductFacts, role: str = "") -> list[str]:
    """How the sentence names the product: the full title without an article ("Helix Carbon Trekking Poles have
    …") reads wrong, and a body sentence that repeats the whole title reads like a spec sheet; an all-capitals
    name or code the facts lack ("an LCD screen") is an invented detail."""
    reasons = []
    title = facts.title.strip()
    core = re.sub(r"\s+\S*\d\S*(?:\s+(?:ml|l|g|kg|cm|mm|m|v|w))?$", "", title, flags=re.I)  # "... 125 ml"
    if len(core.split()) >= 3:
        low, core_low = sentence.lower(), core.lower()
        if low.startswith(core_low):
            reasons.append("names the product without an article")
        elif role == "body" and core_low in low:
            reasons.append("repeats the full product name")
    facts_text = " ".join([facts.title, facts.brand, facts.category, *facts.attributes.keys(),
                           *facts.attributes.values()]).lower()
    words = re.findall(r"[A-Za-z]+", sentence)
    shouting = words and sum(w.isupper() for w in words) >= len(words) / 2  # "HIGH DENSITY LOGO PRINT."
    for m in ([] if shouting else re.finditer(r"\b[A-Z]{2,6}\b", sentence)):
        if m.group(0).lower() not in facts_text and m.group(0) not in {"UK", "EU", "US", "OK"}:
            reasons.append(f"names {m.group(0)}, which is not in the facts")
    return reasons


# a verb that says which kind of quantity follows it ("weighs 20000 mAh" swaps two facts: both numbers are real)
VERB_DIMENSIONS = {"weighs": {"mass"}, "weigh": {"mass"}, "weighing": {"mass"},
                   "measures": {"length"}, "measure": {"length"}, "measuring": {"length"},
                   "holds": {"volume", "charge", "count", "mass"}, "hold": {"volume", "charge", "count", "mass"},
                   "lasts": {"time"}, "last": {"time"}}
_QTY_AFTER_RE = re.compile(r"\b(" + "|".join(VERB_DIMENSIONS) + r")\s+(?:up to |about |around |just |only |a total of "
                           r"|over |under |less than |more than |at least |approx\.? )?(\d[\d.,]*\s*(?:x\s*\d[\d.,]*\s*)*"
                           r"[a-z°%\"]*)", re.I)
_DIM_WORDS = {"long": "length", "wide": "length", "tall": "length", "high": "length", "deep": "length",
              "thick": "length", "across": "length"}


def _dimension_of(qty: str) -> str | None:
    m = re.match(r"^\d[\d.,]*(?:\s*x\s*\d[\d.,]*)*\s*([a-z°%\"]+)", qty.strip().lower())
    if not m:
        return None
    unit = m.group(1)
    for u in (unit, unit.rstrip("s")):
        if u in factlib.UNITS:
            return factlib.UNITS[u][0]
    return None


def binding_reasons(sentence: str) -> list[str]:
    """A quantity after a verb that names another kind ("weighs 20000 mAh", "holds 350 g" is fine, "is 2.6 kg
    long" is not): the facts are real but attached to the wrong property."""
    reasons = []
    for m in _QTY_AFTER_RE.finditer(sentence):
        dim = _dimension_of(m.group(2))
        if dim and dim not in VERB_DIMENSIONS[m.group(1).lower()]:
            reasons.append(f"'{m.group(1)} {m.group(2).strip()}': a {dim} quantity after '{m.group(1)}'")
    for m in re.finditer(r"\b(?:is|are)\s+(\d[\d.,]*\s*[a-z°%\"]+)\s+(long|wide|tall|high|deep|thick|across)\b",
                         sentence, re.I):
        dim = _dimension_of(m.group(1))
        if dim and dim != "length":
            reasons.append(f"'{m.group(1)} {m.group(2)}': a {dim} quantity is not a length")
    return reasons


def article_reasons(sentence: str) -> list[str]:
    """"comes in a graphite", "in a matte black": a colour takes no article."""
    out = []
    for m in re.finditer(r"\b(?:comes?|is|are|available|finished)\s+in\s+(?:an?)\s+([A-Za-z\- ]+?)(?=[.,;!?]|\s+and\b|$)",
                         sentence):
        phrase = m.group(1).strip()
        words = phrase.split()
        if words and (realise.is_colour(phrase) or (len(words) >= 2 and realise.is_colour(" ".join(words[1:]))
                                                    and words[0].lower() in {"matte", "matt", "gloss", "glossy",
                                                                             "metallic", "deep", "rich"})):
            out.append(f"'in a {phrase}': a colour takes no article")
    return out


TITLE_CONTRADICTION = "contradicts the title"


def colour_reasons(sentence: str, facts: ProductFacts) -> list[str]:
    """A colour the title contradicts: the catalogue's colour field says red, the title says "Mauve … Kurta"; a
    sentence stating red is backed by a fact and still wrong for the shopper, who sees the title."""
    conflicts = factlib.colour_conflicts(facts.title, facts.attributes)
    if not conflicts:
        return []
    title_fams = factlib.title_colour_families(facts.title)
    bad = set().union(*(factlib._colour_families(v) for v in conflicts.values())) - title_fams
    out = []
    for c in factlib.extract_claims(sentence):
        if c.kind == "colour" and not c.negated and c.key in bad and \
                not (factlib.COLOUR_ALT_FAMILIES.get(c.text, {c.key}) & title_fams):
            out.append(f"{TITLE_CONTRADICTION}: states {c.text!r}, the title says another colour")
    return out


def material_reasons(sentence: str, facts: ProductFacts) -> list[str]:
    """A material the title contradicts ("Made of cast iron, the … Stoneware mug …"), as for colours."""
    conflicts = factlib.material_conflicts(facts.title, facts.attributes)
    if not conflicts:
        return []
    bad = set().union(*(factlib.material_families(v) for v in conflicts.values())) - \
        factlib.material_families(facts.title)
    title_low = facts.title.lower()
    said = factlib.material_families(sentence.lower().replace(title_low, " "))
    return [f"{TITLE_CONTRADICTION}: states {', '.join(sorted(said & bad))}, the title says another material"] \
        if said & bad else []


def rule_reasons(sentence: str, facts: ProductFacts, role: str = "") -> list[str]:
    words = fact_words(facts)
    return made_of_reasons(sentence, facts) + opener_reasons(sentence, facts, words) + \
        predicate_reasons(sentence, facts, words) + naming_reasons(sentence, facts, role) + \
        binding_reasons(sentence) + article_reasons(sentence) + colour_reasons(sentence, facts) + \
        material_reasons(sentence, facts)


# --- the language model's acceptability score ------------------------------------------------------------

@dataclass
class SenseCalibration:
    threshold: float = DEFAULT_THRESHOLD  # a sentence whose mean token log-prob is below this reads wrong
    derivation: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_cal: SenseCalibration | None = None
_lock = threading.Lock()


def calibration() -> SenseCalibration:
    global _cal
    if _cal is None:
        with _lock:
            if _cal is None:
                if CALIBRATION_FILE.exists():
                    data = json.loads(CALIBRATION_FILE.read_text())
                    _cal = SenseCalibration(float(data["threshold"]), data.get("derivation", {}))
                else:
                    _cal = SenseCalibration()
    return _cal


def save_calibration(cal: SenseCalibration, path: Path = CALIBRATION_FILE) -> None:
    global _cal
    path.write_text(json.dumps(cal.as_dict(), indent=1) + "\n")
    _cal = None


def context_for(facts: ProductFacts) -> str:
    return f"Product: {facts.title}. Description:"


def lm_scores(model: Any, items: Sequence[tuple[ProductFacts, str]]) -> list[float | None]:
    """Mean token log-probability of each sentence given its product's title; None without a scoring model."""
    if model is None or not hasattr(model, "token_logprobs"):
        return [None] * len(items)
    try:
        rows = model.token_logprobs([(context_for(f), " " + s.strip()) for f, s in items])
    except NotImplementedError:
        return [None] * len(items)
    return [sum(r) / len(r) if r else None for r in rows]


@dataclass
class SenseVerdict:
    text: str
    reasons: list[str] = field(default_factory=list)
    lm_score: float | None = None

    @property
    def ok(self) -> bool:
        return not self.reasons


def check(items: Sequence[tuple[ProductFacts, str]], model: Any = None,
          cal: SenseCalibration | None = None, roles: Sequence[str] | None = None) -> list[SenseVerdict]:
    """Rules for every sentence; the LM score too when ``model`` can score. ``roles`` ("opening", "body" …) lets
    a body sentence be judged as one."""
    cal = cal or calibration()
    scores = lm_scores(model, items)
    roles = roles or [""] * len(items)
    out = []
    for (facts, sentence), score, role in zip(items, scores, roles, strict=True):
        v = SenseVerdict(sentence, rule_reasons(sentence, facts, role), score)
        if score is not None and score < cal.threshold:
            v.reasons.append(f"reads wrong (LM score {score:.2f} < {cal.threshold:.2f})")
        out.append(v)
    return out


def calibrate(model: Any, items: Sequence[tuple[ProductFacts, str]], *, quantile: float = 0.05,
              margin: float = 0.5, source: str = "") -> tuple[SenseCalibration, dict[str, Any]]:
    """Threshold = the human sentences' ``quantile`` minus ``margin`` nats ("far below the 5th percentile")."""
    import numpy as np

    scores = np.array([s for s in lm_scores(model, items) if s is not None])
    q = float(np.quantile(scores, quantile))
    threshold = round(q - margin, 4)
    derivation = {"source": source, "n_sentences": int(scores.size),
                  "rule": f"threshold = {quantile:.2f} quantile of human sentences' mean token log-prob - {margin}",
                  "quantiles": {str(p): round(float(np.quantile(scores, p)), 4) for p in (0.01, 0.02, 0.05, 0.1, 0.5)},
                  "human_failure_rate": round(float(np.mean(scores < threshold)), 4)}
    return SenseCalibration(threshold, derivation), {"scores": scores}
