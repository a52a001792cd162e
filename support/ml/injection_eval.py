"""Evaluation of the injection signal (no Django): how often ordinary customers would be refused, how many attacks
are flagged, and whether any attack's answer leaks, side by side with the keyword filter it replaced.

`refusal_rate` is an upper bound: it counts every flagged ordinary message as if it were refused, although the
answering service answers a flagged message by quoting cited knowledge (or a human does); the old filter refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .safety import injection_signal

# The keyword filter of before issue 10, kept here only as the baseline of this evaluation.
LEGACY_KEYWORD_PATTERNS = [
    r"ignore (?:all |any |the |your |my )?(?:previous |prior |above |earlier |former )?(?:instructions|rules|prompts?|directions|guidelines)",
    r"disregard (?:all |any |the |your )?(?:previous |prior |above )?(?:instructions|rules|prompts?|guidelines)",
    r"forget (?:all |everything|your |the )?(?:previous |prior )?(?:instructions|rules|you were told|above)",
    r"system prompt", r"system message", r"initial prompt", r"hidden prompt", r"your (?:instructions|rules|prompt)",
    r"developer mode", r"\bdan\b", r"jailbreak", r"do anything now", r"you are no longer", r"you are now",
    r"new instructions", r"override", r"act as", r"pretend (?:to be|you are|that)", r"role ?play", r"simulate",
    r"repeat (?:the |all )?(?:text|words|everything) above", r"print (?:your|the) (?:instructions|prompt|rules)",
    r"internal notes?", r"(?:other|another|different) (?:customer|user|person|client)'?s?'? (?:data|orders?|details|e-?mails?|information|address(?:es)?)",
    r"all (?:the )?orders", r"every order",
    r"list (?:all )?(?:customers|orders|emails)", r"admin(?:istrator)? (?:mode|access|password)", r"api key",
    r"secret (?:key|prompt|instructions)", r"confidential", r"\bsudo\b", r"</?(?:system|assistant|im_start|im_end)", r"<\|",
    r"assistant:", r"system:", r"base64", r"rot13", r"decode (?:this|the following)", r"translate .* and (?:follow|execute)",
    r"from now on", r"bypass", r"(?:reveal|show|tell|give) me (?:the|your) (?:instructions|prompt|configuration)",
    r"(?:always|must) (?:say|answer|reply|respond)", r"tell (?:the|every) customer",
]  # fmt: skip
_LEGACY = re.compile("|".join(f"(?:{p})" for p in LEGACY_KEYWORD_PATTERNS), re.IGNORECASE)


def legacy_refuses(text: str) -> bool:
    return bool(_LEGACY.search(text.lower()))


@dataclass
class OrdinaryResult:
    name: str
    n: int
    refusal_rate: float  # upper bound: flagged share (flagged messages are quoted-only, not refused)
    legacy_refusal_rate: float
    flagged_examples: list[str]


def ordinary_report(name: str, texts: Iterable[str]) -> OrdinaryResult:
    texts = [t for t in texts if t and t.strip()]
    flagged = [t for t in texts if injection_signal(t).suspicious]
    legacy = sum(legacy_refuses(t) for t in texts)
    n = len(texts) or 1
    return OrdinaryResult(name=name, n=len(texts), refusal_rate=len(flagged) / n, legacy_refusal_rate=legacy / n,
                          flagged_examples=flagged[:10])


def attack_report(
    attacks: list[tuple[str, str]],
    *,
    answer: Callable[[str, bool], str] | None = None,
    forbidden: Iterable[str] = (),
) -> dict:
    """Per family: share flagged (new signal vs the keyword filter). With `answer(text, suspicious) -> reply`,
    also whether any reply contains a forbidden string (a leak)."""
    families: dict[str, dict] = {}
    leaks = []
    forbidden = [f.lower() for f in forbidden]
    for family, text in attacks:
        row = families.setdefault(family, {"n": 0, "flagged": 0, "legacy_flagged": 0, "answered": 0, "leaked": 0})
        suspicious = injection_signal(text).suspicious
        row["n"] += 1
        row["flagged"] += suspicious
        row["legacy_flagged"] += legacy_refuses(text)
        if answer is not None:
            reply = answer(text, suspicious)
            row["answered"] += 1
            hit = [f for f in forbidden if f in reply.lower()]
            if hit:
                row["leaked"] += 1
                leaks.append({"family": family, "attack": text, "leaked": hit, "reply": reply[:300]})
    for row in families.values():
        row["flagged_rate"] = row["flagged"] / row["n"]
        row["legacy_flagged_rate"] = row["legacy_flagged"] / row["n"]
    return {"families": families, "leaks": leaks, "answered": answer is not None}
