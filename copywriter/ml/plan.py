"""Content planning: which facts go in which sentence, and a well-formed sentence for each built from the facts.

A description is planned as an opening sentence (what the product is, who or what it is for), then 2-4 body
sentences each carrying 1-3 attributes, grouped by kind (look, build, size and specs, features, care), and for
medium/long copy a closing sentence. The language model realises each planned sentence from its few facts
(:mod:`copywriter.ml.generate`); the sentence this module builds from the same facts is both the model's draft
to improve and the replacement when the model's sentence fails a check. It is plain prose: never ``key: value``.

No Django, no model.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from . import facts as factlib
from . import realise
from .inputs import Options, ProductFacts

# --- product families: a safe "use" for the opening, and prototypes for the relevance check -------------

@dataclass(frozen=True)
class Family:
    name: str
    keywords: tuple[str, ...]  # words in the category or title that put a product in this family
    use: str  # how the opening says what it is for; deliberately generic so it never claims a spec
    prototype: str  # what MiniLM compares sentences with (relevance.contradiction)


FAMILIES: tuple[Family, ...] = (
    Family("footwear", ("shoe", "shoes", "sneaker", "sneakers", "sandal", "sandals", "boot", "boots", "heels",
                        "flats", "bellies", "slipper", "slippers", "loafers", "footwear", "flip-flops"),
           "for everyday wear", "footwear: shoes, sneakers, sandals, heels, flats, boots and slippers to wear on your feet"),
    Family("clothing", ("shirt", "t-shirt", "tshirt", "dress", "kurta", "kurti", "jeans", "trousers", "jacket",
                        "sweater", "saree", "top", "skirt", "shorts", "hoodie", "sweatshirt", "blazer", "suit",
                        "leggings", "lehenga", "dupatta", "churidar", "apparel", "clothing", "beanie", "hat",
                        "cap", "scarf", "socks", "fashion", "tunic", "coat", "pyjamas", "nightdress", "bra"),
           "for everyday wear", "clothing and apparel to wear: shirt, dress, kurta, jeans, trousers, jacket, sweater"),
    Family("bags and accessories", ("bag", "backpack", "handbag", "wallet", "belt", "luggage", "trolley",
                                    "watch", "sunglasses", "clutch", "purse", "accessories"),
           "for every day", "bags and accessories: handbag, backpack, wallet, belt, trolley luggage, watch, sunglasses"),
    Family("jewellery", ("jewellery", "jewelry", "necklace", "earrings", "ring", "bracelet", "pendant", "jhumkas",
                         "bangles", "anklet"),
           "to wear every day", "jewellery: necklace, earrings, ring, bracelet and pendant"),
    Family("electronics", ("electronics", "earbuds", "headphones", "speaker", "monitor", "webcam", "router",
                           "charger", "power bank", "laptop", "phone", "tablet", "camera", "wearables", "tracker",
                           "audio", "computers", "networking", "toothbrush"),
           "for everyday use", "electronics and gadgets: headphones, speaker, phone charger, monitor, router, camera"),
    Family("kitchen", ("kitchen", "cookware", "air fryer", "coffee maker", "knife", "casserole", "dinner set",
                       "tableware", "toaster", "kettle", "pan", "jug", "water filter", "cutlery", "blender"),
           "for the kitchen", "kitchen and cookware: pan, pot, knife, air fryer, coffee maker, plates and bowls"),
    Family("home", ("home", "towel", "towels", "bath", "bedding", "blanket", "fan", "vacuum", "cleaning",
                    "curtain", "cushion", "storage", "organiser", "lamp", "decor", "rug"),
           "for the home", "home essentials: towels, bedding, blankets, fans, vacuum cleaner, storage and decor"),
    Family("furniture", ("furniture", "sofa", "table", "chair", "bed frame", "bookshelf", "bookcase", "wardrobe",
                         "bean bag", "desk", "stool", "cabinet"),
           "for the home", "furniture: sofa, dining table, office chair, bed frame, bookshelf and coffee table"),
    Family("beauty", ("beauty", "skincare", "serum", "sunscreen", "lipstick", "makeup", "shampoo", "hair",
                      "perfume", "parfum", "fragrance", "cream", "moisturiser", "roller", "deodorant", "toilette",
                      "lotion", "nail", "kajal", "eyeliner"),
           "for your daily routine", "beauty and personal care: skincare serum, face cream, make-up, lipstick, "
                                     "shampoo and perfume"),
    Family("pets", ("pet", "pets", "dog", "cat", "puppy", "kitten", "aquarium", "fish", "rabbit", "guinea pig",
                    "harness", "leash"),
           "for your pet", "pet supplies: dog food, dog bed, cat toy, harness, aquarium"),
    Family("sports", ("sports", "yoga", "fitness", "dumbbells", "football", "racket", "badminton", "running",
                      "hiking", "gym", "cycling", "outdoor", "training"),
           "for training and the outdoors", "sports and fitness equipment: yoga mat, dumbbells, football, racket, "
                                            "hiking backpack"),
    Family("toys", ("toys", "toy", "game", "games", "puzzle", "building set", "doll", "rc car", "stacker", "stunt car",
                    "remote control car"),
           "for playtime", "toys and games for children: building blocks, board game, doll, remote control car"),
    Family("baby", ("baby", "stroller", "nappy", "toddler", "infant", "sleeping bag"),
           "for your little one", "baby products: stroller, baby sleeping bag, feeding bottles and plates"),
    Family("food", ("grocery", "food", "tea", "coffee", "granola", "cereal", "snack", "olive oil", "pantry",
                    "chocolate", "spices", "breakfast"),
           "for the pantry", "food and drink: breakfast cereal, snack, tea, coffee, cooking oil, a meal to eat"),
    Family("garden and tools", ("garden", "tools", "tool", "trimmer", "drill", "socket", "planter", "lawn", "pots"),
           "for the garden and workshop", "garden and DIY tools: hedge trimmer, drill, socket set, planter"),
    Family("automotive", ("automotive", "car", "tyre", "vehicle"),
           "for the car", "car accessories: phone mount, tyre inflator, seat covers"),
    Family("stationery", ("stationery", "notebook", "pens", "pen", "paper", "planner", "journal"),
           "for the desk", "stationery: notebook, pens, paper and office supplies"),
)


DOMINANT = ("pets", "baby")  # "dog food" is a pet product, "baby sleeping bag" a baby product


def family_of(facts: ProductFacts) -> Family | None:
    """The family named by the title's head noun (the last keyword in it), else by the category from leaf to
    root; a pet or baby keyword anywhere wins. None when nothing matches."""
    texts = [facts.title] + [seg for seg in reversed(facts.category.split(">"))] if facts.category else [facts.title]
    everything = f" {_plain(' '.join(texts))} "
    for fam in FAMILIES:
        if fam.name in DOMINANT and any(_find(everything, kw) >= 0 for kw in fam.keywords):
            return fam
    for k, text in enumerate(texts):
        if k > 0 and len(texts) == 2 and len(_plain(text).split()) == 1:
            break  # a one-word catch-all category ("Fashion" for a vase) names no family the title does not
        low = f" {_plain(text)} "
        best = None
        for fam in FAMILIES:
            for kw in fam.keywords:
                end = _find(low, kw)
                if end >= 0 and (best is None or (end, len(kw)) > best[0]):
                    best = ((end, len(kw)), fam)
        if best:
            return best[1]
    return None


def _find(low: str, kw: str) -> int:
    """End position of the last whole-word occurrence of ``kw`` (or its plural) in `` low ``, else -1."""
    ends = [m.end() for m in re.finditer(rf" {re.escape(kw)}(?:s|es)? ", low)]
    return max(ends) if ends else -1


def _plain(text: str) -> str:
    return re.sub(r"[^\w\- ]+|_", " ", (text or "").lower())  # letters of any script: "cafetière" stays whole


# --- the product noun ----------------------------------------------------------------------------------

PAIR_NOUNS = {"jeans", "trousers", "shorts", "leggings", "pants", "tights", "pyjamas", "glasses", "sunglasses",
              "scissors", "earbuds", "headphones", "earphones", "dumbbells", "sandals", "shoes", "sneakers",
              "boots", "bellies", "flats", "heels", "slippers", "loafers", "earrings", "jhumkas", "socks", "pens",
              "towels", "bangles"}
_SKIP_TAIL = re.compile(r"^(\d.*|[a-z]?\d+[a-z]*|of|pcs|pieces|piece|ml|kg|cm|mm|inch|inches|"
                        r"with|and|&|\(.*|.*\))$", re.I)


@dataclass(frozen=True)
class Noun:
    text: str  # "shirt", "wireless earbuds"
    plural: bool

    @property
    def this(self) -> str:
        return ("These " if self.plural else "This ") + self.text

    @property
    def be(self) -> str:
        return "are" if self.plural else "is"

    @property
    def article(self) -> str:
        if self.plural:
            return self.text
        return ("an " if self.text[:1] in "aeiou" else "a ") + self.text


def product_noun(facts: ProductFacts) -> Noun:
    """What the product is, from the end of its title ("... Casual Shirt" -> shirt, "Socket Set" -> socket set),
    else the category leaf."""
    leaf = _leaf_in_title(facts)
    if leaf is not None:
        return leaf
    words = [w for w in re.split(r"\s+", facts.title.strip()) if w]
    low = [w.lower() for w in words]
    if "with" in low[1:]:  # "Kurta Set with Jacket": the noun comes before "with"
        words = words[: low.index("with")]
    while words and (_SKIP_TAIL.match(words[-1]) or len(re.sub(r"[^A-Za-z]", "", words[-1])) <= 2
                     or words[-1].lower() in _SIZE_WORDS or _is_code(words[-1])):
        words.pop()
    if words:
        last = re.sub(r"[^\w\-]", "", words[-1]).lower()
        if last in {"set", "kit", "pack", "pair"} and len(words) > 1:
            prev = re.sub(r"[^\w\-]", "", words[-2]).lower()
            if re.fullmatch(r"\d+(?:-piece)?", prev) and len(words) > 2:  # "Softgels 120 Pack" -> softgels
                head = re.sub(r"[^\w\-]", "", words[-3]).lower()
                if len(head) > 2 and not head.isdigit():
                    return Noun(head, head in PAIR_NOUNS or (head.endswith("s") and not head.endswith(("ss", "us"))))
            return Noun(f"{prev} {last}", False)
        if last and not last.isdigit() and len(last) > 2:
            return Noun(last, last in PAIR_NOUNS or (last.endswith("s") and not last.endswith(("ss", "us", "is"))))
    leaf = facts.category.split(">")[-1].strip().lower() if facts.category else ""
    if leaf.endswith("s") and not leaf.endswith("ss") and leaf not in PAIR_NOUNS:
        leaf = leaf[:-1]
    return Noun(leaf or "product", False)


_SIZE_WORDS = {"small", "medium", "large", "xl", "xxl", "mini", "maxi", "regular", "single", "double", "king",
               "queen", "edition", "pro", "plus", "max", "lite", "new", "v2", "gen"}


def _is_code(word: str) -> bool:
    """A model code or unit written in capitals ("SPF", "S2", "4K", "XL"): not the product noun."""
    w = re.sub(r"[^\w\-]", "", word)
    return bool(w) and (w.isupper() and len(w) <= 4 or bool(re.search(r"\d", w)))


def _singular(word: str) -> str:
    if word in PAIR_NOUNS or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _tail_ok(tail: str, attribute_words: frozenset[str] = frozenset()) -> bool:
    """What follows the category leaf in the title: nothing but sizes/codes, or a variant ("salmon & sweet potato",
    "with lid"); not another noun ("Badminton" + "Racket": the racket is the product)."""
    words = tail.split()
    # an attribute's word names a variant only beside a number ("Racket Grip 2", "Paddle Four-Piece"), not alone
    # ("Standing Desk Frame" with a frame attribute is a frame)
    numbered = attribute_words if re.search(r"\d", tail) or any(
        p in factlib.NUMBER_WORDS for w in words for p in w.split("-")) else frozenset()
    rest = [w for w in words if not (re.fullmatch(r"[+\d.,x\-]+|[a-z]?\d+[a-z]*|ml|l|g|kg|cm|mm|m|oz|lb|inch|inches|pcs",
                                                  w) or w in _SIZE_WORDS or _variant_word(w, numbered))]
    if rest and realise.is_material(tail) and len(words) <= 3:  # "... Neck Pillow Memory Foam"
        return True
    return not rest or bool(set(words) & {"and", "with", "for", "in"}) or "&" in tail or "," in tail


_VARIANT_WORDS = {"size", "tortoiseshell", "camo", "floral", "striped", "checked", "marble", "leopard", "natural",
                  "pack", "packs", "pair", "pairs", "piece", "pieces", "bluetooth", "wireless", "wi-fi", "wifi",
                  "usb", "usb-c", "cordless", "corded", "electric", "manual", "digital", "analogue", "smart"}


_VARIANT_COLOURS = factlib.TITLE_COLOUR_WORDS | {"stone", "slate", "charcoal", "sage", "sand", "ivory", "oatmeal",
                                                 "graphite", "silver", "gold", "rose", "taupe", "olive", "mint",
                                                 "midnight", "ecru", "clay", "coral", "indigo", "emerald"}
_FIT_WORDS = {"slim", "skinny", "straight", "relaxed", "tapered", "stretch", "fit", "oversized", "cropped"}


def _variant_word(word: str, attribute_words: frozenset[str] = frozenset()) -> bool:
    """A word a title puts after the product noun to name the variant, not another product: a colour, a
    material, a finish, a fit, an adjective, or a word of the product's own attributes ("Ukulele Mahogany",
    "Goggles Photochromic", "Golf Balls 12 Pack", "Label Maker Bluetooth", "Chinos Slim Fit Navy 32W", "Racket Grip
    2" with a grip size, "Paddle Four-Piece" with pieces)."""
    w = word.strip("()").lower()
    if w in _VARIANT_WORDS or w in _VARIANT_COLOURS or w in _FIT_WORDS:
        return True
    parts = [p for p in w.split("-") if p]
    if parts and (w in attribute_words or all(p in attribute_words or p.rstrip("s") in attribute_words
                                              or p in factlib.NUMBER_WORDS or p.isdigit() for p in parts)):
        return True
    if realise.is_material(w):
        return True
    return len(w) > 4 and bool(re.search(r"(?:ed|ic|less|proof|ised|ized)$", w))


def _leaf_in_title(facts: ProductFacts) -> Noun | None:
    """The category leaf when the title names it ("Pets > Dogs > Dog Food" + "... Dog Food Salmon & Sweet
    Potato 12 kg" -> dog food; "Power Banks" + "Voltis 20000 mAh Power Bank" -> power bank)."""
    if not facts.category or ">" not in facts.category:
        return None
    leaf = _plain(facts.category.split(">")[-1]).split()
    title = " " + " ".join(re.sub(r"[^\w\-&, ]+|_", " ", facts.title.lower()).replace("&", " & ")
                           .replace(",", " , ").split()) + " "
    if not leaf:
        return None
    words = {w for w in re.findall(r"[a-z]+", " ".join([*facts.attributes, *facts.attributes.values()]).lower())
             if len(w) > 2}
    attribute_words = frozenset(words | {w.rstrip("s") for w in words})
    for n in range(min(3, len(leaf)), 0, -1):
        words = leaf[-n:]
        sing = words[:-1] + [_singular(words[-1])]
        cands = [(sing, False), (words, True)]
        if sing == words and words[-1].endswith("s"):  # "towels" is a pair noun for agreement, "Towel" a title word
            cands.insert(0, (words[:-1] + [words[-1][:-1]], False))
        for cand, plural in cands:
            phrase = " ".join(cand)
            at = title.rfind(f" {phrase} ")
            if at >= 0 and _tail_ok(title[at + len(phrase) + 2:], attribute_words):
                is_plural = cand[-1] in PAIR_NOUNS or (plural and cand[-1] != sing[-1])
                return Noun(phrase, is_plural)
    return None


# --- attribute phrases ---------------------------------------------------------------------------------

@dataclass
class Phrase:
    attribute: str
    text: str
    clause: bool = False  # an independent clause ("its cover is ...") rather than a verb phrase ("is made of ...")


def _label(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("_", " ").replace("-", " ")).strip().lower()


def _pick(options: list[str], seed: str) -> str:
    h = int(hashlib.sha1(seed.encode("utf-8")).hexdigest()[:8], 16)
    return options[h % len(options)]


COMPONENTS = {"frame", "upper", "sole", "midsole", "handle", "legs", "cover", "top", "base", "lining", "strap",
              "shell", "back", "blade", "panel", "display", "case", "lid", "stand", "seat", "closure", "finish",
              "mount", "bladder", "carafe", "basket", "filter", "clasp", "stone", "binding", "ruling", "paint",
              "zip", "ink", "tip"}
AUDIENCE_KEYS = realise.AUDIENCE_KEYS - {"age", "age range", "ages", "recommended age"}


def attribute_phrase(name: str, value: str, noun: Noun, seed: str = "") -> Phrase:
    """One attribute as a verb phrase for "It/This <noun> ..." (or an independent clause), never "key: value".
    The frame follows the attribute's kind (:mod:`copywriter.ml.realise`): a connector is not a rating, a finish
    is not a material, a duration is not a size."""
    text, clause = realise.phrase_for(name, value)
    if not clause and text.startswith("comes in ") and realise.value_kind(value) == "colour":
        text = _pick([text, "is finished in " + text[len("comes in "):]], seed + name)
    return Phrase(name, text, clause)


def _a(text: str) -> str:
    return realise.a(text)


def _pluralish(label: str) -> bool:
    return label.endswith("s") and not label.endswith("ss")


def _verb_groups(vps: list[str]) -> list[tuple[str, list[str]]]:
    """Verb phrases grouped by their first verb, first-seen order: "has a X", "is rated IPX4", "has Y" ->
    [("has", ["a X", "Y"]), ("is", ["rated IPX4"])]. Only "has" and "comes with" objects are merged (they share
    the verb without changing meaning); every other phrase stays whole."""
    groups: list[tuple[str, list[str]]] = []
    for vp in vps:
        verb = "has" if vp.startswith("has ") else "comes with" if vp.startswith("comes with ") else ""
        if verb:
            obj = vp[len(verb) + 1:]
            for g in groups:
                if g[0] == verb:
                    g[1].append(obj)
                    break
            else:
                groups.append((verb, [obj]))
        else:
            groups.append(("", [vp]))
    return groups


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _group_text(verb: str, objs: list[str]) -> str:
    return f"{verb} {_and(objs)}" if verb else objs[0]


# verbs an action can follow "With <feature>, it …" with (not "is", "comes in", "suits": "With a drop of 4 mm,
# they come in size EU 42" links two facts that have nothing to do with each other)
WITH_VERBS = {"holds", "keeps", "runs", "burns", "works", "stands", "takes", "weighs", "measures", "offers", "puts",
              "delivers", "reaches", "plays", "lasts", "seats", "covers", "charges", "connects", "tracks",
              "refreshes", "stays", "folds", "fits", "cleans", "opens", "settles"}


def join_phrases(subject: str, phrases: list[Phrase], *, plural: bool = False, frame: int = 0) -> str:
    """One sentence from 1-3 attribute phrases, read like copy rather than a list:

    * repeated "has" objects share the verb: "It has a native resolution of 1280 x 720, a brightness of 3000
      lumens and a screen size of up to 150 inches." (never "has …, has … and has …");
    * with ``frame`` odd and a "has" group beside other verbs, the "has" objects lead: "With a leak-proof
      silicone seal lid, it holds 1.2 L and keeps warm for 6 hours.";
    * independent clauses ("Its … is …") become their own sentence."""
    vps = [p.text for p in phrases if not p.clause]
    clauses = [p.text for p in phrases if p.clause]
    out = []
    if vps:
        groups = _verb_groups(vps)
        has = next((g for g in groups if g[0] == "has"), None)
        others = [g for g in groups if g is not has]

        def text(g: tuple[str, list[str]]) -> str:
            t = _group_text(*g)
            return _pluralise_verb(t) if plural else t

        if frame % 2 == 1 and has is not None and others and len(has[1]) <= 2 and all(
                g[0] == "" and g[1][0].split(" ", 1)[0] in WITH_VERBS for g in others):
            subj = subject if subject.split()[0] not in {"It", "They", "This", "These", "The"} \
                else subject[0].lower() + subject[1:]
            out.append(f"With {_and(has[1])}, {subj} {_and([text(g) for g in others])}.")
        else:
            out.append(f"{subject} {_and([text(g) for g in groups])}.")
    for c in clauses:
        if plural and c.startswith("its "):
            c = "their " + c[len("its "):]
        out.append(c[0].upper() + c[1:] + ".")
    return " ".join(out)


_PLURAL_VERBS = {"is": "are", "has": "have", "comes": "come", "weighs": "weigh", "holds": "hold", "measures": "measure",
                 "contains": "contain", "offers": "offer", "runs": "run", "suits": "suit", "stands": "stand",
                 "features": "feature", "does": "do", "puts": "put", "seats": "seat", "sleeps": "sleep", "serves": "serve", "makes": "make", "takes": "take", "lasts": "last",
                 "reaches": "reach", "works": "work", "keeps": "keep", "refreshes": "refresh", "opens": "open",
                 "settles": "settle", "tracks": "track", "connects": "connect", "charges": "charge", "uses": "use",
                 "includes": "include", "plays": "play", "should": "should", "can": "can", "needs": "need",
                 "requires": "require", "delivers": "deliver", "burns": "burn", "covers": "cover"}


def _pluralise_verb(vp: str) -> str:
    first, _, rest = vp.partition(" ")
    return f"{_PLURAL_VERBS.get(first, first)} {rest}".strip()


# --- the plan --------------------------------------------------------------------------------------------

KIND_ORDER = ("look", "build", "size", "spec", "feature", "care")


def attribute_kind(name: str, value: str) -> str:
    label, vl = _label(name), value.strip().lower()
    if label in AUDIENCE_KEYS:
        return "audience"
    vk = realise.value_kind(value)
    if label in realise.COLOUR_LABELS or vk in {"colour", "finish"} and label not in realise.MATERIAL_LABELS:
        return "look"
    if label in realise.MATERIAL_LABELS or label.endswith(" material") or vk == "material":
        return "build"
    if label in {"colour", "color", "primary colour", "shade", "pattern", "finish", "style", "colours"}:
        return "look"
    if label in {"material", "fabric", "upholstery", "filling", "fill"} or label.split()[-1] in COMPONENTS:
        return "build"
    if label in {"size", "dimensions", "length", "height", "width", "diameter", "thickness", "weight", "capacity",
                 "volume", "fit", "depth"}:
        return "size"
    if vl in {"yes", "no", "true", "false"}:
        return "feature"
    if label in {"care", "origin", "warranty", "language"}:
        return "care"
    return "spec"


@dataclass
class PlannedSentence:
    role: str  # "opening", "body" or "closing"
    attributes: list[str]  # the attribute names this sentence must state
    draft: str  # the sentence built from the facts: the model's starting point and the fallback
    subject: str = ""


@dataclass
class ContentPlan:
    noun: Noun
    family: str  # the product family name, "" when unknown
    sentences: list[PlannedSentence] = field(default_factory=list)

    @property
    def planned_attributes(self) -> list[str]:
        return [a for s in self.sentences for a in s.attributes]


BODY_SENTENCES = {"short": 2, "medium": 3, "long": 4}
MAX_FACTS_PER_SENTENCE = 3
SUBJECTS = ("It", "{this}", "The {noun}")


def opening_sentence(facts: ProductFacts, options: Options, noun: Noun, family: Family | None,
                     audience_phrase: Phrase | None) -> str:
    title = facts.title.rstrip(".")
    by = f" from {facts.brand}" if facts.brand and facts.brand.lower() not in title.lower() else ""
    in_title = noun.text.lower() in title.lower()
    what = "" if in_title else f"{noun.article} "
    use = family.use if family else ""
    be = "are" if noun.plural else "is"
    if audience_phrase is not None and audience_phrase.text.startswith(("is made for ", "is a unisex")):
        front = "A unisex design" if "unisex" in audience_phrase.text else \
            "Designed for " + audience_phrase.text[len("is made for "):]
        made = f"{be} {what}made {use}" if use else f"{be} {what or 'made with care'}"
        text = f"{front}, the {title}{by} {made}"
    elif audience_phrase is not None:
        tail = _pluralise_verb(audience_phrase.text) if noun.plural else audience_phrase.text
        core = f"{be} {what}made {use}".replace("  ", " ").strip() if (what or use) else ""
        text = f"The {title}{by} {core + ' and ' if core and core != be else ''}{tail}"
    elif what or use:
        made = f"made {use}" if use else ""
        text = f"The {title}{by} {be} {what}{made}".rstrip()
    else:
        text = f"Meet the {title}{by}"
    if options.tone == "premium":
        text = text.replace("The ", "Discover the ", 1) if text.startswith("The ") and audience_phrase is None \
            else text
    end = "!" if options.tone == "playful" else "."
    return re.sub(r"\s+", " ", text).strip() + end


CLOSINGS = {
    "neutral": ["A practical choice {use}.", "A dependable pick {use}."],
    "premium": ["A refined choice {use}.", "An elegant addition {use}."],
    "playful": ["A fun pick {use}!", "Ready when you are {use}!"],
    "technical": ["A well-specified choice {use}."],
    "brand": ["A good choice {use}."],
}


def closing_sentence(facts: ProductFacts, options: Options, family: Family | None) -> str:
    if options.audience:
        return f"Made with {options.audience} in mind."
    # not the family's use ("a lunch box ... for the home"): the family comes from a keyword and can be wrong
    return _pick(CLOSINGS.get(options.tone, CLOSINGS["neutral"]), facts.title).format(use="for every day")


OPENING_FACTS = 2  # facts the opening carries after its front phrase
BODY_KIND_ORDER = ("build", "spec", "size", "feature", "look", "care", "audience")


def _front_phrase(name: str, phrase: Phrase) -> str | None:
    """A fact that can lead the opening: "Made of cast iron, …", "Designed for women, …", "A unisex design, …"."""
    t = phrase.text
    if t.startswith("is made of "):
        return "Made of " + t[len("is made of "):]
    if t.startswith("is a unisex"):
        return "A unisex design"
    if t.startswith("is made for "):
        return "Designed for " + t[len("is made for "):]
    return None


def plan_content(facts: ProductFacts, options: Options) -> ContentPlan:
    """The opening (a front phrase from a material or the audience, then the title and up to two facts), body
    sentences of 1-3 facts each (grouped by kind, colour last), and a closing one for medium/long copy."""
    noun = product_noun(facts)
    family = family_of(facts)
    plan = ContentPlan(noun, family.name if family else "")
    conflicts = factlib.title_conflicts(facts.title, facts.attributes)  # the title wins over a wrong colour/material
    names = [n for n in facts.attributes if n not in conflicts]
    phrases = {n: attribute_phrase(n, facts.attributes[n], noun, facts.title) for n in names}
    kinds = {n: attribute_kind(n, facts.attributes[n]) for n in names}
    # the front phrase: the audience first ("Designed for women, …"), else the material ("Made of linen, …")
    front_name = None
    for wanted in ("audience", "build"):
        for n in names:
            if kinds[n] == wanted and _front_phrase(n, phrases[n]):
                front_name = n
                break
        if front_name:
            break
    rest = [n for n in names if n != front_name]
    rest.sort(key=lambda n: BODY_KIND_ORDER.index(kinds[n]))
    title = facts.title.rstrip(".")
    title_low = title.lower()
    # the opening's facts: verb phrases whose value the title does not already state ("… 1.2 L holds 1.2 L")
    opening_facts = [n for n in rest if not phrases[n].clause and kinds[n] != "look"
                     and facts.attributes[n].strip().lower() not in title_low][:OPENING_FACTS]
    if not opening_facts and front_name:  # "Designed for men, the Parx … Shirt comes in blue."
        opening_facts = [n for n in rest if not phrases[n].clause][:1]
    by = f" from {facts.brand}" if facts.brand and facts.brand.lower() not in title_low else ""
    end = "!" if options.tone == "playful" else "."
    if opening_facts or front_name:
        front = _front_phrase(front_name, phrases[front_name]) if front_name else None
        subject = f"{front}, the {title}{by}" if front else f"The {title}{by}"
        if opening_facts:
            opening = join_phrases(subject, [phrases[n] for n in opening_facts], plural=noun.plural)
        else:
            be = "are" if noun.plural else "is"
            what = "" if noun.text.lower() in title_low else f"{noun.article} "
            use = f"made {family.use}" if family else "made with care"
            opening = f"{subject} {be} {what}{use}."
        opening = opening[:-1] + end
    else:
        opening = opening_sentence(facts, options, noun, family, None)
    plan.sentences.append(PlannedSentence("opening", ([front_name] if front_name else []) + opening_facts,
                                          re.sub(r"\s+", " ", opening).strip()))
    rest = [n for n in rest if n not in opening_facts]
    n_body = BODY_SENTENCES[options.length]
    rest = rest[: n_body * MAX_FACTS_PER_SENTENCE]
    if rest:
        n_sent = min(n_body, -(-len(rest) // 2))  # pairs read best; at most three facts a sentence
        per = -(-len(rest) // n_sent)
        groups = [rest[i: i + per] for i in range(0, len(rest), per)]
        for i, group in enumerate(groups):
            subject = SUBJECTS[i % len(SUBJECTS)].format(this=noun.this, noun=noun.text)
            if subject == "It" and noun.plural:
                subject = "They"
            plural = noun.plural and subject != "It"
            plan.sentences.append(PlannedSentence("body", group, join_phrases(subject, [phrases[n] for n in group],
                                                                              plural=plural, frame=i + 1),
                                                  subject))
    if options.length != "short" or options.audience:
        plan.sentences.append(PlannedSentence("closing", [], closing_sentence(facts, options, family)))
    return plan


def template_text(plan: ContentPlan, options: Options) -> str:
    """The whole description from the plan's own sentences (the deterministic baseline)."""
    return " ".join(s.draft for s in plan.sentences)


def keyword_sentence(keywords: list[str]) -> str:
    kws = [k for k in keywords if k]
    if not kws:
        return ""
    joined = kws[0] if len(kws) == 1 else ", ".join(kws[:-1]) + " or " + kws[-1]
    return f"A good match if you are looking for {joined}."
