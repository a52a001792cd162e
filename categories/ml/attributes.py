"""Attribute extraction from titles and descriptions: colour, material, size, capacity, weight, pattern.

Django-free, rule- and lexicon-based. Quantities ("500 ml", "1.5 L", "20000 mAh", "350 g") are found by a regex
for number + unit and normalised through quantulum3's unit catalogue (its parser alone reads "1.5 L" and "EU 46"
loosely, so it only names and converts the unit here). The colour and material lexicons are the copywriter's
(copywriter/ml/facts.py), so what is extracted is what the copywriter's fact checker recognises.

The title is trusted more than the description: a value found in the title gets confidence 0.9, one found only
in the description 0.7, and a description that names several colours or materials gives none of them (a
"pairs well with black jeans" sentence is not the product's colour).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from copywriter.ml.facts import COLOUR_FAMILIES, MATERIALS

ATTRIBUTE_NAMES = ("colour", "material", "size", "capacity", "weight", "pattern")
# Keys a merchant may already use for the same attribute (never overwritten silently under another spelling).
ATTRIBUTE_ALIASES = {
    "colour": ("colour", "color", "primary_color", "primary_colour"),
    "material": ("material", "fabric"),
    "size": ("size", "shoe_size"),
    "capacity": ("capacity", "volume"),
    "weight": ("weight", "net_weight"),
    "pattern": ("pattern", "print"),
}
TITLE_CONFIDENCE = 0.9
DESCRIPTION_CONFIDENCE = 0.7

COLOUR_MODIFIERS = ("light", "dark", "navy", "sky", "royal", "baby", "pastel", "bright", "deep", "olive", "rose",
                    "mint", "neon", "matte", "dusty", "powder", "jet", "off", "bottle", "forest", "wine", "steel")
EXTRA_COLOURS = {"multicolour": "multi", "multi-colour": "multi", "multi-color": "multi", "rose gold": "pink",
                 "off white": "white", "navy blue": "blue", "gunmetal": "grey", "champagne": "beige",
                 "lilac": "purple", "burgundy": "red", "teal": "green"}
# Words that are colours in the lexicon but mostly mean something else in a product text.
COLOUR_STOP = {"denim-blue", "ash", "snow", "sand", "stone", "wine", "cherry", "lemon", "mint", "coffee",
               "chocolate", "copper-brown", "rust", "amber", "jet", "sage", "nude", "slate", "melange", "rainbow",
               "see-through", "peach", "coral", "salmon", "plum", "gold", "golden", "silver", "bronze"}
# A colour word right before these nouns, or "cream" after these, names a food or a product, not a colour.
NOT_COLOUR_BEFORE = re.compile(r"\s(?:tea|juice|chill?i|chillies|pepper|peppers|beans|lentils|curry|apple|apples|grapes|"
                               r"olives|oil|oils|onion|onions|cabbage|salad|label|card|belt(?= in\b)|cross|peas)\b")
NOT_COLOUR_AFTER = re.compile(r"\b(?:face|hand|body|eye|sun|night|day|shaving|ice|cold|sour|whipped|foot|nappy|"
                              r"barrier|hair)[\s-]$")
# ... but a metal shade is a colour when the text says so ("gold-toned", "silver colour").
METAL_COLOUR_RE = re.compile(r"\b(gold|silver|rose gold|bronze|copper)(?:[- ]?(?:tone[d]?|plated|colou?r(?:ed)?))\b",
                             re.I)

PATTERNS = {"striped": "striped", "stripes": "striped", "stripe": "striped", "checked": "checked",
            "checks": "checked", "checkered": "checked", "plaid": "checked", "tartan": "checked",
            "floral": "floral", "polka dot": "polka dot", "polka-dot": "polka dot", "polka dots": "polka dot",
            "printed": "printed", "solid": "solid", "plain": "solid", "camouflage": "camouflage", "camo": "camouflage",
            "paisley": "paisley", "geometric": "geometric", "abstract": "abstract", "animal print": "animal print",
            "leopard print": "animal print", "houndstooth": "houndstooth", "embroidered": "embroidered",
            "colourblocked": "colourblocked", "colour-blocked": "colourblocked", "tie-dye": "tie-dye",
            "self-design": "self-design", "woven design": "woven design"}
MATERIAL_STOP = {"net", "down", "poly", "pu", "knit", "stone", "paper", "mesh", "canvas", "iron", "steel", "silver",
                 "lace", "foam", "pine", "glass", "copper", "zinc"}
# short ambiguous material words accepted with a product noun or a "made of" next to them
MATERIAL_CONTEXT_RE = re.compile(r"\b(made (?:of|from)|in|crafted from|fabric|frame|body|case|housing|sole|upper|"
                                 r"construction|finish|lined with)\b", re.I)

APPAREL_SIZES = ("XXS", "XS", "XXL", "XXXL", "2XL", "3XL", "4XL", "5XL", "XL")
SIZE_RE = re.compile(
    r"\b(?P<region>EU|UK|US|IN|EUR)\s?(?P<shoe>\d{1,2}(?:[.,]5)?)\b"
    r"|\bsize[s]?\s*:?\s*(?P<named>XXS|XS|S|M|L|XL|XXL|XXXL|[2-5]XL|\d{1,3}(?:\.5)?)\b"
    r"|(?<![\w-])(?P<apparel>XXS|XS|XXL|XXXL|[2-5]XL|XL)(?![\w-])"
    r"|\b(?P<bed>single|double|queen|king|super king)[- ]size\b"
    r"|\b(?P<dim>\d+(?:\.\d+)?\s?[x×]\s?\d+(?:\.\d+)?(?:\s?[x×]\s?\d+(?:\.\d+)?)?)\s?(?P<dimunit>cm|mm|m|in|inch|inches)\b",
    re.I,
)
# number + unit; the unit alternatives are the spellings shops use
QUANTITY_RE = re.compile(
    r"(?<![\w.,])(?P<num>\d{1,3}(?:,\d{3})+|\d{1,6}(?:[.,]\d{1,3})?)\s?(?P<unit>"
    r"millilit(?:er|re)s?|ml|mL|lit(?:er|re)s?|ltrs?|l|L|cl|fl\.? ?oz|"
    r"mah|mAh|kwh|wh|"
    r"gb|GB|tb|TB|"
    r"kg|kgs|kilograms?|g|gm|gms|grams?|mg|lbs?|pounds?|oz|ounces?)(?![\w])",
)
LIMIT_BEFORE_RE = re.compile(r"(?:up to|holds?|supports?|max(?:imum)?\.?|load(?: capacity)?(?: of)?|capacity of|"
                             r"bears?|for loads of)\s*:?\s*$", re.I)
VOLUME_UNITS = {"ml": ("millilitre", 1.0), "millilitre": ("millilitre", 1.0), "milliliter": ("millilitre", 1.0),
                "l": ("litre", 1000.0), "litre": ("litre", 1000.0), "liter": ("litre", 1000.0),
                "ltr": ("litre", 1000.0), "cl": ("centilitre", 10.0), "fl oz": ("fluid ounce", 29.5735)}
MASS_UNITS = {"g": "gram", "gm": "gram", "gms": "gram", "gram": "gram", "kg": "kilogram", "kgs": "kilogram",
              "kilogram": "kilogram", "mg": "milligram", "lb": "pound", "lbs": "pound", "pound": "pound",
              "oz": "ounce", "ounce": "ounce"}
OTHER_CAPACITY = {"mah": "mAh", "wh": "Wh", "kwh": "kWh", "gb": "GB", "tb": "TB"}
UNIT_SYMBOL = {"millilitre": "ml", "litre": "L", "centilitre": "cl", "fluid ounce": "fl oz", "gram": "g",
               "kilogram": "kg", "milligram": "mg", "pound": "lb", "ounce": "oz"}


@dataclass(frozen=True)
class ExtractedAttribute:
    name: str
    value: str
    confidence: float
    evidence: str  # the words it was read from
    source: str  # "title" or "description"


@lru_cache(maxsize=1)
def _quantulum_units() -> dict[str, str]:
    """quantulum3's unit names by symbol/surface form (its catalogue, loaded once)."""
    try:
        from quantulum3 import load
    except ImportError:  # pragma: no cover - quantulum3 is a pinned dependency
        return {}
    units = load.units()
    names: dict[str, str] = {}
    for name, unit in getattr(units, "names", {}).items():
        for surface in [*getattr(unit, "symbols", []), *getattr(unit, "surfaces", [])]:
            names.setdefault(surface.lower(), name)
    return names


def _unit_name(unit: str) -> str:
    """The canonical unit name: our table first (it fixes the shop spellings), then quantulum3's catalogue."""
    u = re.sub(r"\s+", " ", unit.lower().replace(".", "")).rstrip("s") if unit.lower() not in ("ms",) else unit.lower()
    for table in (VOLUME_UNITS, MASS_UNITS, OTHER_CAPACITY):
        if u in table:
            return u
    for key in ("millilit", "lit", "kilogram", "gram", "pound", "ounce"):
        if u.startswith(key):
            return {"millilit": "ml", "lit": "l", "kilogram": "kg", "gram": "g", "pound": "lb", "ounce": "oz"}[key]
    return _quantulum_units().get(unit.lower(), u)


def _number(text: str) -> float:
    """'10,000' is ten thousand, '1,5' one and a half (a decimal comma has one or two digits after it)."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
        return float(text.replace(",", ""))
    return float(text.replace(",", "."))


def _fmt(value: float) -> str:
    return f"{value:g}"


def _lower_words(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower())


def _colours(text: str) -> list[tuple[str, str]]:
    """(value, evidence) for each colour phrase, longest first, modifiers kept ("navy blue", "light grey")."""
    low = _lower_words(text)
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for m in METAL_COLOUR_RE.finditer(low):
        found.append((m.start(), m.end(), m.group(1)))
        taken.append(m.span())
    for phrase in sorted(EXTRA_COLOURS, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", low):
            if free(*m.span()):
                found.append((m.start(), m.end(), phrase))
                taken.append(m.span())
    for m in re.finditer(r"(?<![\w-])([a-z]+)[- ]colou?red\b", low):
        # "nude-coloured", "peach-coloured": a colour whatever else the word can mean
        if m.group(1) in COLOUR_FAMILIES and free(*m.span()):
            found.append((m.start(), m.end(), m.group(1)))
            taken.append(m.span())
    words = [(w.start(), w.end(), w.group(0)) for w in re.finditer(r"(?<![\w-])[a-z]+(?:-[a-z]+)?(?![\w-])", low)]
    for i, (a, b, word) in enumerate(words):
        if word not in COLOUR_FAMILIES or word in COLOUR_STOP or not free(a, b):
            continue
        if NOT_COLOUR_BEFORE.match(low, b) or NOT_COLOUR_AFTER.search(low[max(0, a - 12):a]):
            continue
        value, start = word, a
        if i > 0:
            pa, pb, prev = words[i - 1]
            if prev in COLOUR_MODIFIERS and prev != word and low[pb:a] in (" ", "-") and free(pa, pb):
                value, start = f"{prev} {word}", pa
        found.append((start, b, value))
        taken.append((start, b))
    found.sort()
    merged: list[tuple[int, int, str]] = []
    for a, b, v in found:
        # "charcoal grey", "wine red": a shade right before its base colour is one colour
        if merged and low[merged[-1][1]:a] in (" ", "-") and " " not in merged[-1][2] and " " not in v:
            pa, _, pv = merged[-1]
            merged[-1] = (pa, b, f"{pv} {v}")
        else:
            merged.append((a, b, v))
    return [(v, low[a:b]) for a, b, v in merged]


def _materials(text: str, *, in_title: bool = False) -> list[tuple[str, str]]:
    low = _lower_words(text)
    out: list[tuple[str, str]] = []
    for phrase in ("stainless steel", "faux leather", "vegan leather", "pu leather", "memory foam", "cast iron",
                   "carbon fibre", "carbon fiber", "merino wool", "sterling silver", "tempered glass", "borosilicate glass",
                   "solid wood", "genuine leather", "organic cotton", "recycled polyester"):
        if re.search(rf"\b{phrase}\b", low):
            canon = {"vegan leather": "faux leather", "pu leather": "faux leather", "carbon fiber": "carbon fibre",
                     "genuine leather": "leather", "solid wood": "wood"}.get(phrase, phrase)
            out.append((canon, phrase))
            low = re.sub(rf"\b{phrase}\b", " ", low)
    for m in re.finditer(r"(?<![\w-])([a-z]+)(?![\w-])", low):
        word = m.group(1)
        canon = MATERIALS.get(word)
        if canon is None:
            continue
        after = low[m.end(): m.end() + 14]
        if re.match(r"[\s-]+(?:[a-z]+[\s-]+)?(blue|grey|gray|white|black|green|beige|brown)\b", after):
            continue  # "stone grey", "denim blue": a shade
        if word in MATERIAL_STOP and in_title and re.match(r"[\s-]+(?!weight|wt|content|quantity|price)[a-z]", after):
            pass  # "Glass Kettle", "Canvas Tote": a title's material word before the product noun
        elif word in MATERIAL_STOP:
            window = low[max(0, m.start() - 20): m.end() + 20]
            if not MATERIAL_CONTEXT_RE.search(window):
                continue
        out.append((canon, word))
    return out


def _patterns(text: str) -> list[tuple[str, str]]:
    # "solid oak", "solid-state drive": solid is then a construction, not a plain pattern
    low = re.sub(r"\bsolid[\s-]+(?=state|wood|oak|walnut|pine|teak|steel|brass|gold|silver|" +
                 "|".join(re.escape(m) for m in MATERIALS if " " not in m) + r"\b)", " ", _lower_words(text))
    out = []
    for phrase in sorted(PATTERNS, key=len, reverse=True):
        m = re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", low)
        if m:
            out.append((PATTERNS[phrase], m.group(0)))
            low = low[: m.start()] + " " * (m.end() - m.start()) + low[m.end():]
    return out


def _sizes(text: str) -> list[tuple[str, str]]:
    out = []
    for m in SIZE_RE.finditer(text):
        if m.group("region"):
            region = m.group("region").upper().replace("EUR", "EU")
            out.append((f"{region} {m.group('shoe').replace(',', '.')}", m.group(0)))
        elif m.group("named"):
            out.append((m.group("named").upper(), m.group(0)))
        elif m.group("apparel"):
            out.append((m.group("apparel").upper(), m.group(0)))
        elif m.group("bed"):
            out.append((m.group("bed").lower(), m.group(0)))
        elif m.group("dim"):
            dims = re.sub(r"\s?[x×]\s?", " x ", m.group("dim"))
            out.append((f"{dims} {m.group('dimunit').lower()}", m.group(0)))
    return out


def _quantities(text: str) -> list[tuple[str, str, str]]:
    """(attribute, value, evidence) for capacities (volume, mAh, storage) and weights."""
    out = []
    for m in QUANTITY_RE.finditer(text):
        if LIMIT_BEFORE_RE.search(text[max(0, m.start() - 25): m.start()]):
            continue  # "holds up to 120 kg", "max. load 50 kg": a rating, not the product's own weight
        unit = _unit_name(m.group("unit"))
        num = _number(m.group("num"))
        raw_unit = m.group("unit")
        if unit in VOLUME_UNITS:
            if raw_unit in ("l",) and num > 100:  # "300 l" is likely a fridge: still a volume, but "l" alone after
                pass                           # a big integer is fine; a lone lowercase l after a small number too
            name, _ = VOLUME_UNITS[unit]
            out.append(("capacity", f"{_fmt(num)} {UNIT_SYMBOL[name]}", m.group(0)))
        elif unit in OTHER_CAPACITY:
            out.append(("capacity", f"{_fmt(num)} {OTHER_CAPACITY[unit]}", m.group(0)))
        elif unit in MASS_UNITS:
            name = MASS_UNITS[unit]
            out.append(("weight", f"{_fmt(num)} {UNIT_SYMBOL[name]}", m.group(0)))
    return out


def _first_distinct(items: list[tuple[str, str]]) -> tuple[str, str] | None:
    return items[0] if items else None


def _without_brand(text: str, brand: str) -> str:
    """The text with the brand's name blanked ("Harbor & Pine", "Loom & Linen" are not materials)."""
    if not brand or not brand.strip():
        return text
    return re.sub(re.escape(brand.strip()), " ", text, flags=re.I)


def extract_attributes(title: str, description: str = "", brand: str = "") -> dict[str, ExtractedAttribute]:
    """The attributes a product's texts state, one value per attribute name."""
    result: dict[str, ExtractedAttribute] = {}
    title, description = _without_brand(title or "", brand), _without_brand(description or "", brand)

    def put(name: str, value: str, evidence: str, source: str) -> None:
        if name not in result and value:
            conf = TITLE_CONFIDENCE if source == "title" else DESCRIPTION_CONFIDENCE
            result[name] = ExtractedAttribute(name, value, conf, evidence.strip(), source)

    description = description or ""
    for source, text in (("title", title or ""), ("description", description)):
        if not text:
            continue
        colours = _colours(text)
        values = {v for v, _ in colours}
        # a title's first colour is the product's; a description that names several is ambiguous
        if colours and (source == "title" or len(values) == 1):
            if source == "title" and len(values) > 1:
                joined = " & ".join(dict.fromkeys(v for v, _ in colours[:2]))
                put("colour", joined, " / ".join(e for _, e in colours[:2]), source)
            else:
                put("colour", colours[0][0], colours[0][1], source)
        materials = _materials(text, in_title=source == "title")
        mvalues = list(dict.fromkeys(v for v, _ in materials))
        if mvalues and (source == "title" or len(mvalues) <= 2):
            put("material", " & ".join(mvalues[:2]) if len(mvalues) > 1 else mvalues[0],
                " / ".join(e for _, e in materials[:2]), source)
        pattern = _first_distinct(_patterns(text))
        colour_words = "|".join(re.escape(c) for c in COLOUR_FAMILIES)
        if pattern and source == "description" and pattern[0] == "solid" and not re.search(
                rf"\bsolid[\s-]+(?:colou?r|pattern|design|{colour_words})\b|\b(?:{colour_words})[\s-]+solid\b",
                text.lower()):
            pattern = None  # "feels solid", "a solid build": not a plain pattern
        if pattern:
            put("pattern", pattern[0], pattern[1], source)
        sizes = _sizes(text)
        if sizes and (source == "title" or len({v for v, _ in sizes}) == 1):
            put("size", sizes[0][0], sizes[0][1], source)
        for name, value, evidence in _quantities(text):
            put(name, value, evidence, source)
    return result


def colour_family(value: str) -> str | None:
    """'navy blue' -> 'blue', 'Off White' -> 'white': the family of the last colour word."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", str(value).lower())
    for word in reversed(words):
        if word in COLOUR_FAMILIES:
            return COLOUR_FAMILIES[word]
    return None


def existing_value(attributes: dict, name: str) -> tuple[str | None, object]:
    """(key, value) of the merchant's value for this attribute under any of its spellings, or (None, None)."""
    lowered = {str(k).lower(): k for k in (attributes or {})}
    for alias in ATTRIBUTE_ALIASES.get(name, (name,)):
        if alias in lowered:
            key = lowered[alias]
            return key, attributes[key]
    return None, None


def _norm(value: object) -> str:
    return re.sub(r"[\s\-_,]+", " ", str(value).strip().lower())


def same_value(a: object, b: object) -> bool:
    return _norm(a) == _norm(b)


def already_stated(existing: object, value: str, evidence: str = "") -> bool:
    """The merchant's value says the same or more ("full-grain leather" for leather, "stoneware" for ceramic read
    from "stoneware", "10,000 mAh" for 10000 mAh): nothing to suggest."""
    have = f" {_norm(existing)} "
    if same_value(existing, value) or f" {_norm(value)} " in have or (evidence and f" {_norm(evidence)} " in have):
        return True
    digits = lambda v: re.sub(r"[^\w]", "", _norm(v))  # noqa: E731
    return digits(existing) == digits(value)
