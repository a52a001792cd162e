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
        "terms": {t for t in POLICY_TERMS if re.search(rf"(?<![a-z]){re.escape(t)}(?![a-z])", lowered)},
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
