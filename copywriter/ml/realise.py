"""Each attribute realised by its KIND, not by slotting its value into one frame.

``power: USB`` is a connector, not a rating ("is powered by USB", never "is rated at USB"); ``armrests: 3D
adjustable`` is a feature of a part ("has 3D adjustable armrests"); ``water_resistant: 80 minutes`` is a duration
("is water resistant for 80 minutes"); ``finish: matte`` is a finish, never a material ("has a matte finish",
never "made of a matte finish"). The kind comes from the attribute's name AND its value (units, the material and
colour lexicons of :mod:`copywriter.ml.facts`, codes such as IPX4), so a catalogue whose attribute names we have
never seen still gets a frame that fits. When nothing is known the frame is the safe clause
"Its <name> is <value>." (prose, never ``key: value``).

Every frame keeps the value's words and numbers verbatim, so the fact checker's coverage sees them.

No Django, no model.
"""

from __future__ import annotations

import re

from . import facts as factlib

# --- value kinds ----------------------------------------------------------------------------------------

_NUM = r"\d+(?:[.,]\d+)?"
_RANGE = rf"{_NUM}(?:\s*(?:-|–|to)\s*{_NUM})?"
_QUAL = r"(?:up to|about|around|approx\.?|over|under|below|above|at least|less than|more than|max\.?|min\.?)\s+"
DURATION_RE = re.compile(rf"^(?:{_QUAL})?{_RANGE}\s*-?\s*(?:s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|"
                         rf"weeks?|months?|years?|yrs?)(?:\s+(?:or|/)\s+.+)?$", re.I)
DIMENSION_RE = re.compile(rf"^(?:{_QUAL})?{_NUM}(?:\s*(?:x|×|by)\s*{_NUM}){{1,2}}\s*(?:mm|cm|m|in|inches|\"|ft)?$"
                          rf"|^(?:{_QUAL})?{_RANGE}\s*(?:mm|cm|m|km|in|inch|inches|\"|ft|feet)$", re.I)
MASS_RE = re.compile(rf"^(?:{_QUAL})?{_RANGE}\s*(?:mg|g|kg|lb|lbs|oz)$", re.I)
VOLUME_RE = re.compile(rf"^(?:{_QUAL})?{_RANGE}\s*(?:ml|l|litres?|liters?|cl|fl\.? ?oz|cups?|gallons?)"
                       rf"(?:\s*\(.*\))?$", re.I)
ELECTRIC_RE = re.compile(rf"^(?:{_QUAL})?{_RANGE}\s*(?:w|kw|v|a|ah|mah|wh)$", re.I)
TEMPERATURE_RE = re.compile(rf"^(?:{_QUAL})?{_RANGE}\s*°\s*[cf]$", re.I)
PERCENT_RE = re.compile(rf"^(?:{_QUAL})?{_RANGE}\s*%$")
COUNT_RE = re.compile(r"^\d+$")
RATING_RE = re.compile(r"^(?:IP[X\d]\d|IPX\d|\d+\s*ATM|\d+\s*bar|class\s+\w+|[A-G]\+*|\d+\s*star)$", re.I)
CONNECTOR_WORDS = ("usb", "usb-c", "usb-a", "micro-usb", "micro usb", "type-c", "lightning", "hdmi", "displayport",
                   "bluetooth", "wi-fi", "wifi", "aux", "3.5 mm", "3.5mm", "jack", "mains", "car socket",
                   "aa batteries", "aaa batteries", "aa battery", "aaa battery", "ethernet", "nfc", "zigbee",
                   "thunderbolt", "qi", "magsafe", "rj45", "optical", "av")
FINISH_WORDS = ("matte", "matt", "gloss", "glossy", "satin finish", "lacquer", "lacquered", "polished", "brushed",
                "powder-coated", "powder coated", "oiled", "waxed", "varnished", "enamelled", "anodised",
                "anodized", "distressed", "finish", "sheen", "shimmer", "metallic")
SIZE_CODE_RE = re.compile(r"^(?:XXS|XS|S|M|L|XL|XXL|XXXL|\d?XL|one size|free size|UK \d+(?:\.5)?|EU \d+(?:\.5)?|"
                          r"US \d+(?:\.5)?|A[3-6]|B5|single|double|queen|king|super king|small|medium|large|"
                          r"extra large|petite|regular|tall)(?:\s*\(.*\))?$", re.I)
ADJ_SUFFIXES = ("able", "ible", "proof", "free", "safe", "ed", "ive", "ic", "less", "ous", "ish", "arian",
                "resistant", "repellent", "absorbent")
ADJECTIVES = {"vegan", "organic", "waterproof", "wireless", "portable", "lightweight", "reversible", "handmade",
              "non slip", "non-slip", "reflective", "chewable", "foldable", "hypoallergenic", "breathable", "vegetarian",
              "kosher", "halal", "recyclable", "compostable", "biodegradable", "rechargeable", "cordless", "dual",
              "smart", "quiet", "soft", "firm", "medium", "hard", "fine", "coarse", "universal", "indoor", "outdoor",
              "manual", "automatic", "digital", "analogue", "analog", "extra", "natural", "unscented", "wide",
              "narrow", "slim", "regular", "relaxed", "stretch", "water resistant", "cruelty free"}
MASS_NOUNS = {"wax", "glass", "management", "dosing", "charging", "rope", "foam", "oil", "lighting", "insulation", "padding", "paint", "ink", "filling", "protection", "support", "storage",
              "cushioning", "ventilation", "technology", "packaging", "upholstery", "bristles", "hardware",
              "sound", "audio", "grip", "traction", "coverage", "fabric", "lining", "stitching", "construction",
              "leather", "suction", "power", "noise", "printing", "embroidery", "cotton", "wood"}
NOUNISH_TYPE_LABELS = {"type", "kind", "variety", "concentration", "format", "form", "product type", "style name"}


def label_of(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("_", " ").replace("-", " ")).strip().lower()


_ACRONYM_RE = None


def _acronyms(text: str) -> str:
    """Attribute names arrive lower-cased ("uv_protection", "led"): write the acronyms in capitals."""
    global _ACRONYM_RE
    if _ACRONYM_RE is None:
        _ACRONYM_RE = re.compile(r"\b(" + "|".join(sorted(ACRONYMS, key=len, reverse=True)) + r")\b")
    return _ACRONYM_RE.sub(lambda m: m.group(1).upper(), text)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def is_colour(value: str) -> bool:
    words = [w for w in re.split(r"[\s/,&-]+", value.lower()) if w and w not in {"and", "with", "light", "dark", "deep",
                                                                                  "pale", "bright", "soft", "dusty",
                                                                                  "warm", "cool", "muted"}]
    return bool(words) and all(w in factlib.COLOUR_FAMILIES or w in {"multi", "assorted", "natural"} for w in words) \
        and not all(w in {"natural", "assorted"} for w in words)


def is_material(value: str) -> bool:
    """The value names a material (``100% stonewashed linen``, ``chrome vanadium steel``, ``food-grade ABS``)."""
    low = value.lower()
    if is_colour(value):
        return False
    for m in re.finditer(r"[a-z][a-z\-]*", low):
        w = m.group(0)
        if w in factlib.MATERIALS or w.replace("-", " ") in factlib.MATERIALS:
            return True
        if any(w == part for key in factlib.MATERIALS for part in key.split("-")[-1:] if len(part) > 3):
            return True
    return bool(re.search(r"\b(hay|willow|rattan|wicker|cork|hemp|felt|straw|clay|resin|acrylic|enamel|"
                          r"chrome|nickel|pewter|vanadium|alloy|pakkawood|beech|birch|teak|mango wood|acacia|mahogany|spruce|sapele|koa|"
                          r"jade|quartz|"
                          r"tpe|tpu|eva|abs|pu|mdf|plywood|microfibre|microfiber|sherpa|terry|muslin|"
                          r"crepe|momme|porcelain|terracotta|concrete|slate|carbon|fibreglass|fiberglass)\b", low))


def is_finish(value: str) -> bool:
    low = value.lower()
    return any(re.search(rf"\b{re.escape(w)}\b", low) for w in FINISH_WORDS)


def is_connector(value: str) -> bool:
    low = value.lower()
    parts = [p.strip() for p in re.split(r",|/|\band\b|\bor\b", low) if p.strip()]
    return bool(parts) and all(any(re.search(rf"(?:^|\b){re.escape(w)}(?:\b|$)", p) for w in CONNECTOR_WORDS)
                               for p in parts)


def value_kind(value: str) -> str:
    v = value.strip()
    vl = v.lower()
    if vl in {"yes", "true", "y"}:
        return "yes"
    if vl in {"no", "false", "n"}:
        return "no"
    for kind, rx in (("duration", DURATION_RE), ("dimension", DIMENSION_RE), ("mass", MASS_RE),
                     ("volume", VOLUME_RE), ("electric", ELECTRIC_RE), ("temperature", TEMPERATURE_RE),
                     ("percent", PERCENT_RE), ("count", COUNT_RE), ("rating", RATING_RE)):
        if rx.match(v):
            return kind
    if is_connector(v):
        return "connector"
    if is_colour(v):
        return "colour"
    if is_material(v):
        return "material"
    if is_finish(v):
        return "finish"
    if "," in v or " and " in vl or " & " in v:
        return "list"
    if re.match(r"^\d[\d.,/]*(?:\s|$|%|°|\"|')", v):  # "300 L/h", "15 settings"; not "3D adjustable", "1.1-inch AMOLED"
        return "quantity"
    return "text"


# --- grammar helpers ------------------------------------------------------------------------------------

def article(text: str) -> str:
    """"a"/"an" by sound: an IPX4, an LED, a USB, a one-hand, an 8-hour, an hour, a unisex."""
    t = text.strip()
    first = re.split(r"[\s\-]", t, maxsplit=1)[0]
    low = first.lower()
    if re.match(r"^(8|11|18|80|8\d\d)(\b|[^0-9])", t) or re.match(r"^(8|11|18)$", first):
        return "an"
    if re.match(r"^\d", t):
        return "a"
    if first.upper() in {"HEPA", "UEFA", "USDA", "UNESCO"}:
        return "a"
    if low in ACRONYMS:
        first = first.upper()
    if first.isupper() and len(first) > 1 and not re.match(r"^[A-Z][a-z]", first):  # an acronym: letter sounds
        return "an" if first[0] in "AEFHILMNORSX" else "a"
    if re.match(r"^(one|once|uni|use|usa|usu|eu|ewe|ur[aeiou])", low):
        return "a"
    if re.match(r"^(hour|honest|honou|heir)", low):
        return "an"
    return "an" if low[:1] in "aeiou" else "a"


def a(text: str) -> str:
    return f"{article(text)} {text}"


def lower_first(v: str) -> str:
    """Lower-case ordinary words ("Navy blue" -> "navy blue"), keep acronyms and names ("USB-C", "TPE")."""
    words = v.split()
    first = words[0] if words else ""
    if words and is_colour(v):
        return v.lower()
    if len(words) >= 2 and words[1][:1].isupper() and not realise_colour_word(words[1]):
        return v  # a name: "Aquila Nylgut", "Canadian Maple"
    if first[:1].isupper() and first[1:].islower() and not re.match(
            r"^(English|French|German|Spanish|Italian|Japanese|Chinese|Indian|Scandinavian|American|British|"
            r"Canadian|Australian|Belgian|Swiss|Irish|Scottish|Welsh|Dutch|Swedish|Danish|Norwegian|Finnish|"
            r"Portuguese|Greek|Turkish|Mexican|Brazilian|Korean|Thai|Vietnamese|Egyptian|Moroccan|"
            r"Bluetooth|Android|iOS|Wi-Fi)$", first):
        return first.lower() + v[len(first):]
    return v


def realise_colour_word(word: str) -> bool:
    return word.lower().strip(",") in factlib.COLOUR_FAMILIES


NOT_PLURAL = {"lens", "canvas", "gas", "bias", "chassis", "series", "species", "glass", "grass", "dress", "press",
              "mattress", "compass", "status", "cactus", "bus", "plus", "atlas", "iris", "axis", "basis"}
ACRONYMS = {"uv", "led", "usb", "tsa", "spf", "ip", "lcd", "hd", "pu", "abs", "eva", "mdf", "bpa", "rfid", "ac", "dc",
            "lan", "gps", "nfc", "hdmi", "tv", "ph"}


def plural_label(label: str) -> bool:
    last = label.split()[-1] if label else ""
    if last in NOT_PLURAL:
        return False
    return (last.endswith("s") and not last.endswith(("ss", "us", "is", "ics"))) or last in {"pieces", "feet"}


def join_list(value: str) -> str:
    """"HDMI, USB, AV" -> "HDMI, USB and AV" (an "and"/"or" already there is kept)."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if len(parts) <= 1 or re.search(r"\b(and|or)\b", parts[-1]):
        return ", ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _is_adjective_label(label: str) -> bool:
    if label.split()[-1].lower() in ACRONYMS:
        return False
    return label in ADJECTIVES or label.split()[-1].endswith(ADJ_SUFFIXES) and not label.endswith(
        ("ing", "ment", "eed", "bed", "red"))  # "top speed", "feed", "flower bed", "infrared": no adjectives


def _modifier_value(v: str) -> bool:
    """Short enough to stand before a noun: "height adjustable", "3D adjustable", "one-touch", "carbon fibre"."""
    return len(v.split()) <= 4 and "," not in v and "(" not in v and not set(_words(v)) & _FUNCTION_WORDS


_UNITS = {"mm", "cm", "m", "km", "in", "inch", "ft", "g", "kg", "mg", "lb", "lbs", "oz", "ml", "l", "w", "kw", "v", "a",
          "ah", "mah", "wh", "hz", "khz", "ghz", "db", "rpm", "psi", "bar", "nm", "lm", "lumens", "k", "gsm", "fps",
          "mp", "ohm", "ohms", "tog", "hrc", "momme"}
_FUNCTION_WORDS = {"the", "under", "on", "in", "to", "of", "for", "from", "or", "a", "an", "with", "by", "at", "into",
                   "is", "are", "be", "your"}


def _has_noun_phrase(label: str, v: str) -> str:
    """"has a <v> <label>" with the article, plural and doubled-word rules ("sprung wooden slats", not
    "sprung wooden slats slats")."""
    vw, lw = _words(v), _words(label)
    val = lower_first(v)
    if vw and lw and vw[-1].rstrip("s") in {w.rstrip("s") for w in lw}:
        phrase = val
        plural = plural_label(vw[-1])
    else:
        phrase = f"{val} {label}"
        plural = plural_label(label)
    last = phrase.split()[-1]
    mass = last in MASS_NOUNS or (last.endswith("ing") and len(last) > 5)  # "adjustable feathering"
    return f"has {phrase}" if plural or mass else f"has {a(phrase)}"


# --- the frame per kind ---------------------------------------------------------------------------------

COLOUR_LABELS = {"colour", "color", "primary colour", "primary color", "shade", "colour name", "color name",
                 "frame colour", "frame color", "colourway", "colorway"}
MATERIAL_LABELS = {"material", "fabric", "materials", "made of", "composition", "main material", "outer material",
                   "body material"}
AUDIENCE_KEYS = {"gender", "audience", "for", "suitable for", "life stage", "skin type", "hair type", "suitable_for",
                 "age", "age range", "ages", "recommended age"}
QUANTITY_VERBS = {
    "capacity": "holds {v}", "volume": "contains {v}", "weight": "weighs {v}", "net weight": "weighs {v}",
    "dimensions": "measures {v}", "size cm": "measures {v}", "overall dimensions": "measures {v}",
    "length": "is {v} long", "height": "stands {v} tall", "width": "is {v} wide", "diameter": "is {v} across",
    "thickness": "is {v} thick", "depth": "is {v} deep",
    "battery life": "offers a battery life of {v}", "runtime": "runs for {v} on a charge",
    "run time": "runs for {v} on a charge", "play time": "plays for {v}", "playtime": "plays for {v}",
    "burn time": "burns for {v}", "wear time": "lasts {v}", "pieces": "includes {v} pieces",
    "piece count": "includes {v} pieces", "pack size": "comes as a pack of {v}", "pack of": "comes as a pack of {v}",
    "seats": "seats {v}", "sleeps": "sleeps {v}", "serves": "serves {v}", "servings": "makes {v} servings", "max load": "takes a load of up to {v}", "load capacity": "takes a load of up to {v}",
    "players": "is for {v} players", "spf": "offers SPF {v} protection", "speed": "reaches {v}",
    "range": "works up to {v} away", "keeps cold": "keeps drinks cold for {v}", "keeps hot": "keeps drinks hot for {v}",
    "cable length": "has a {v} cable", "screen size": "has a screen size of {v}", "refresh rate": "refreshes at {v}",
    "resolution": "offers {v} resolution", "native resolution": "has a native resolution of {v}",
    "brightness": "has a brightness of {v}", "coverage": "covers {v}", "output": "puts out {v}",
    "output power": "puts out {v}", "max torque": "delivers up to {v} of torque", "torque": "delivers {v} of torque",
    "voltage": "runs on {v}", "wattage": "is rated at {v}",
}
LIST_VERBS = {"key ingredients": "is made with {v}", "ingredients": "is made with {v}",
              "top notes": "opens with notes of {v}", "heart notes": "has a heart of {v}",
              "base notes": "settles into {v}", "sensors": "tracks {v}", "ports": "has {v} ports",
              "inputs": "has {v} inputs", "functions": "offers {v} functions", "attachments": "comes with {v}",
              "accessories": "comes with {v}", "in the box": "comes with {v}", "modes": "offers {v} modes",
              "presets": "has {v} presets", "compatible with": "works with {v}", "compatibility": "works with {v}",
              "voice assistants": "works with {v}", "works with": "works with {v}", "colours": "comes in {v}",
              "colors": "comes in {v}", "connectivity": "connects over {v}", "hob compatibility": "works on {v}",
              "origin": "comes from {v}", "country of origin": "comes from {v}", "made in": "is made in {v}",
              "filling": "is filled with {v}", "fill": "is filled with {v}", "upholstery": "is upholstered in {v}",
              "protein source": "is made with {v}", "technology": "uses {v} technology", "charging": "charges over {v}",
              "included": "comes with {v}", "includes": "comes with {v}", "heads included": "comes with {v} brush heads",
              "scent": "has a scent of {v}", "fragrance": "has a scent of {v}", "flavour": "has a {v} flavour",
              "flavor": "has a {v} flavour", "standard": "supports {v}", "certification": "is certified {v}",
              "shapes": "comes in {v} shapes", "smoked with": "is smoked with {v}", "features": "offers {v}",
              "suitable surfaces": "works on {v}", "uses": "is made for {v}", "use": "is made for {v}",
              "mount": "mounts by {v}", "mounting": "mounts by {v}", "feed": "takes {v}",
              "food": "takes {v}"}


def phrase_for(name: str, value: str) -> tuple[str, bool]:
    """``(text, clause)``: a verb phrase for "It ..."/"The <noun> ..." or, when ``clause``, an independent clause.

    The value's kind chooses the frame, the name refines it."""
    text, clause = _phrase_for(name, value)
    v = value.strip()
    # the value's own words stay as written; only the frame's words from the attribute name get acronym capitals
    out = _acronyms(text.replace(v, "\0")).replace("\0", v) if v else _acronyms(text)
    return re.sub(r"\s+", " ", out).strip(), clause


def _phrase_for(name: str, value: str) -> tuple[str, bool]:
    label, v = label_of(name), value.strip()
    vl = v.lower()
    kind = value_kind(v)
    head = label.split()[-1] if label else ""
    # booleans
    if kind == "yes":
        if label == "pair":
            return "is sold as a pair", False
        if label.endswith(" required"):
            return f"requires {label[: -len(' required')]}", False
        if label.endswith(" included"):
            return f"comes with {label[: -len(' included')]} included", False
        if " and " in label:
            return f"is suitable for {label} use", False
        if label in {"caffeine", "contains caffeine"}:
            return "contains caffeine", False
        lab = re.sub(r"\bbuilt in\b", "built-in", re.sub(r"\bpre ", "pre-", re.sub(r"\bnon slip\b", "non-slip", label)))
        if re.match(r"^(?:anti|non)[ -]\w+$", lab):  # "anti fog" -> "is anti-fog"
            return f"is {lab.replace(' ', '-')}", False
        if _is_adjective_label(label):
            return f"is {lab}", False
        if lab.endswith("ing"):
            return f"features {lab}", False
        return (f"has {lab}" if plural_label(lab) or head in MASS_NOUNS else f"has {a(lab)}"), False
    if kind == "no":
        if _is_adjective_label(label):
            return f"is not {label}", False
        return f"does not come with {label}", False
    if vl == "included":
        return (f"comes with {label}" if plural_label(label) else f"comes with {a(label)}"), False
    if vl in {"required", "needed"}:
        return f"requires {label}", False
    if vl in {"not required", "none required", "not needed", "tool-free", "tool free", "no tools"}:
        return f"needs no {label}" if label != "assembly" else "comes ready to use, no assembly needed", False
    m3 = re.match(r"^(yes|no),\s*(.+)$", v, re.I)
    if m3:  # "packable: yes, into left pocket", "mopping: yes, 250 ml water tank"
        head, _ = _phrase_for(name, m3.group(1))
        rest = m3.group(2).strip()
        if re.match(r"^(?:into|in|on|with|for|up to|at|by|from|under|over)\b", rest, re.I):
            return f"{head} {rest}", False
        return f"{head} with {a(lower_first(rest)) if not plural_label(rest.split()[-1]) else lower_first(rest)}", False
    if vl in {"not included", "sold separately", "not supplied"}:
        return (f"does not come with {label}" if plural_label(label) else f"does not come with {a(label)}"), False
    if vl in {"built-in", "built in", "integrated"}:
        return _has_noun_phrase(label, "built-in"), False
    if vl in {"compatible", "supported"}:
        return f"is compatible with {label}", False
    items = [x.strip() for x in re.split(r",|\band\b", v) if x.strip()]
    if items and all(re.search(r"\bfree$", x, re.I) for x in items):  # "gluten free, dairy free"
        return f"is {join_list(', '.join(x.lower() for x in items))}", False
    if re.match(r"^(?:fits|works|holds|takes|accepts|suits)\b", vl):  # "portafilter holder: fits 54 and 58 mm"
        return f"its {label} {v}", True
    if "," in v and not plural_label(label) and label not in LIST_VERBS and label not in QUANTITY_VERBS \
            and label not in MATERIAL_LABELS and label not in COLOUR_LABELS and label not in AUDIENCE_KEYS \
            and not label.endswith((" material", " type", " colour", " color")) \
            and len(label.split()) <= 2 and 2 <= len(items) <= 3 and all(len(x.split()) <= 3 for x in items):
        compound = re.compile(r"^\d+-[a-z]+$", re.I)  # "4-panel", "3-piece": a modifier with a digit
        mods = [x for x in items if not re.search(r"\d", x) or compound.match(x)]
        nums = [x for x in items if x not in mods]
        if mods and all(_modifier_value(x) and not is_colour(x) for x in mods):
            # "inner pot: non-stick, 2 mm" -> "has a non-stick inner pot of 2 mm"
            phrase = _has_noun_phrase(label, ", ".join(lower_first(x) for x in mods))
            for x in nums:
                phrase += (" in " if x.split()[-1] in _IN_UNITS else " of ") + x
            return phrase, False
    m = re.match(r"^(.*?),?\s+included$", v, re.I)
    if m:
        if re.fullmatch(r"\d+", m.group(1).strip()):
            return f"comes with {m.group(1).strip()} {label}", False
        if m.group(1).split()[-1].lower().rstrip("s") == label.split()[-1].rstrip("s"):  # "case: carry case included"
            return f"comes with {a(lower_first(m.group(1)))}", False
        if label.endswith("ing") and " " not in label:  # "hanging: steel hook included"
            return f"comes with {a(lower_first(m.group(1)))} for {label}", False
        return f"comes with {a(m.group(1) + ' ' + label)}", False
    qual = re.match(r"^(under|below|over|above|less than|more than|at least)\s+\d", vl)
    if qual and kind != "duration" and label not in QUANTITY_VERBS:
        return (f"has {a(label)} {v}" if not plural_label(label) else f"has {label} {v}"), False
    # colour, material, finish: never one for another
    if label in COLOUR_LABELS and vl in {"assorted", "multi", "mixed", "various", "assorted colours"}:
        return "comes in assorted colours", False
    if label in COLOUR_LABELS or (kind == "colour" and label in {"finish", "shade", "tone", "hue"}):
        if kind == "colour" or not is_material(v):
            return f"comes in {join_list(lower_first(v))}", False
    if label in {"finish", "surface", "surface finish", "coating"}:
        return (f"has {a(lower_first(v))}" if "finish" in vl or "coat" in vl
                else f"has {a(lower_first(v) + ' finish')}"), False
    if label in MATERIAL_LABELS or label.endswith(" material"):
        if kind == "colour":
            return f"comes in {lower_first(v)}", False
        if kind == "finish" and not is_material(v):
            return (f"has {a(lower_first(v))}" if "finish" in vl else f"has {a(lower_first(v) + ' finish')}"), False
        part = label[: -len(" material")] if label.endswith(" material") and label not in MATERIAL_LABELS else ""
        if part:
            return (f"has {a(part)} made of {lower_first(v)}" if not plural_label(part)
                    else f"has {part} made of {lower_first(v)}"), False
        return f"is made of {join_list(lower_first(v))}", False
    if label in AUDIENCE_KEYS:
        if label == "gender":
            return ("is a unisex design" if vl == "unisex" else f"is made for {vl}"), False
        if label == "skin type":
            return f"suits {vl}" + ("" if "skin" in vl else " skin"), False
        if label == "hair type":
            return f"is made for {vl}" + ("" if "hair" in vl else " hair"), False
        if label == "life stage":
            return (f"is made for {vl} pets" if vl in {"adult", "senior", "puppy", "kitten"}
                    else f"is made for the {vl} stage"), False
        if label in {"age", "age range", "ages", "recommended age"} or re.match(r"^\d", v):
            return f"suits ages {v}", False
        return f"is suitable for {lower_first(v)}", False
    if label == "language":
        return f"is in {v}", False
    first_word = label.split()[0] if label else ""
    if label in {"sold as", "sold in", "supplied as"}:  # "sold_as: pair" -> "is sold as a pair"
        obj = lower_first(v)
        bare = bool(re.match(r"^(?:a|an|the|\d)", obj)) or plural_label(obj.split()[-1])
        return f"is {label} {obj if bare else a(obj)}", False
    m2 = re.match(r"^(\d+),\s*(\d+)\s+([a-z\-]+)$", v)
    if m2 and plural_label(label):  # "shelves: 5, 2 adjustable" -> "has 5 shelves, 2 of them adjustable"
        return f"has {m2.group(1)} {label}, {m2.group(2)} of them {m2.group(3)}", False
    if first_word in VERB_LABELS and kind not in {"yes", "no"}:
        rest = label[len(first_word):].strip()
        obj = lower_first(v)
        if rest in {"into", "in", "onto", "on", "to", "inside", "under"} and not re.match(r"^(?:a|an|the|its|\d)\b",
                                                                                        obj):
            obj = a(obj) if not plural_label(obj.split()[-1]) else obj
        return f"{first_word} {rest + ' ' if rest else ''}{obj}", False
    if label == "fit":
        return (f"has {a(vl)}" if "fit" in vl else f"has {a(vl + ' fit')}"), False
    if label == "care" or label.startswith("care "):
        if "machine wash" in vl:
            return (f"is {vl}" if vl.startswith("machine washable") else f"can be machine washed ({v})"), False
        if "hand wash" in vl:
            return "should be hand washed" + (f" ({v})" if vl not in {"hand wash", "hand wash only"} else ""), False
        if "wipe" in vl:
            return f"can be wiped clean ({v})", False
        return f"has simple care instructions ({v})", False
    if label == "size" or (label.endswith(" size") and SIZE_CODE_RE.match(v)):
        if vl in {"one size", "free size"}:
            return "comes in one size", False
        if "," in v or " and " in vl:
            return f"comes in sizes {v}", False
        if re.fullmatch(r"[A-Za-z]{4,}( [A-Za-z]+)?", v):  # "Regular", "King", "Super king"
            return f"comes in {a(v.lower())} size", False
        return (f"comes in size {v}" if len(v) <= 12 else f"comes in {v} size"), False
    if label in QUANTITY_VERBS and kind != "connector" and (kind not in {"text", "list"} or re.search(r"\d", v)):
        if label == "weight" and kind != "mass":
            return f"has a weight of {v}", False
        return _fill(QUANTITY_VERBS[label], v), False
    if label in LIST_VERBS:
        text = LIST_VERBS[label]
        if label in {"colours", "colors"} and not is_colour(v):
            return f"comes in {lower_first(v)}" + ("" if re.search(r"colou?rs?\b", vl) else " colours"), False
        if label in {"origin", "country of origin", "made in"}:
            return text.format(v=v), False
        val = join_list(lower_first(v)) if kind in {"list", "connector", "text", "material", "colour"} else v
        if label in {"ports", "inputs", "modes", "presets", "functions", "shapes"} and (kind == "count" or
                                                                                      re.match(r"^\d", v)):
            return _fill("has {v} " + label, v), False
        return _fill(text, val), False
    # the label tells a connector from a rating: power from a plug, not "rated at USB"
    if kind == "connector":
        if label in {"power", "power source", "power supply", "powered by", "power input"}:
            return f"is powered by {a(v) if re.match(r'^[0-9]', v) else v}", False
        if label in {"charging", "charging port", "charge port"}:
            return f"charges over {v}", False
        if _modifier_value(v) and not plural_label(label):
            return _has_noun_phrase(label, v), False
        return f"uses {join_list(v)}", False
    if kind == "electric":
        if label in {"power", "rated power", "motor", "motor power"}:
            return f"is rated at {v}", False
        if label in {"battery", "battery capacity"}:
            return f"has {a(v + ' battery')}", False
        return f"has {a(label)} of {v}" if not plural_label(label) else f"has {label} of {v}", False
    if kind == "duration":
        first = label.split()[0] if label else ""
        if first in {"keeps", "keep", "stays", "stay", "lasts", "last", "runs", "run"}:
            verb = first if first.endswith("s") else first + "s"
            rest = label.split(" ", 1)[1] if " " in label else ""
            return f"{verb} {rest} for {v}".replace("  ", " "), False
        if _is_adjective_label(label):
            return f"is {label} for {v}", False
        if label in {"warranty", "guarantee"}:
            return f"comes with a warranty of {v}", False
        return f"has {a(label)} of {v}" if not plural_label(label) else f"has {label} of {v}", False
    if kind == "rating":
        if "rating" in label or label in {"rating", "ip rating", "energy class"}:
            return f"is rated {v}", False
        return f"is rated {v} for {label}", False
    if _is_adjective_label(label) and kind in {"temperature", "quantity", "dimension", "mass", "volume", "percent",
                                               "count"}:
        return f"is {label} {v}" if not v[:1].isdigit() else f"is {label} for {v}", False
    if kind in {"dimension", "mass", "volume", "temperature", "percent", "quantity", "count"}:
        low = vl
        vw_, lw_ = _words(v), _words(label)
        if kind == "quantity" and vw_ and lw_ and vw_[-1].rstrip("s") == lw_[-1].rstrip("s") and len(vw_) <= 4:
            return f"has {v}", False  # "pans: 24 half pans" -> "has 24 half pans"
        if kind == "count":
            if plural_label(label):
                return f"has {v} {label}", False
            return (f"has {v} {label}" if v == "1" else f"has {a(label)} of {v}"), False
        if re.match(r"^(under|below|over|above|less than|more than|at least)\s", low):
            return f"has {a(label)} {v}" if not plural_label(label) else f"has {label} {v}", False
        m = re.match(r"^(\d+)\s+(.+)$", v)
        if kind == "quantity" and m and plural_label(label) and " per " in f" {m.group(2)} ":
            return f"has {m.group(1)} {label} {m.group(2)}", False
        m = re.match(r"^(\d[\d.,]*(?:\s*(?:mm|cm|m|w|v|l|ml|g|kg|in))?)\s+([a-z][a-z\-]*)$", v, re.I)
        if kind == "quantity" and m and not plural_label(m.group(2)) and m.group(2).lower() not in _UNITS:
            return _has_noun_phrase(label, v), False  # "4 spinner" wheels, "10 mm keyless" chuck
        return (f"has {label} of {v}" if plural_label(label) else f"has {a(label)} of {v}"), False
    if label in NOUNISH_TYPE_LABELS or label.endswith(" type"):
        if label.endswith(" type") and label not in NOUNISH_TYPE_LABELS:
            part = label[: -len(" type")]
            vw = _words(v)
            if vw and vw[-1] == part.split()[-1]:
                return f"is {a(lower_first(v))}", False
            return _has_noun_phrase(part, v), False
        if _is_adjective_label(vl.split()[-1]) and len(v.split()) <= 3:
            return f"is {lower_first(v)}", False
        return f"is {a(lower_first(v))}", False
    if label in {"process", "method", "treatment", "processing"}:
        return (f"is {lower_first(v)}" if _is_adjective_label(vl.split()[-1]) else f"is made by {lower_first(v)}"), False
    if label in {"pattern", "print", "design", "motif"}:
        return (f"has {a(lower_first(v))}" if head in vl else f"has {a(lower_first(v) + ' ' + label)}"), False
    if label in {"style", "look"}:
        return f"has {a(lower_first(v) + ' style')}" if "style" not in vl else f"has {a(lower_first(v))}", False
    if label in {"vessel", "container", "packaging", "package", "presentation", "jar"} and not _is_adjective_label(
            vl.split()[-1]):
        return f"comes in {a(lower_first(v))}", False
    if label in {"scent", "fragrance", "aroma"}:
        return f"has a scent of {lower_first(v)}", False
    vw, lw = _words(v), _words(label)
    if vw and lw and (vw[0] in {"low", "high"}) and vw[-1] == lw[-1] and len(vw) == 2:
        return f"is {vw[0]} in {lw[-1]}", False  # "sugar: low sugar"
    if kind == "material" and _modifier_value(v):
        return _has_noun_phrase(label, v), False
    m = re.match(r"^(.+?)\s+with\s+(.+)$", v, re.I)
    if m and len(m.group(1).split()) <= 3:
        return f"{_has_noun_phrase(label, m.group(1))} with {m.group(2)}", False
    if kind == "list":
        return f"its {label} {'are' if plural_label(label) else 'is'} {join_list(lower_first(v))}", True
    if _modifier_value(v) and not set(vw) & set(lw[:-1]):
        return _has_noun_phrase(label, v), False
    return f"its {label} {'are' if plural_label(label) else 'is'} {join_list(lower_first(v))}", True


_IN_UNITS = {"sizes", "colours", "colors", "increments", "steps", "lengths", "widths", "settings", "shades"}
# an attribute named by what the product does: "packs_into: attached pouch", "fits: medium to large faces"
VERB_LABELS = {"packs", "folds", "fits", "attaches", "converts", "doubles", "mounts", "clips", "hangs", "stores",
               "pairs", "syncs"}


def _fill(template: str, v: str) -> str:
    """Put the value in the frame; a trailing parenthesis goes after the frame's noun ("includes 4 pieces (2 bath,
    2 hand)"), and a word the value already ends with is not repeated ("has 3 cleaning modes", not "modes modes")."""
    m = re.match(r"^(.*?)\s*(\(.*\))$", v)
    tail = ""
    if m and template.endswith("}" + template.split("}")[-1]) and template.split("}")[-1].strip():
        v, tail = m.group(1), " " + m.group(2)
    if "up to {v}" in template and re.match(r"^\d[\d.,]*\s*(?:-|–|to)\s*\d", v):  # a range: "a load of 2-9 kg"
        template = template.replace("up to {v}", "{v}")
    text = template.format(v=v) + tail
    text = re.sub(r"\b(up to|about|around|over|under) \1\b", r"\1", text)  # "works up to up to 30 km"
    return re.sub(r"\b(\w+) \1\b", r"\1", text)
