"""A deterministic own-words rewrite of one source sentence, the answerer's last resort before quoting.

When the language model's sentence fails its checks twice, the planned clause is still answered in the bot's voice:
the source sentence is turned to the customer ("Unused items can be returned within 30 days of delivery." →
"You can return unused items within 30 days of delivery."), a product fact becomes a sentence about the product
("Auralis Earbuds — battery life: 40 h." → "The Auralis Earbuds have a battery life of 40 h."). Each rule only moves
the source's own words and adds none that state a fact; the result still goes through the same vetting (grounding,
every qualifier kept) as a generated sentence, and a sentence no rule fits is quoted.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Past participle -> base form for the verbs FAQ sentences use in "X can be <verb>ed"; others by rule.
_BASE = {
    "returned": "return", "exchanged": "exchange", "added": "add", "used": "use", "shipped": "ship",
    "collected": "collect", "cancelled": "cancel", "canceled": "cancel", "changed": "change", "paid": "pay",
    "picked": "pick", "sent": "send", "made": "make", "placed": "place", "redeemed": "redeem", "combined": "combine",
    "tracked": "track", "ordered": "order", "delivered": "deliver", "applied": "apply", "refunded": "refund",
    "washed": "wash", "worn": "wear", "booked": "book", "requested": "request", "updated": "update",
}  # fmt: skip
_THIRD = {"go": "goes", "do": "does", "have": "has", "arrive": "arrives", "take": "takes", "ship": "ships"}


def _base(participle: str) -> str | None:
    p = participle.lower()
    if p in _BASE:
        return _BASE[p]
    if p.endswith("ied"):
        return p[:-3] + "y"
    if p.endswith("ed") and len(p) > 4:
        return p[:-2]
    return None


def _lower_first(text: str) -> str:
    # "Shoes" -> "shoes", but keep names and acronyms ("EU", "PayPal", "Hamburg") as written.
    first = text.split(" ", 1)[0]
    if first.isupper() or re.search(r"[A-Z]", first[1:]):
        return text
    return text[:1].lower() + text[1:]


def _singular(noun: str) -> str:
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun


def _finish(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip().rstrip(".;, ")
    return text[:1].upper() + text[1:] + "."


# --- product facts ("<title> — <key>: <value>.") -----------------------------------------------------------------

_PRODUCT_FACT = re.compile(r"^(?P<title>.+?) — (?P<key>[a-z][a-z -]{0,40}): (?P<value>.+?)\.?$")
_ATTRIBUTE = {
    "price": "The {t} {cost} {v}.",
    "battery life": "The {t} {have} a battery life of {v}.",
    "water resistance": "The {t} {be} rated {v} for water resistance.",
    "connectivity": "The {t} {use} {v}.",
    "capacity": "The {t} {hold} {v}.",
    "volume": "The {t} {contain} {v}.",
    "weight": "The {t} {weigh} {v}.",
    "material": "The {t} {be} made of {v}.",
    "warranty": "The {t} {come} with a warranty of {v}.",
    "colour": "The {t} {come} in {v}.",
    "color": "The {t} {come} in {v}.",
    "size": "The {t} {come} in size {v}.",
    "skin type": "The {t} {be} made for {v} skin.",
    "scent": "The {t} {be} {v}.",
}  # fmt: skip


def _verbs(title: str) -> dict[str, str]:
    plural = title.split()[-1].lower().endswith("s") and not title.lower().endswith("ss")
    forms = {"have": ("has", "have"), "be": ("is", "are"), "use": ("uses", "use"), "connect": ("connects", "connect"), "hold": ("holds", "hold"),
             "contain": ("contains", "contain"), "weigh": ("weighs", "weigh"), "come": ("comes", "come"), "cost": ("costs", "cost")}
    return {k: v[1] if plural else v[0] for k, v in forms.items()}


# a key that reads as an adjective or participle: "dishwasher safe", "waterproof", "strung", "sewn", "foldable"
_ADJECTIVE_KEY = re.compile(r"(?:ed|ung|wn|able|ible|proof|safe|free|resistant|compatible)$")


@lru_cache(maxsize=4096)  # pure, and asked for the same line by the prompt, every vetting and the final gate
def product_prose(sentence: str) -> str | None:
    """A product card's fact line as a sentence about the product, by the attribute's kind (the copywriter's
    realiser, :mod:`copywriter.ml.realise`, Django-free, for keys this module has no frame for):
    "Lindholm Oak Bookshelf — assembly required: yes." -> "The Lindholm Oak Bookshelf requires assembly.",
    "Vantor Racket — strung: no." -> "The Vantor Racket is not strung." None for a line that is no product fact.
    It moves the line's own words and adds frame words only ("has", "comes with", "is rated"); an answer it helps
    write is still vetted against the line itself."""
    m = _PRODUCT_FACT.match(sentence.strip())
    if m is None:
        return None
    title, key, value = m.group("title").strip(), m.group("key").strip().lower(), m.group("value").strip()
    verbs = _verbs(title)
    yes, no = value.lower() in {"yes", "true"}, value.lower() in {"no", "false"}
    if (yes or no) and _ADJECTIVE_KEY.search(key) and not key.endswith((" required", " included")):
        return f"The {title} {verbs['be']} {'not ' if no else ''}{key}."
    template = _ATTRIBUTE.get(key)
    if template is not None and not (yes or no):
        if key == "scent" and not value.lower().endswith(("ed", "less", "free")):
            return f"The {title} {verbs['have']} a {value} scent."
        return template.format(t=title, v=value, **verbs)
    from copywriter.ml.plan import _pluralise_verb
    from copywriter.ml.realise import phrase_for

    text, clause = phrase_for(key, value)
    plural = verbs["be"] == "are"
    if clause:  # "its grip size is L2" -> "The Vantor Racket's grip size is L2."
        body = re.sub(r"^its\s+", "", text)
        return _finish(f"The {title}'s {body}" if not plural else f"The {title}' {body}")
    return _finish(f"The {title} {_pluralise_verb(text) if plural else text}")


def _product_line(sentence: str, title: str) -> str | None:
    m = re.match(r"^(?:(?P<title>.+?) — )?(?P<state>in stock|out of stock)\.?$", sentence.strip(), re.IGNORECASE)
    title = (m.group("title") or title) if m else ""
    if m is None or not title:
        return None
    return f"The {title} {_verbs(title)['be']} {m.group('state').lower()}."


# --- policy and FAQ sentences --------------------------------------------------------------------------------

def _can_be(m: re.Match) -> str | None:
    base = _base(m.group("verb"))
    if base is None:
        return None
    return f"You can {base} {_lower_first(m.group('subj').strip())}{m.group('rest')}"


def _costs_and_can_be(m: re.Match) -> str | None:
    base = _base(m.group("verb"))
    if base is None:
        return None
    subj = _lower_first(m.group("subj").strip())
    return f"You can {base} {subj} {m.group('rest').strip().rstrip('.')}; it costs {m.group('price').strip()}"


def _plural_are(m: re.Match) -> str:
    return f"Your {_singular(m.group('noun').lower())} is {m.group('rest')}"


def _plural_get(m: re.Match) -> str:
    return f"As a {_singular(m.group('noun').lower())}, you get {m.group('rest')}"


def _plural_verb(m: re.Match) -> str:
    verb = m.group("verb")
    return f"Your {_singular(m.group('noun').lower())} {_THIRD.get(verb, verb + 's')} {m.group('rest')}"


def _orders_placed(m: re.Match) -> str:
    return f"If you order {m.group('cond').strip()}, your order ships {m.group('rest')}"


def _takes(m: re.Match) -> str:
    return f"With {_lower_first(m.group('subj').strip())}, your order takes {m.group('rest')}"


def _is_free(m: re.Match) -> str:
    return f"You get {_lower_first(m.group('subj').strip())} free {m.group('rest')}"


def _free_and(m: re.Match) -> str:
    return f"You can use {_lower_first(m.group('subj').strip())} for free, and {m.group('rest')}"


_RULES: tuple[tuple[re.Pattern, object], ...] = (
    (re.compile(r"^(?P<subj>[A-Z][\w ]+?) costs (?P<price>[^,;]+?) and can be (?P<verb>[a-z]+) (?P<rest>.+)$"),
     _costs_and_can_be),
    (re.compile(r"^(?P<subj>[A-Z][\w ,-]+?) can be (?P<verb>[a-z]+)(?P<rest>(?: up)?\b.*)$"), _can_be),
    (re.compile(r"^Orders placed (?P<cond>.+?) ship (?P<rest>.+)$"), _orders_placed),
    (re.compile(r"^(?P<subj>[A-Z][\w ]+?) is free and (?P<rest>.+)$"), _free_and),
    (re.compile(r"^(?P<subj>[A-Z][\w ]+?) is free (?P<rest>(?:on|for|with|over|when|from) .+)$"), _is_free),
    (re.compile(r"^(?P<noun>[A-Z][a-z]+(?: [a-z]+)?s) are (?P<rest>.+)$"), _plural_are),
    (re.compile(r"^(?P<noun>[A-Z][a-z]+s) get (?P<rest>.+)$"), _plural_get),
    (re.compile(r"^(?P<noun>(?:Refund|Exchange|Order|Parcel|Package|Delivery|Deliverie|Return)s) "
                r"(?P<verb>go|arrive|take|ship) (?P<rest>.+)$"), _plural_verb),
    (re.compile(r"^(?P<subj>(?:Standard|Express|Free|International|Economy|Next-day)[\w -]* (?:shipping|delivery)) "
                r"takes (?P<rest>.+)$"), _takes),
    (re.compile(r"^We accept (?P<rest>.+)$"), lambda m: f"You can pay with {m.group('rest')}"),
    (re.compile(r"^We ship to (?P<rest>.+)$"), lambda m: f"You can have your order delivered to {m.group('rest')}"),
    (re.compile(r"^(?P<subj>[A-Z][a-z]+) carry (?P<rest>.+)$"),
     lambda m: f"{m.group('subj')} come with {m.group('rest')}"),
)


def _clause(text: str) -> str | None:
    text = text.strip().rstrip(".")
    for pattern, build in _RULES:
        m = pattern.match(text)
        if m is not None:
            out = build(m)
            if out:
                return out
    return None


def own_words(sentence: str, *, title: str = "") -> str | None:
    """The sentence said to the customer in other words, or None when no rule fits. Clauses joined by "; " are
    rewritten one by one (an unmatched later clause is kept as written: it is the source's own words)."""
    sentence = sentence.strip()
    if (product := product_prose(sentence)) is not None:
        return product
    if (line := _product_line(sentence, title)) is not None:
        return line
    clauses = [c for c in re.split(r";\s+", sentence.rstrip(".")) if c.strip()]
    if not clauses:
        return None
    first = _clause(clauses[0])
    if first is None:
        return None
    rest = []
    for c in clauses[1:]:
        r = _clause(c[:1].upper() + c[1:])
        rest.append(_lower_first(r) if r else c)
    return _finish("; ".join([first, *rest]))
