"""An answer audit for evaluation only, deliberately NOT the checker the answerer filters with.

The answerer vets each sentence against the evidence sentences it chose, with the regexes of `grounding.py`. This
audit shares neither: it re-derives the topic from the cited entries itself (every sentence of a cited entry that
the answer or the question touches), and it reads quantities with `quantulum3` (an independent quantity parser:
"30 days", "thirty days", "a month", "$4.95", "10%") instead of our number regexes. What it counts:

- `dropped`: a quantity, a code (IPX5, SPF50) or a restriction word (within, until, unused, with tags, ...) that a
  topic sentence states and the answer does not;
- `added`: a quantity in the answer that no cited entry states.
- a topic sentence that says no ("Dishwasher safe: no.", "not refundable") answered without any negation counts as
  `dropped: negation` (the answer states the opposite).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("the a an and or of to in on for with is are be it its this that you your we our can will "
                  "do does how what when where which who my me i at by from as if not no all any".split())
# Restriction words, matched by a six-letter stem (five letters read "receive" as "receipt"); each with the other
# ways to say it.
RESTRICTIONS = {
    "within": ("within", "up to", "no later", "inside"), "until": ("until", "till", "before", "up to"),
    "before": ("before", "until", "by "), "after": ("after", "once"), "only": ("only", "just"),
    "unless": ("unless",), "except": ("except", "excluding", "other than"),
    "unused": ("unused", "not used", "unworn", "new condition"), "unworn": ("unworn", "not worn", "unused"),
    "unopened": ("unopened", "sealed"), "undamaged": ("undamaged", "intact"), "original": ("original",),
    "tags": ("tag", "label"), "receipt": ("receipt", "proof of purchase"),
    "business": ("business", "working"), "working": ("working", "business"),
    "minimum": ("minimum", "at least"), "maximum": ("maximum", "at most", "up to"),
    "over": ("over", "above", "more than", "from "), "under": ("under", "below", "less than"),
    "above": ("above", "over", "more than"), "below": ("below", "under", "less than"),
}  # fmt: skip
_CODE = re.compile(r"\b(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]{3,}\b")
_NEGATIVE = re.compile(r"\b(?:no|not|never|none|cannot|can't|won't|isn't|aren't|don't|doesn't|non|without)\b")


@dataclass
class AuditResult:
    grounded: bool
    dropped: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    topic: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _parser():
    from quantulum3 import classifier

    classifier.USE_CLF = False  # its pickled disambiguation model does not load on current scikit-learn
    from quantulum3 import parser

    return parser


@lru_cache(maxsize=4096)
def quantities(text: str) -> tuple[tuple[float, str], ...]:
    """(value, unit) pairs; a range "3 to 5" counts both ends."""
    parser = _parser()
    out: list[tuple[float, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = parser.parse(text)
    for q in parsed:
        unit = q.unit.name
        if q.uncertainty is not None and q.uncertainty > 0 and re.search(r"\bto\b|-|–", q.surface):
            ends = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", q.surface)]
            out += [(v, unit) for v in ends]
        else:
            out.append((round(float(q.value), 4), unit))
    return tuple(out)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if len(s.strip()) > 2]


def topic_sentences(question: str, answer: str, sources: list[str]) -> list[str]:
    """The cited entries' sentences the answer is about: at least half of their content words occur in the answer,
    or a third of them do and one of those is also in the question."""
    a, q = _stems(answer), _stems(question)
    topic = []
    for source in sources:
        for sentence in _sentences(source):
            s = _stems(sentence)
            if not s:
                continue
            share = len(s & a) / len(s)
            if share >= 0.5 or (share >= 0.34 and s & q & a):
                topic.append(sentence)
    return topic


def _same(value: float, unit: str, found: tuple[tuple[float, str], ...]) -> bool:
    return any(abs(v - value) < 1e-6 and (u == unit or "dimensionless" in (u, unit)) for v, u in found)


def audit_answer(question: str, answer: str, sources: list[str]) -> AuditResult:
    answer_plain = re.sub(r"\[\d+\]", " ", answer)
    lowered = " " + answer_plain.lower() + " "
    topic = topic_sentences(question, answer_plain, sources)
    found = quantities(answer_plain)
    dropped: list[str] = []
    for sentence in topic:
        for value, unit in quantities(sentence):
            if not _same(value, unit, found):
                dropped.append(f"{value:g} {unit}")
        for code in _CODE.findall(sentence.lower()):
            if code not in lowered.replace(" ", "").replace("-", ""):
                dropped.append(code)
        s_low = sentence.lower()
        if _NEGATIVE.search(s_low.replace("\u2019", "'")) and not _NEGATIVE.search(lowered.replace("\u2019", "'")):
            dropped.append("negation")
        for word, ways in RESTRICTIONS.items():
            if re.search(rf"\b{word[:6]}", s_low) and not any(w in lowered for w in ways):
                dropped.append(word)
    source_quantities = tuple(q for s in sources for q in quantities(s))
    added = [f"{v:g} {u}" for v, u in found if not _same(v, u, source_quantities)]
    return AuditResult(grounded=not added, dropped=sorted(set(dropped)), added=added, topic=topic)
