"""Fact checker: extract the factual claims of a draft and compare them with the product's input.

A claim is something a shopper could hold the merchant to: a quantity with a unit (ranges and cm/mm/inch
conversions included), a bare count, a size, a material, a colour, a certification, a warranty term, a
compatibility statement, a brand or proper name, an origin, or a (possibly negated) feature such as
"waterproof". Every claim of the draft must be backed by the input (title, brand, category, attribute
names and values); the rest are ``unsupported_facts``. Attribute coverage says which input attributes the
draft mentions.

Pure Python, no Django, no model: deterministic and fast enough to run on every sampled candidate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# --- lexicons ------------------------------------------------------------------------------------

# shade -> colour family. A draft colour is supported when its family occurs in the input.
COLOUR_FAMILIES: dict[str, str] = {}
for family, shades in {
    "red": "red crimson scarlet maroon burgundy wine cherry ruby rust",
    "pink": "pink rose blush fuchsia magenta peach coral salmon",
    "orange": "orange tangerine amber",
    "yellow": "yellow mustard lemon gold golden",
    "green": "green olive lime mint emerald sage teal khaki",
    "blue": "blue navy cobalt azure sky turquoise aqua indigo denim-blue",
    "purple": "purple violet lavender lilac mauve plum",
    "brown": "brown tan chocolate coffee camel bronze copper-brown mocha taupe",
    "beige": "beige cream ivory nude sand ecru",
    "white": "white off-white offwhite cream ivory snow",
    "black": "black jet onyx",
    "grey": "grey gray charcoal silver slate ash graphite melange",
    "multi": "multicolour multicolor multicoloured multicolored rainbow",
    "transparent": "transparent see-through",
}.items():
    for shade in shades.split():
        COLOUR_FAMILIES.setdefault(shade, family)
# cream/ivory are commonly white-ish or beige-ish: accept either family.
COLOUR_ALT_FAMILIES = {"cream": {"white", "beige"}, "ivory": {"white", "beige"}, "khaki": {"green", "beige"},
                       "tan": {"brown", "beige"}, "gold": {"yellow", "gold"}, "golden": {"yellow", "gold"},
                       "teal": {"green", "blue"}, "turquoise": {"blue", "green"}, "silver": {"grey", "silver"},
                       "maroon": {"red", "brown"}, "navy": {"blue"}, "peach": {"pink", "orange"}}

# material -> canonical name (synonyms collapse)
MATERIALS: dict[str, str] = {}
for canon, names in {
    "cotton": "cotton", "polyester": "polyester poly", "leather": "leather", "faux leather":
    "faux-leather pu-leather vegan-leather leatherette pu", "suede": "suede", "wool": "wool woollen woolen merino",
    "cashmere": "cashmere", "silk": "silk silken", "linen": "linen", "denim": "denim", "nylon": "nylon",
    "spandex": "spandex elastane lycra", "viscose": "viscose rayon modal", "acrylic": "acrylic",
    "fleece": "fleece", "velvet": "velvet", "canvas": "canvas", "jute": "jute", "mesh": "mesh",
    "steel": "steel", "stainless steel": "stainless-steel", "iron": "iron cast-iron", "copper": "copper",
    "brass": "brass", "aluminium": "aluminium aluminum", "titanium": "titanium", "zinc": "zinc",
    "silver": "sterling-silver", "wood": "wood wooden", "oak": "oak", "walnut": "walnut", "pine": "pine",
    "bamboo": "bamboo", "glass": "glass", "plastic": "plastic abs polypropylene polycarbonate",
    "silicone": "silicone", "rubber": "rubber", "latex": "latex", "ceramic": "ceramic porcelain stoneware",
    "marble": "marble", "granite": "granite", "stone": "stone", "foam": "foam memory-foam", "down": "down-filled",
    "carbon fibre": "carbon-fibre carbon-fiber", "crepe": "crepe", "chiffon": "chiffon", "georgette": "georgette",
    "satin": "satin", "net": "net", "lace": "lace", "knit": "knit knitted", "khadi": "khadi", "chambray": "chambray",
    "corduroy": "corduroy", "tweed": "tweed", "paper": "paper cardboard", "vinyl": "vinyl pvc",
}.items():
    for n in names.split():
        MATERIALS[n] = canon
# a draft that says "steel" is supported by "stainless steel", not the other way round
MATERIAL_PARENTS = {"stainless steel": {"steel"}, "faux leather": {"leather"}, "oak": {"wood"}, "walnut": {"wood"},
                    "pine": {"wood"}, "bamboo": {"wood"}, "silver": {"silver"}}

CERTIFICATIONS = {
    "ce", "fcc", "rohs", "ul", "etl", "fda", "gots", "oeko-tex", "oekotex", "fsc", "energy star", "bpa-free",
    "bpa free", "iso", "bis", "isi", "cruelty-free", "fairtrade", "fair trade", "usda organic", "leed", "reach",
}
CERT_RE = re.compile(
    r"\b(ip[x0-9]\d|ipx\d|iso\s?\d{3,5}|energy\s+star|oeko[- ]?tex(?:\s+standard\s+100)?|bpa[- ]free|"
    r"cruelty[- ]free|fair\s?trade|usda\s+organic|gots|fsc|rohs|fcc|ce|ul|etl|fda|isi|bis)\b(?:[- ]certified)?",
    re.I,
)
# a certification word needs a little context for the short ambiguous ones (CE, UL, BIS)
SHORT_AMBIGUOUS_CERTS = {"ce", "ul", "bis", "isi", "etl", "fda"}

FEATURES: dict[str, str] = {}
for canon, names in {
    "waterproof": "waterproof water-proof", "water-resistant": "water-resistant water-repellent",
    "wireless": "wireless cordless", "rechargeable": "rechargeable", "dishwasher-safe": "dishwasher-safe",
    "machine-washable": "machine-washable", "microwave-safe": "microwave-safe", "oven-safe": "oven-safe",
    "adjustable": "adjustable", "foldable": "foldable collapsible folding", "non-slip": "non-slip anti-slip slip-resistant",
    "breathable": "breathable", "stretchable": "stretchable stretch stretchy", "organic": "organic",
    "handmade": "handmade handcrafted hand-made", "vegan": "vegan", "recyclable": "recyclable recycled",
    "eco-friendly": "eco-friendly sustainable sustainably biodegradable", "hypoallergenic": "hypoallergenic", "reversible": "reversible",
    "insulated": "insulated", "padded": "padded", "lined": "lined", "quick-dry": "quick-dry quick-drying",
    "uv-protection": "uv-protection", "anti-bacterial": "anti-bacterial antibacterial antimicrobial",
    "bluetooth": "bluetooth", "portable": "portable", "lightweight": "lightweight",
    "scratch-resistant": "scratch-resistant", "shatterproof": "shatterproof shatter-proof",
    "assembly-required": "assembly-required", "noise-cancelling": "noise-cancelling noise-canceling",
}.items():
    for n in names.split():
        FEATURES[n] = canon
# marketing-neutral features that a description may state loosely without it being a spec claim
SOFT_FEATURES = {"lightweight", "portable", "stretchable", "breathable", "padded", "lined"}

NEGATORS = {"not", "no", "non", "without", "never", "isn't", "aren't", "isnt", "arent", "lacks", "free"}

SIZE_RE = re.compile(
    r"\b(?:size[sd]?\s*:?\s*)((?:\d{1,2}x?l|x{0,3}[sml]|xxs|xs|xl|xxl|xxxl|\d{1,3}(?:\.\d)?)"
    r"(?:\s*(?:-|to|/|,)\s*(?:\d{1,2}x?l|x{0,3}[sml]|xs|xl|xxl|\d{1,3}(?:\.\d)?))*)\b"
    r"|\b((?:uk|us|eu|in)\s?\d{1,2}(?:\.5)?)\b"
    r"|\b(xxs|xs|xxl|xxxl|[2-5]xl)\b",
    re.I,
)

NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "single": 1, "double": 2, "triple": 3}

# unit -> (dimension, factor to base unit)
UNITS: dict[str, tuple[str, float]] = {
    "mm": ("length", 1.0), "millimeter": ("length", 1.0), "millimetre": ("length", 1.0),
    "cm": ("length", 10.0), "centimeter": ("length", 10.0), "centimetre": ("length", 10.0),
    "m": ("length", 1000.0), "meter": ("length", 1000.0), "metre": ("length", 1000.0),
    "in": ("length", 25.4), "inch": ("length", 25.4), "inches": ("length", 25.4), '"': ("length", 25.4),
    "ft": ("length", 304.8), "feet": ("length", 304.8), "foot": ("length", 304.8),
    "mg": ("mass", 0.001), "g": ("mass", 1.0), "gram": ("mass", 1.0), "gsm": ("areal", 1.0),
    "kg": ("mass", 1000.0), "kilogram": ("mass", 1000.0), "lb": ("mass", 453.592), "lbs": ("mass", 453.592),
    "pound": ("mass", 453.592), "oz": ("mass", 28.3495), "ounce": ("mass", 28.3495),
    "ml": ("volume", 1.0), "l": ("volume", 1000.0), "liter": ("volume", 1000.0), "litre": ("volume", 1000.0),
    "gallon": ("volume", 3785.41), "fl oz": ("volume", 29.5735),
    "w": ("power", 1.0), "watt": ("power", 1.0), "kw": ("power", 1000.0),
    "v": ("voltage", 1.0), "volt": ("voltage", 1.0), "mah": ("charge", 1.0), "ah": ("charge", 1000.0),
    "hz": ("frequency", 1.0), "khz": ("frequency", 1e3), "mhz": ("frequency", 1e6), "ghz": ("frequency", 1e9),
    "gb": ("data", 1.0), "tb": ("data", 1024.0), "mb": ("data", 1 / 1024),
    "mp": ("pixels", 1.0), "dpi": ("dpi", 1.0), "rpm": ("rpm", 1.0), "db": ("db", 1.0),
    "°c": ("temperature_c", 1.0), "c": ("temperature_c", 1.0), "°f": ("temperature_f", 1.0),
    "hour": ("time", 60.0), "hr": ("time", 60.0), "h": ("time", 60.0), "minute": ("time", 1.0),
    "min": ("time", 1.0), "day": ("time", 1440.0), "week": ("time", 10080.0),
    "month": ("time", 43800.0), "year": ("time", 525600.0), "yr": ("time", 525600.0),
    "%": ("percent", 1.0), "percent": ("percent", 1.0), "pcs": ("count", 1.0), "piece": ("count", 1.0),
    "pack": ("count", 1.0), "pair": ("count", 1.0), "seater": ("count", 1.0), "ply": ("count", 1.0),
    "x": ("multiplier", 1.0), "k": ("resolution", 1.0), "p": ("resolution_p", 1.0),
}
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
_NUM = r"(\d+(?:[.,]\d+)?(?:\s*/\s*\d+)?)"
QUANTITY_RE = re.compile(
    rf"{_NUM}(?:\s*(?:-|–|to|x|×|by)\s*{_NUM})?(?:\s*(?:-|–|to|x|×|by)\s*{_NUM})?\s*-?\s*({_UNIT_ALT})(?:e?s)?(?![a-z])",
    re.I,
)
BARE_NUMBER_RE = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(?![\w.])")
COUNT_WORD_RE = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")[- ]([a-z]+)", re.I)
WARRANTY_RE = re.compile(
    r"(\d+|one|two|three|four|five|ten|lifetime)[- ]?(year|yr|month|day)?s?[- ]?(?:limited\s+)?(warranty|guarantee)"
    r"|(warranty|guarantee)\s*(?:of|:|for|-)?\s*(\d+|one|two|three|five|ten|lifetime)\s*(year|yr|month|day)?s?",
    re.I,
)
COMPAT_RE = re.compile(
    r"\b(?i:compatible with|works with|designed for use with|fits(?: all)?|suitable for)\s+"
    r"((?:the\s+)?[A-Za-z0-9][\w\-\+]*(?:\s+(?:[A-Z0-9][\w\-\+]*|and|&|or))*(?:\s+[\w\-\+]+)?)",
)
ORIGIN_RE = re.compile(r"\bmade in\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)")

STOPWORDS = set(
    """a an the and or of for with in on at to from by as is are be this that these those it its your you our
    we has have had will can made make makes was were very more most so such into onto over under up down out
    any all each every other some than then too also just only both their there which who whom what when
    where why how style look looks feel feels perfect great ideal new day days wear comes come featuring
    features feature designed design crafted piece item product one pair set""".split()
)
# capitalised words that are not names even mid-sentence
COMMON_CAPS = set(
    """I Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July
    August September October November December Christmas Diwali Eid Easter Halloween SEO USB LED LCD HD AC DC
    UV PU ABS OK TV PC DIY FAQ N/A Details Keywords Category""".split()
)
WELL_KNOWN_BRANDS = set(
    """nike adidas puma reebok apple samsung sony lg philips bosch ikea gucci prada zara levis levi's gap h&m
    uniqlo dell hp lenovo asus acer microsoft google amazon canon nikon panasonic xiaomi huawei oneplus
    dyson tefal braun rolex casio fossil titan ray-ban oakley tommy calvin lacoste armani versace
    chanel dior hermes burberry converse vans fila asics skechers crocs timberland""".split()
)


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("”", '"').replace("″", '"').replace("“", '"')
    return re.sub(r"\s+", " ", text)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9'\-&+]*", text.lower())


def _stem(word: str) -> str:
    w = word.lower().strip("'-")
    for suf in ("ies", "es", "s"):
        if len(w) > 4 and w.endswith(suf) and not w.endswith("ss"):
            return w[: -len(suf)] + ("y" if suf == "ies" else "")
    return w


def _to_float(s: str) -> float:
    s = s.replace(",", ".").replace(" ", "")
    if "/" in s:
        a, b = s.split("/", 1)
        try:
            return float(a) / float(b)
        except (ValueError, ZeroDivisionError):
            return float("nan")
    try:
        return float(s)
    except ValueError:
        return float("nan")


def _unit_key(u: str) -> str:
    u = u.lower().strip()
    if u in UNITS:
        return u
    if u.endswith("s") and u[:-1] in UNITS:
        return u[:-1]
    return u


# --- claims ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    kind: str  # quantity, count, size, material, colour, certification, warranty, compatibility, name, origin, feature
    text: str  # as it appears in the draft
    key: str  # canonical form used for comparison
    values: tuple[float, ...] = ()
    dimension: str = ""
    negated: bool = False
    span: tuple[int, int] = (0, 0)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "negated": self.negated}


@dataclass
class FactReport:
    claims: list[Claim]
    unsupported: list[Claim]
    covered_attributes: list[str]
    missing_attributes: list[str]
    unsupported_sentences: list[int] = field(default_factory=list)

    @property
    def unsupported_facts(self) -> list[dict[str, Any]]:
        return [c.as_dict() for c in self.unsupported]

    @property
    def coverage(self) -> float:
        total = len(self.covered_attributes) + len(self.missing_attributes)
        return 1.0 if total == 0 else len(self.covered_attributes) / total

    def as_dict(self) -> dict[str, Any]:
        return {
            "unsupported_facts": self.unsupported_facts,
            "covered_attributes": self.covered_attributes,
            "missing_attributes": self.missing_attributes,
            "coverage": round(self.coverage, 4),
            "claims": len(self.claims),
        }


def _negated_before(text: str, start: int) -> bool:
    window = re.split(r"[.;:!?\n]", text[max(0, start - 40): start])[-1]  # a negation never crosses a sentence
    before = _tokens(window)[-3:]
    if any(t in NEGATORS for t in before[-2:]) and not (before and before[-1] == "free"):
        return True
    return bool(re.search(r"(?:non|anti|not)-$", text[max(0, start - 5): start].lower()))


def extract_claims(text: str) -> list[Claim]:
    """All factual claims in ``text`` (draft or source), in order of appearance."""
    text = _norm(text)
    low = text.lower()
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []

    def overlaps(a: int, b: int) -> bool:
        return any(a < y and x < b for x, y in taken)

    # warranty first: "2 year warranty" must not also count as a bare 2-year quantity
    for m in WARRANTY_RE.finditer(text):
        amount = (m.group(1) or m.group(5) or "").lower()
        unit = (m.group(2) or m.group(6) or "year").lower()
        if amount == "lifetime":
            key = "warranty:lifetime"
        else:
            n = NUMBER_WORDS.get(amount, None) if not amount.isdigit() else int(amount)
            if amount == "one":
                n = 1
            months = (n or 0) * {"year": 12, "yr": 12, "month": 1, "day": 1 / 30}[unit]
            key = f"warranty:{round(months, 2)}m"
        claims.append(Claim("warranty", m.group(0), key, span=m.span()))
        taken.append(m.span())

    for m in QUANTITY_RE.finditer(text):
        if overlaps(*m.span()):
            continue
        unit = _unit_key(m.group(4))
        # single letters are units only right after a number ("5 m", "10 l"), never words like "a"
        raw_vals = [g for g in (m.group(1), m.group(2), m.group(3)) if g]
        dim, factor = UNITS.get(unit, ("", 1.0))
        if unit in {"x", "k", "p", "c", "h", "in", "m", "l", "v", "w", "g"}:
            # ambiguous one-letter units: require no space for x/k/p ("4k", "1080p", "2x")
            gap = text[m.start(): m.end()]
            if unit in {"x", "k", "p"} and re.search(r"\d\s+[xkp]", gap, re.I):
                continue
            if unit == "in" and not re.search(r"\d\s*in(?:ch|\b)", gap, re.I):
                continue
            if unit == "in" and re.match(r"\s+[a-z]", text[m.end(): m.end() + 3]):
                continue  # "2 in a pack" / "3 in 1": the preposition, not inches
            if unit == "c" and re.search(r"\d\s+c\b", gap, re.I):
                continue  # "40 h" is how spec sheets write hours; a spaced "5 c" is rarely Celsius
        vals = tuple(_to_float(v) * factor for v in raw_vals)
        claims.append(Claim("quantity", m.group(0), f"{dim}", vals, dim, _negated_before(text, m.start()), m.span()))
        taken.append(m.span())

    for m in SIZE_RE.finditer(text):
        if overlaps(*m.span()):
            continue
        val = (m.group(1) or m.group(2) or m.group(3) or "").lower().replace(" ", "")
        if not val:
            continue
        claims.append(Claim("size", m.group(0), f"size:{val}", span=m.span()))
        taken.append(m.span())

    for m in COUNT_WORD_RE.finditer(text):
        if overlaps(*m.span()):
            continue
        noun = m.group(2).lower()
        if noun in STOPWORDS or noun in {"times", "ways", "tone", "toned"}:
            continue
        n = NUMBER_WORDS[m.group(1).lower()]
        claims.append(Claim("count", m.group(0), "count", (float(n),), "count", span=m.span()))
        taken.append(m.span())

    for m in BARE_NUMBER_RE.finditer(text):
        if overlaps(*m.span()):
            continue
        claims.append(Claim("count", m.group(0), "count", (_to_float(m.group(1)),), "count",
                            _negated_before(text, m.start()), m.span()))
        taken.append(m.span())

    for m in CERT_RE.finditer(text):
        if overlaps(*m.span()):
            continue
        word = m.group(1).lower()
        compact = re.sub(r"[\s-]+", "", word)
        if compact in SHORT_AMBIGUOUS_CERTS:
            # "CE" must be upper-case in the text and look like a mark, not the word "ul"
            if m.group(1) != m.group(1).upper() or len(m.group(1)) < 2:
                continue
        claims.append(Claim("certification", m.group(0), f"cert:{compact}", span=m.span()))
        taken.append(m.span())

    for m in COMPAT_RE.finditer(text):
        target = m.group(1).strip()
        words = [w for w in _tokens(target) if w not in STOPWORDS]
        if not words:
            continue
        # "suitable for" + an audience word is not compatibility
        if m.group(0).lower().startswith("suitable for") and words[0] in {
            "men", "women", "kids", "boys", "girls", "everyone", "all", "daily", "everyday", "casual", "formal",
            "work", "office", "parties", "party", "travel", "outdoor", "indoor", "home", "adults", "children",
        }:
            continue
        claims.append(Claim("compatibility", m.group(0), "compat:" + " ".join(words[:4]), span=m.span()))

    for m in ORIGIN_RE.finditer(text):
        claims.append(Claim("origin", m.group(0), "origin:" + m.group(1).lower(), span=m.span()))

    # word-level lexicons: colours, materials, features (two-word forms joined by a hyphen first)
    joined = re.sub(r"\b(stainless|faux|pu|vegan|sterling|carbon|memory|cast|off|water|dishwasher|machine|microwave"
                    r"|oven|non|anti|slip|quick|noise|hand|eco|scratch|shatter|uv|bpa|cruelty|down)[\s]+"
                    r"(steel|leather|silver|fibre|fiber|foam|iron|white|proof|resistant|repellent|safe|washable"
                    r"|slip|dry|drying|cancelling|canceling|made|friendly|protection|free|filled)\b",
                    lambda mm: mm.group(1) + "-" + mm.group(2), low)
    for m in re.finditer(r"[a-z][a-z\-']*", joined):
        word = m.group(0).strip("-'")
        start = m.start()
        if overlaps(start, m.end()):
            continue
        negated = _negated_before(joined, start)
        if word.startswith(("non-", "anti-")) and word not in FEATURES:
            continue
        if word in COLOUR_FAMILIES:
            claims.append(Claim("colour", word, COLOUR_FAMILIES[word], negated=negated, span=m.span()))
        elif word in MATERIALS and re.match(r"[\s-]+([a-z]+)", joined[m.end(): m.end() + 15]) and \
                re.match(r"[\s-]+([a-z]+)", joined[m.end(): m.end() + 15]).group(1) in COLOUR_FAMILIES:
            continue  # "stone grey", "sand beige": a shade, not a material
        elif word in MATERIALS and not (word == "net" and "net " in joined[m.end(): m.end() + 1]):
            if word in {"down", "net", "poly", "pu", "knit", "stone", "paper"} and not _material_context(joined, m):
                continue
            claims.append(Claim("material", word, MATERIALS[word], negated=negated, span=m.span()))
        elif word in FEATURES:
            claims.append(Claim("feature", word, FEATURES[word], negated=negated, span=m.span()))

    # names: well-known brands anywhere; other capitalised words mid-sentence (an invented name or brand)
    for m in re.finditer(r"(?<![\w'])([A-Z][\w&'\-]*[A-Za-z0-9](?:\s+[A-Z][\w&'\-]*[A-Za-z0-9])*)", text):
        phrase = m.group(1)
        start = m.start()
        prev = text[:start].rstrip()
        sentence_start = not prev or prev[-1] in ".!?:;\n•-*" or prev.endswith(("\u2022",))
        words = phrase.split()
        if sentence_start:
            words = words[1:] if words and words[0].lower() not in WELL_KNOWN_BRANDS else words
        words = [w for w in words if w not in COMMON_CAPS and w.lower() not in STOPWORDS]
        words = [w for w in words if w.lower() not in COLOUR_FAMILIES and w.lower() not in MATERIALS
                 and w.lower() not in FEATURES]
        if not words:
            continue
        if any(overlaps(start, start + len(phrase)) for _ in [0]) and not any(
            w.lower() in WELL_KNOWN_BRANDS for w in words):
            continue
        claims.append(Claim("name", " ".join(words), "name:" + " ".join(w.lower() for w in words), span=m.span()))

    claims.sort(key=lambda c: c.span)
    return claims


def _material_context(text: str, m: re.Match) -> bool:
    window = text[max(0, m.start() - 25): m.end() + 25]
    return bool(re.search(r"\b(made of|made from|fabric|material|upper|lining|shell|fill|%)\b", window))


# --- the input side ----------------------------------------------------------------------------

_UNIT_IN_KEY = re.compile(r"(?:[_\s(\[]|^)(" + _UNIT_ALT + r")s?[)\]]?$", re.I)
_NEGATIVE_VALUES = {"no", "false", "none", "n/a", "not", "0", "without"}
_POSITIVE_VALUES = {"yes", "true", "y", "1"}


@dataclass
class Source:
    """Everything the input says, indexed for support checks."""

    text: str
    tokens: set[str]
    stems: set[str]
    claims: list[Claim]
    colours: set[str]
    materials: set[str]
    features_pos: set[str]
    features_neg: set[str]
    attributes: dict[str, str]

    @classmethod
    def from_product(cls, title: str = "", brand: str = "", category: str = "",
                     attributes: Mapping[str, Any] | None = None) -> Source:
        attributes = {str(k): _flatten(v) for k, v in (attributes or {}).items()}
        parts = [title or "", brand or "", category or ""]
        features_pos: set[str] = set()
        features_neg: set[str] = set()
        for k, v in attributes.items():
            key_words = k.replace("_", " ").replace("-", " ")
            vlow = v.strip().lower()
            # "waterproof: no" -> a negative feature; "waterproof: yes" -> positive
            feat_key = re.sub(r"resistance$", "resistant", key_words.lower().strip())  # "water resistance: 5 ATM"
            feat = FEATURES.get(feat_key.replace(" ", "-")) or FEATURES.get(feat_key)
            if feat and vlow in _NEGATIVE_VALUES:
                features_neg.add(feat)
                parts.append(f"{key_words}: not {key_words}")
                continue
            if feat:  # "waterproof: yes", and "water resistance: 5 ATM" also says it is water-resistant
                features_pos.add(feat)
            unit = _UNIT_IN_KEY.search(k.strip())
            if unit and re.fullmatch(r"[\d.,\s\-x×to/]+", v.strip()):
                v = f"{v} {unit.group(1)}"
            parts.append(f"{key_words}: {v}")
        text = _norm(". ".join(p for p in parts if p))
        claims = extract_claims(text)
        tokens = set(_tokens(text))
        colours = {c.key for c in claims if c.kind == "colour"}
        materials = {c.key for c in claims if c.kind == "material"}
        for c in claims:
            if c.kind == "feature":
                (features_neg if c.negated else features_pos).add(c.key)
        return cls(text, tokens, {_stem(t) for t in tokens}, claims, colours, materials,
                   features_pos, features_neg, attributes)

    def numbers(self, dimension: str) -> list[float]:
        out = []
        for c in self.claims:
            if c.kind in {"quantity", "count"} and (not dimension or c.dimension == dimension):
                out.extend(c.values)
        return out

    def all_numbers(self) -> list[float]:
        return [v for c in self.claims if c.kind in {"quantity", "count"} for v in c.values]


def _flatten(v: Any) -> str:
    if isinstance(v, (list, tuple, set)):
        return ", ".join(_flatten(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k} {_flatten(x)}" for k, x in v.items())
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def _close(a: float, b: float, rel: float = 0.03) -> bool:
    if a != a or b != b:  # nan
        return False
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), 1e-9) or abs(a - b) < 0.051 * (abs(b) < 2)


def is_supported(claim: Claim, src: Source) -> bool:
    if claim.kind == "quantity":
        pool = src.numbers(claim.dimension)
        if claim.dimension in {"time"}:  # "24 hours" vs "1 day"
            pool = pool + src.numbers("time")
        if claim.dimension in {"count", "multiplier"}:
            pool = pool + src.numbers("count")
        if not pool:
            return False
        # a range is supported when each end is, or when it lies inside a source range
        return all(any(_close(v, p) for p in pool) for v in claim.values)
    if claim.kind == "count":
        v = claim.values[0]
        if v in (1.0,):  # "one" / "1" is rarely a spec
            return True
        return any(_close(v, p, 0.0) for p in src.all_numbers()) or any(
            _close(v, p, 0.0) for p in _all_number_literals(src.text))
    if claim.kind == "size":
        val = claim.key.split(":", 1)[1]
        parts = re.split(r"-|to|/|,", val)
        # "EU 46" in the draft is "eu46" here: compare with the input's text without spaces as well
        compact = re.sub(r"\s+", "", src.text.lower())
        return all(p.strip() in src.tokens or p.strip() in src.text.lower() or p.strip() in compact
                   for p in parts if p.strip())
    if claim.kind == "colour":
        families = COLOUR_ALT_FAMILIES.get(claim.text, {claim.key})
        if claim.negated:
            return True  # "not black" contradicts nothing unless black was given: rare, do not flag
        return bool(families & src.colours) or claim.text in src.tokens
    if claim.kind == "material":
        if claim.negated:
            return claim.key not in src.materials
        if claim.key in src.materials:
            return True
        # "steel" is backed by "stainless steel"; "wood" by "oak"
        return any(claim.key in MATERIAL_PARENTS.get(m, set()) for m in src.materials)
    if claim.kind == "feature":
        if claim.negated:
            return claim.key in src.features_neg
        if claim.key in src.features_neg:
            return False
        if claim.key in src.features_pos:
            return True
        return claim.key in SOFT_FEATURES and claim.key in src.tokens
    if claim.kind == "certification":
        return any(c.kind == "certification" and c.key == claim.key for c in src.claims)
    if claim.kind == "warranty":
        return any(c.kind == "warranty" and c.key == claim.key for c in src.claims)
    if claim.kind == "compatibility":
        words = claim.key.split(":", 1)[1].split()
        return all(_stem(w) in src.stems for w in words if not w.isdigit() or w in src.tokens)
    if claim.kind == "origin":
        return claim.key.split(":", 1)[1] in src.text.lower()
    if claim.kind == "name":
        words = claim.key.split(":", 1)[1].split()
        return all(_stem(w) in src.stems or w in src.tokens for w in words)
    return True


def _all_number_literals(text: str) -> list[float]:
    return [_to_float(x) for x in re.findall(r"\d+(?:[.,]\d+)?", text)]


def _value_covered(name: str, value: str, draft_low: str, draft_claims: list[Claim], draft_stems: set[str]) -> bool:
    v = value.strip()
    if not v:
        return True
    vlow = v.lower()
    if vlow in draft_low:
        return True
    if vlow in _POSITIVE_VALUES | _NEGATIVE_VALUES:
        # boolean attributes: the feature must appear with the right polarity ("not waterproof" for "no")
        key = name.lower().replace("_", " ")
        feat = FEATURES.get(key.replace(" ", "-")) or FEATURES.get(key)
        want_negated = vlow in _NEGATIVE_VALUES
        if feat:
            return any(c.kind == "feature" and c.key == feat and c.negated == want_negated for c in draft_claims)
        if key.endswith(" required") and not want_negated:  # "assembly_required: yes" -> "requires assembly"
            return key in draft_low or f"requires {key[: -len(' required')]}" in draft_low
        return key in draft_low
    if vlow in {"included", "required", "needed", "supplied"}:
        # "case: included" is stated by "comes with a case", "assembly: required" by "requires assembly"
        key_words = [_stem(w) for w in _tokens(name.replace("_", " ")) if w not in STOPWORDS]
        return bool(key_words) and all(w in draft_stems or any(d.startswith(w[:5]) for d in draft_stems)
                                       for w in key_words)
    if "warranty" in name.lower() or "guarantee" in name.lower():
        wanted = {c.key for c in extract_claims(f"warranty {v}") if c.kind == "warranty"}
        if wanted:
            return wanted <= {c.key for c in draft_claims if c.kind == "warranty"}
    vclaims = extract_claims(v)
    # numbers: every number of the value must appear in the draft (with unit conversion)
    nums = [c for c in vclaims if c.kind == "quantity"]
    if nums:
        pool = [x for c in draft_claims if c.kind in {"quantity", "count"} for x in c.values]
        return all(any(_close(x, p) for p in pool) for c in nums for x in c.values)
    cols = {c.key for c in vclaims if c.kind == "colour"}
    if cols:
        dcols = {f for c in draft_claims if c.kind == "colour" for f in COLOUR_ALT_FAMILIES.get(c.text, {c.key})}
        if cols <= dcols:
            return True
    mats = {c.key for c in vclaims if c.kind == "material"}
    if mats and mats <= {c.key for c in draft_claims if c.kind == "material"}:
        return True
    words = [_stem(w) for w in _tokens(v) if w not in STOPWORDS]
    if not words:
        return True
    hit = sum(1 for w in words if w in draft_stems)
    return hit / len(words) >= (1.0 if len(words) <= 2 else 0.6)


def check_facts(draft: str, *, title: str = "", brand: str = "", category: str = "",
                attributes: Mapping[str, Any] | None = None, source: Source | None = None) -> FactReport:
    """Compare the claims of ``draft`` with the product input."""
    src = source or Source.from_product(title, brand, category, attributes)
    claims = extract_claims(draft)
    unsupported = [c for c in claims if not is_supported(c, src)]
    draft_low = _norm(draft).lower()
    draft_stems = {_stem(t) for t in _tokens(draft)}
    covered, missing = [], []
    for name, value in src.attributes.items():
        (covered if _value_covered(name, value, draft_low, claims, draft_stems) else missing).append(name)
    sentences = split_sentences(draft)
    bad_sentences = sorted({i for c in unsupported for i, (a, b, _) in enumerate(sentences) if a <= c.span[0] < b})
    return FactReport(claims, unsupported, covered, missing, bad_sentences)


def split_sentences(text: str) -> list[tuple[int, int, str]]:
    """Sentences of ``text`` as (start, end, sentence) over the normalised text."""
    text = _norm(text)
    out = []
    for m in re.finditer(r"(?:[^.!?\n•]|(?<=\d)\.(?=\d))+(?:[.!?]+|$)", text):  # "Bluetooth 5.3" is one sentence
        s = m.group(0)
        if s.strip():
            out.append((m.start(), m.end(), s.strip()))
    return out


def remove_unsupported_sentences(draft: str, report: FactReport) -> str:
    """Constrained post-edit: drop the sentences that carry an unsupported claim."""
    sentences = split_sentences(draft)
    keep = [s for i, (_, _, s) in enumerate(sentences) if i not in set(report.unsupported_sentences)]
    return " ".join(keep).strip()


def unsupported_texts(reports: Iterable[FactReport]) -> list[str]:
    return [c.text for r in reports for c in r.unsupported]


# --- the title against the catalogue's colour field -------------------------------------------------------

# colour words that are colours wherever they stand in a title (not "olive oil", "coffee maker", "wine glass",
# "cream", "rose gold", "charcoal grill", "lavender scent")
TITLE_COLOUR_WORDS = {"red", "pink", "orange", "yellow", "green", "blue", "purple", "violet", "lilac", "mauve",
                      "brown", "beige", "white", "off-white", "black", "grey", "gray", "navy", "maroon", "burgundy",
                      "teal", "turquoise", "magenta", "fuchsia", "khaki", "peach", "mustard", "multicolour",
                      "multicolor", "multicoloured", "multicolored"}
MAIN_COLOUR_LABELS = {"colour", "color", "primary colour", "primary color", "primary_color", "primary_colour",
                      "colour name", "color name", "colourway", "colorway", "main colour", "main color"}


def _colour_families(text: str, words: set[str] | None = None) -> set[str]:
    out: set[str] = set()
    for w in re.findall(r"[a-z][a-z\-]*", text.lower()):
        for part in [w, *w.split("-")] if w not in COLOUR_FAMILIES else [w]:
            if part in COLOUR_FAMILIES and (words is None or part in words or w in words):
                out |= COLOUR_ALT_FAMILIES.get(part, {COLOUR_FAMILIES[part]}) | {COLOUR_FAMILIES[part]}
                break
    return out


def title_colour_families(title: str) -> set[str]:
    """The colour families the title names ("Women Mauve Printed Kurta" -> {"purple"}), from unambiguous colour
    words only."""
    return _colour_families(title, TITLE_COLOUR_WORDS)


def colour_conflicts(title: str, attributes: Mapping[str, str]) -> dict[str, str]:
    """Main-colour attributes the title contradicts: {name: value} for each whose colour families share none with
    the title's ("Mauve … Kurta" with ``colour: Red``). A catalogue's colour field is often the first of several
    colours or simply wrong; the shopper sees the title, so a description must not state the other colour."""
    return _field_conflicts(title_colour_families(title), attributes, MAIN_COLOUR_LABELS, _colour_families,
                            tolerant={"multi"})


def _field_conflicts(title_fams: set[str], attributes: Mapping[str, str], labels: set[str],
                     families: Any, tolerant: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    """{name: value} of the ``labels`` attributes whose families (``families(value)``) share none with the title's;
    a value in a ``tolerant`` family ("multi") agrees with any title."""
    if not title_fams:
        return {}
    out = {}
    for k, v in attributes.items():
        label = re.sub(r"[\s_\-]+", " ", str(k)).strip().lower()
        if label not in labels and label.replace(" ", "_") not in labels:
            continue
        fams = families(str(v))
        if fams and not (fams & title_fams) and not (fams & set(tolerant)):
            out[k] = str(v).strip()
    return out


# --- the title against the catalogue's material field -----------------------------------------------------

# material words a title uses for what the product is made of, each with its family ("Stoneware mug" -> ceramic)
TITLE_MATERIAL_WORDS = {
    "stoneware": "ceramic", "ceramic": "ceramic", "porcelain": "ceramic", "earthenware": "ceramic",
    "cast-iron": "iron", "cast iron": "iron", "glass": "glass", "leather": "leather", "wooden": "wood",
    "bamboo": "bamboo", "linen": "linen", "cotton": "cotton", "wool": "wool", "merino": "wool", "silk": "silk",
    "steel": "steel", "stainless steel": "steel", "aluminium": "aluminium", "aluminum": "aluminium",
    "copper": "copper", "brass": "brass", "titanium": "titanium", "silicone": "silicone", "rubber": "rubber",
    "marble": "marble", "oak": "wood", "walnut": "wood", "beech": "wood", "teak": "wood", "rattan": "rattan",
    "velvet": "velvet", "denim": "denim", "canvas": "canvas", "nylon": "nylon", "polyester": "polyester",
    "cork": "cork", "jute": "jute", "wood": "wood", "iron": "iron", "plastic": "plastic",
}
MAIN_MATERIAL_LABELS = {"material", "materials", "main material", "body material", "fabric"}


def material_families(text: str) -> set[str]:
    low = " " + re.sub(r"[^a-z\- ]", " ", (text or "").lower()) + " "
    return {fam for word, fam in TITLE_MATERIAL_WORDS.items()
            if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low)}


def material_conflicts(title: str, attributes: Mapping[str, str]) -> dict[str, str]:
    """Main-material attributes the title contradicts ("Stoneware mug" with ``material: cast iron``): {name: value}
    for each whose material families share none with the title's. Like a wrong colour field, the description
    follows the title."""
    return _field_conflicts(material_families(title), attributes, MAIN_MATERIAL_LABELS, material_families)


def title_conflicts(title: str, attributes: Mapping[str, str]) -> dict[str, str]:
    """Every attribute the title contradicts: the colour and the material fields."""
    return {**colour_conflicts(title, attributes), **material_conflicts(title, attributes)}
