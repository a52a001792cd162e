"""Is every word of a sentence licensed? An invented-content check that does not depend on the generator.

The fact checker looks for claims it can parse (numbers, materials, colours, names); it misses invented details
that are plain words: "with a built-in USB port and an LCD screen", "is made to measure", "available at the
market", "keeping warm in a cozy 6 hours". This check is blunter and independent of how the sentence was made:
every **content word** of the sentence must be *licensed* by

* the product's own words: title, brand, every category segment, attribute names and values, the product noun
  (with colour shades licensing their colour family and the material lexicon's synonyms), and the merchant's
  style options (keywords, audience); or
* a small, fixed, domain-neutral vocabulary of copy words (:data:`GENERIC`): function words, the verbs and
  connectives every description uses ("designed", "keeps", "offers", "ready"), and a few evaluative words
  that claim nothing checkable ("everyday", "comfortable", "practical", "simple").

Numbers and units are the fact checker's job and are skipped here. A word that is neither is reported: the
sentence *invents* it. :data:`GENERIC` was written once from general shop-copy knowledge, and it holds every
frame word the stand-in itself uses (:mod:`copywriter.ml.realise`, :mod:`copywriter.ml.plan`), so a stand-in
sentence always passes; it is not tuned to any fixture's model output. Human copy fails this check often,
because people state details the structured data lacks (that is the point: a 135M model must not);
``bench``/README report that rate.

No Django, no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import facts as factlib
from .inputs import ProductFacts

_FUNCTION = """a an the and or but nor so yet if then than as at by for from in into of off on onto out over to
up down with within without about above across after against along among around before behind below beneath
beside between beyond during except inside near next outside past since through throughout toward towards under
underneath until upon via per plus both either neither each every all any some many much more most less least
few fewer several enough own same other another such what which who whom whose whatever whichever where when
while why how wherever whenever this that these those it its it's itself they them their theirs themselves
you your yours yourself we us our ours i me my he she his her one ones is are was were be been being am do does
did done doing have has had having can could may might must shall should will would not no nor never only just
also too very quite rather really even still again ever already here there now well almost always often
""".split()

# the verbs, nouns and connectives of shop copy that claim nothing a shopper could check
_COPY = """make makes made making design designs designed designing craft crafted build built create created
offer offers offered feature features featured featuring include includes included including come comes coming
keep keeps kept keeping hold holds holding give gives bring brings let lets help helps add adds adding provide
provides use uses used using work works working carry carries take takes get gets go goes going enjoy enjoys
choose need needs want wants love loves find pair pairs paired wear wears worn wearing finish finished stay stays
last lasts lasting look looks feel feels suit suits suited meet meets ready set sets put puts turn turns move
moves stand stands sit sits fit fits fitting fitted start starts run runs bring brings live living serve serves
measures weigh weighs weighing contain contains reach reaches rate rated rating power powered
charge charges connect connects support supports track tracks cover covers fill filled open opens settle settles
sell sold pack packs packed mean means show shows shown handle handles close closes protect protects protection
say
day days daily everyday every-day time times moment moments way ways life routine hand hands thing things
everything anything something nothing lot bit part parts side sides piece pieces item items product products
detail details touch touches choice choices pick picks option options addition essential essentials staple
companion favourite favorite classic range collection style styles look looks feel design designs finish
version model edition kind type sort use uses purpose need needs job task
ready easy easier easily simple simply practical comfortable comfortably comfort everyday versatile neat
clean cleanly smart smartly stylish elegant beautiful beautifully lovely timeless modern perfect perfectly
ideal ideally great good better best nice fine right true full fully whole complete total extra plenty
new little small large big long short wide high low light heavy soft firm quick quickly fast slow first last
next main single double ready-to-use well-made thoughtfully thoughtful careful carefully clear clearly
generous generously handy convenient conveniently reliable dependable solid steady effortless effortlessly
free freely natural naturally proper properly real
ahead away back together apart along alone around inside outside underneath top bottom front rear
anyone everyone someone people person user users available like alike anywhere everywhere whether""".split()

# frame words of the stand-in (realise.py / plan.py): they must pass, so a stand-in always does
_FRAMES = """finished adjustable suitable suits ages age stage pets pet drinks cold hot warm notes heart settles
torque load players seats protection battery cable screen resolution brightness output instructions care
machine washed washable wiped wash hand wipe away certified technology upholstered filled smoked shapes
functions modes presets inputs ports ingredients scent flavour flavor origin unisex sold pair requires needs
assembly needed no-tools tool-free accessories accessory size sizes colours colors colour color assorted
weight length height width depth diameter thickness capacity volume across tall deep thick long wide rated
compatible built-in mounts takes runs burns plays sleeps serves servings charge includes pack surfaces brush heads refined fun well-specified measures lasts reaches covers refreshes puts delivers""".split()

_UNITS_SPELT = """millimetre millimetres millimeter millimeters centimetre centimetres centimeter centimeters metre
metres meter meters kilometre kilometres inch inches foot feet gram grams kilogram kilograms kilo kilos pound
pounds ounce ounces litre litres liter liters millilitre millilitres milliliter milliliters second seconds
minute minutes hour hours day days week weeks month months year years watt watts volt volts degree degrees
percent piece pieces pair pairs pack""".split()

GENERIC: frozenset[str] = frozenset(_FUNCTION + _COPY + _FRAMES + _UNITS_SPELT + list(factlib.NUMBER_WORDS)
                                    + ["zero", "hundred", "thousand", "half", "twice", "once"])

_SPELLING = ((r"colour", "color"), (r"flavour", "flavor"), (r"fibre", "fiber"), (r"aluminium", "aluminum"),
             (r"grey", "gray"), (r"centre", "center"), (r"metre", "meter"), (r"litre", "liter"),
             (r"organis", "organiz"), (r"favourite", "favorite"), (r"jewellery", "jewelry"), (r"mould", "mold"))
_SUFFIXES = ("ically", "ations", "ation", "ating", "ated", "ates", "ness", "ments", "ment", "ingly", "ings", "ing", "edly", "ers", "er",
             "ies", "ied", "ed", "es", "ly", "s")


def root(word: str) -> str:
    """A crude, symmetric stem (the same on both sides is all that matters): "insulated"/"insulation" ->
    "insul", "colours"/"colored" -> "color"."""
    w = word.lower().strip("'-").replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for a, b in _SPELLING:
        w = w.replace(a, b)
    if len(w) <= 4:
        return w[:-1] if len(w) == 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")) else w
    for suf in _SUFFIXES:
        if suf == "es" and w.endswith("es") and not re.search(r"(?:s|x|z|ch|sh)es$", w):
            continue  # "tyres" -> "tyre", "shoes" -> "shoe" (the "s" rule below), but "boxes" -> "box"
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            base = w[: -len(suf)]
            if suf in {"ies", "ied"}:
                base += "y"
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "ls":  # "fitted" -> "fit"
                base = base[:-1]
            return base.rstrip("e") if len(base) > 4 else base
    return w.rstrip("e") if len(w) > 5 else w


_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


def _generic(word: str) -> bool:
    """Exact forms only (a plural "s" aside): the generic list must not license by stem ("measures" is a frame
    word; "made to measure" is an invented claim)."""
    return word in GENERIC or (word.endswith("s") and word[:-1] in GENERIC)


def _parts(text: str) -> list[str]:
    out = []
    for m in _WORD_RE.finditer(text):
        w = m.group(0).strip("'’-")
        if not w:
            continue
        out.append(w)
    return out


def licensed_roots(facts: ProductFacts, extra: Iterable[str] = ()) -> set[str]:
    """The roots of every word the product's input (and the merchant's options) licenses."""
    from .plan import family_of, product_noun

    fam = family_of(facts)
    texts = [facts.title, facts.brand, facts.category.replace(">", " "), product_noun(facts).text,
             fam.use if fam else "", *extra]
    for k, v in facts.attributes.items():
        texts += [k.replace("_", " "), v]
    words = set()
    for w in _parts(" ".join(texts)):
        low = w.lower()
        words.add(low)
        for piece in re.split(r"[-']", low):
            if piece:
                words.add(piece)
    for w in list(words):  # a shade licenses its colour family ("navy" -> "blue"), a material its synonyms
        fam = factlib.COLOUR_FAMILIES.get(w)
        if fam:
            words.add(fam)
            words |= factlib.COLOUR_ALT_FAMILIES.get(w, set())
        canon = factlib.MATERIALS.get(w)
        if canon:
            words |= set(canon.split())
            words |= {n for n, c in factlib.MATERIALS.items() if c == canon and "-" not in n}
    return {root(w) for w in words} | words


def _skippable(word: str) -> bool:
    low = word.lower()
    return low in factlib.UNITS or len(low) <= 1 or bool(re.fullmatch(r"[a-z]{1,2}\d*", low) and low in {
        "x", "ml", "cm", "mm", "kg", "g", "l", "w", "v", "h", "m", "oz", "lb", "in", "ft"})


def invented_words(sentence: str, facts: ProductFacts, extra: Iterable[str] = (),
                   licensed: set[str] | None = None) -> list[str]:
    """The content words of ``sentence`` that neither the product's input nor the generic copy vocabulary
    licenses, in order of appearance (each once)."""
    lic = licensed if licensed is not None else licensed_roots(facts, extra)
    out: list[str] = []
    for w in _parts(sentence):
        low = w.lower().replace("’", "'")
        if _skippable(low) or _generic(low) or low in lic:
            continue
        pieces = [p for p in re.split(r"[-']", low) if p and p != "s"]
        ok = all(_generic(p) or p in lic or root(p) in lic or _skippable(p) for p in pieces)
        if ok or root(low) in lic:
            continue
        if all(o.lower() != low for o in out):
            out.append(w)
    return out


def style_extra(keywords: Sequence[str] = (), audience: str = "") -> list[str]:
    return [*keywords, audience] if audience else list(keywords)


@dataclass
class GroundingVerdict:
    text: str
    invented: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.invented


def check(items: Sequence[tuple[ProductFacts, str]], extra: Iterable[str] = ()) -> list[GroundingVerdict]:
    extra = list(extra)
    cache: dict[int, set[str]] = {}
    out = []
    for facts, sentence in items:
        lic = cache.setdefault(id(facts), licensed_roots(facts, extra))
        out.append(GroundingVerdict(sentence, invented_words(sentence, facts, licensed=lic)))
    return out


def reasons(sentence: str, facts: ProductFacts, extra: Iterable[str] = ()) -> list[str]:
    words = invented_words(sentence, facts, extra)
    return [f"invents {', '.join(repr(w) for w in words[:6])}"] if words else []
