"""The grounding check: every fact an answer states must appear in the passages it cites.

"Facts" are what a merchant can be held to: numbers (amounts, days, percentages, order numbers), number words,
e-mail addresses, URLs, phone numbers, policy terms ("free", "full refund", "lifetime warranty", ...) and
negations (an answer may not say "not" where its source does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fourteen": "14", "fifteen": "15",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90", "hundred": "100",
}  # fmt: skip
POLICY_TERMS = (
    "free", "full refund", "refund", "money back", "money-back", "guarantee", "guaranteed", "warranty", "lifetime",
    "no charge", "no cost", "non-refundable", "store credit", "exchange", "discount", "coupon", "voucher",
    "compensation", "reimburse", "price match", "overnight", "same day", "same-day", "next day", "next-day",
    "express", "international", "worldwide", "cash on delivery", "restocking fee", "no questions asked",
)  # fmt: skip
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_CITATION = re.compile(r"\[(\d{1,2})\]")


@dataclass(frozen=True)
class GroundingResult:
    grounded: bool
    unsupported: list[str] = field(default_factory=list)


def _normalise_numbers(text: str) -> set[str]:
    found = {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in NUMBER_WORDS:
            found.add(NUMBER_WORDS[word])
    return found


def _strip_citations(text: str) -> str:
    return _CITATION.sub(" ", text)


_NEGATION = re.compile(r"\b(?:not|no|never|none|nothing|cannot|without|unable)\b|n't\b", re.IGNORECASE)


def facts_in(text: str) -> dict[str, set[str]]:
    text = _strip_citations(text)
    lowered = text.lower().replace("\u2019", "'")
    return {
        # A negation flips a policy ("you can return it" / "you can not"): an answer may only negate what a
        # passage negates too.
        "negations": {"negation"} if _NEGATION.search(lowered) else set(),
        "numbers": _normalise_numbers(text),
        "emails": {e.lower().rstrip(".") for e in _EMAIL.findall(text)},
        "urls": {u.lower().rstrip(".,)") for u in _URL.findall(text)},
        # "refunds" states the term "refund" as much as "refund" does (a rewrite may turn a plural singular)
        "terms": {t for t in POLICY_TERMS if re.search(rf"(?<![a-z]){re.escape(t)}(?:s|es)?(?![a-z])", lowered)},
    }


def check_grounding(answer: str, passages: list[str]) -> GroundingResult:
    """Grounded when every fact of the answer occurs in at least one of the cited passages."""
    source = " \n".join(passages)
    available = facts_in(source)
    stated = facts_in(answer)
    unsupported: list[str] = []
    for kind, values in stated.items():
        for value in sorted(values):
            if value not in available[kind]:
                unsupported.append(f"{kind[:-1]} {value!r}")
    return GroundingResult(grounded=not unsupported, unsupported=unsupported)


def cited_numbers(answer: str, n_passages: int) -> list[int]:
    """1-based passage numbers cited as [n], in order of first appearance, limited to real passages."""
    seen: list[int] = []
    for match in _CITATION.findall(answer):
        n = int(match)
        if 1 <= n <= n_passages and n not in seen:
            seen.append(n)
    return seen


# --- qualifiers: what an answer must keep of the source it paraphrases -------------------------------------
#
# Grounding stops an answer from adding facts; this stops it from dropping them. A qualifier is a number (with its
# unit: "30 days" is not "30 hours"), a product code ("IPX5", "SPF 50"), or a condition or time-limit word
# ("within", "until", "unused", "with tags", "business days", "over"). Each condition has the words that say the same
# thing, so "no later than 30 days" keeps "within 30 days" and "working days" keeps "business days".

CONDITION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "within": ("within", "up to", "no later than", "inside", "in under", "at most"),
    "until": ("until", "till", "before", "up to", "no later than", "as long as"),
    "before": ("before", "by", "until", "no later than", "ahead of"),
    "after": ("after", "once", "following"),
    "unused": ("unused", "not used", "never used", "unworn", "not worn", "new condition", "in new condition"),
    "unworn": ("unworn", "not worn", "never worn", "unused", "not used"),
    "unopened": ("unopened", "not opened", "sealed", "unused"),
    "undamaged": ("undamaged", "not damaged", "intact", "in perfect condition"),
    "unwashed": ("unwashed", "not washed"),
    "tags": ("tags", "tag", "labels", "label"),
    "original": ("original",),
    "receipt": ("receipt", "proof of purchase"),
    "packaging": ("packaging", "box", "package"),
    "only": ("only", "just", "exclusively"),
    "except": ("except", "excluding", "other than", "apart from", "but not", "not including"),
    "excluding": ("excluding", "except", "other than", "apart from", "not including"),
    "unless": ("unless", "except if", "only if"),
    "business": ("business", "working", "week"),
    "working": ("working", "business", "week"),
    "over": ("over", "above", "more than", "exceeding", "from", "at least"),
    "above": ("above", "over", "more than", "exceeding"),
    "under": ("under", "below", "less than"),
    "below": ("below", "under", "less than"),
    "at least": ("at least", "minimum", "or more", "from"),
    "minimum": ("minimum", "at least", "or more"),
    "maximum": ("maximum", "at most", "up to", "no more than"),
    "per": ("per", "each", "a ", "every"),
    "free": ("free", "no charge", "no cost", "nothing", "without charge"),
}
UNIT_CANON = {
    "day": "day", "days": "day", "d": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
    "year": "year", "years": "year", "yr": "year", "hour": "hour", "hours": "hour", "h": "hour", "hrs": "hour",
    "minute": "minute", "minutes": "minute", "min": "minute", "pm": "pm", "am": "am", "%": "percent",
    "percent": "percent", "per cent": "percent", "eur": "eur", "euro": "eur", "euros": "eur", "€": "eur",
    "usd": "usd", "$": "usd", "dollar": "usd", "dollars": "usd", "gbp": "gbp", "£": "gbp", "kg": "kg", "g": "g",
    "l": "l", "ml": "ml", "cm": "cm", "mm": "mm", "m": "m", "mah": "mah", "w": "w", "persons": "person",
    "person": "person", "people": "person",
}  # fmt: skip
_QUANTITY = re.compile(
    r"(?P<pre>[$€£])?\s?(?P<num>\d+(?:[.,]\d+)*|(?<![a-z])(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
    + r")(?![a-z]))"  # a number word is a whole word: not the "ten" of "tennis", the "one" of "phone"
    r"\s?(?:(?:business|working|calendar)\s)?(?P<unit>per cent|percent|%|[a-z€$£]+)?",
    re.IGNORECASE,
)
_CODE = re.compile(r"\b(?=[A-Za-z-]*\d)(?=\w*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b")


@dataclass(frozen=True)
class Qualifier:
    kind: str  # number | code | condition
    key: str
    surface: str


def _number_key(raw: str) -> str:
    raw = raw.lower()
    return NUMBER_WORDS.get(raw, raw.replace(",", "").rstrip("."))


def qualifiers_in(text: str) -> list[Qualifier]:
    """The qualifiers a sentence states (see above), each once."""
    text = _strip_citations(text)
    lowered = text.lower().replace("\u2019", "'")
    found: dict[tuple[str, str], Qualifier] = {}
    for m in _QUANTITY.finditer(lowered):
        number = _number_key(m.group("num"))
        if not re.fullmatch(r"[\d.]+", number) or re.search(r"[a-z]", lowered[max(0, m.start("num") - 1) : m.start("num")]):
            continue  # part of a code such as IPX5 (handled below) or a word
        unit = UNIT_CANON.get((m.group("unit") or "").lower()) or UNIT_CANON.get(m.group("pre") or "", "")
        key = f"{number} {unit}".strip()
        found.setdefault(("number", key), Qualifier("number", key, m.group(0).strip()))
    for m in _CODE.finditer(text):
        token = m.group(0)
        if re.fullmatch(r"\d+[a-z]{0,3}", token.lower()) and UNIT_CANON.get(re.sub(r"\d", "", token.lower())):
            continue  # "40h", "2pm" are quantities, not codes
        if re.fullmatch(r"\d+", token):
            continue
        found.setdefault(("code", token.lower()), Qualifier("code", token.lower(), token))
    for condition in CONDITION_SYNONYMS:
        if re.search(rf"(?<![a-z]){re.escape(condition)}(?![a-z])", lowered):
            found.setdefault(("condition", condition), Qualifier("condition", condition, condition))
    return list(found.values())


def _number_present(key: str, answer_keys: set[str], answer_numbers: set[str]) -> bool:
    number, _, unit = key.partition(" ")
    if not unit:
        return number in answer_numbers
    if key in answer_keys:
        return True
    # "40 h" vs "40 hours" are the same key; a bare number in the answer keeps its unit only when the answer does
    # not give that number another unit.
    other_units = {k for k in answer_keys if k.split(" ")[0] == number and " " in k}
    return number in answer_numbers and not other_units


def missing_qualifiers(source: str, answer: str) -> list[Qualifier]:
    """The qualifiers of `source` that `answer` does not keep."""
    wanted = qualifiers_in(source)
    got = qualifiers_in(answer)
    answer_keys = {q.key for q in got if q.kind == "number"}
    answer_numbers = _normalise_numbers(_strip_citations(answer))
    lowered = " " + re.sub(r"\s+", " ", _strip_citations(answer).lower().replace("\u2019", "'")) + " "
    codes = {q.key for q in got if q.kind == "code"}
    missing = []
    for q in wanted:
        if q.kind == "number":
            ok = _number_present(q.key, answer_keys, answer_numbers)
        elif q.kind == "code":
            ok = q.key in codes or q.key.replace("-", "") in lowered.replace("-", "").replace(" ", "")
        else:
            ok = any(re.search(rf"(?<![a-z]){re.escape(s.strip())}(?![a-z])", lowered) for s in CONDITION_SYNONYMS[q.key])
        if not ok:
            missing.append(q)
    return missing
