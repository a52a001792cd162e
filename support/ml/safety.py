"""Prompt-injection screening for customer text and retrieved passages.

The real guarantee is architectural: the bot's context never holds another customer's data, internal notes
or secrets, and order facts come from a verified database look-up, not from the model. This module adds the
second line: it scores instruction-like text (also behind base64, hex, rot13, leetspeak or spacing tricks, and
in German, French and Spanish) so the answering service answers a suspicious message only by quoting cited
knowledge or hands it to a human, and it strips such sentences from knowledge passages.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass

# Prompt-injection screening is a *signal*, not a verdict: ordinary customers say "override", "confidential",
# "act as", "I am Dan". A message is scored; only a strong instruction-to-the-bot pattern, or several weaker cues
# together, makes it suspicious, and a suspicious message is still answered, by quoting cited knowledge only (no
# free generation) or by a human. Nothing is refused on this signal (see support/services/answering.py).
_META = (r"(?:instructions?|prompts?|rules|guidelines|directions|configuration|config|system (?:prompt|message)|"
         r"initial prompt|hidden prompt|pre-?prompt)")
_STRONG = [  # each alone makes a message suspicious (weight 1.0)
    # English, also reworded
    r"\b(?:ignore|disregard|forget|skip|drop|override|bypass|abandon)\b[^.?!\n]{0,40}\b(?:previous|prior|above|earlier|former|"
    r"preceding|original|initial|all|your|the|any|these|those|existing)\b[^.?!\n]{0,25}" + _META,
    r"\b(?:forget|disregard|ignore)\b[^.?!\n]{0,20}\b(?:everything|what) (?:you were|you've been|you have been|i) (?:told|said|given)",
    r"\b(?:reveal|show|print|output|display|repeat|quote|recite|dump|leak|tell me|give me|share|list|spell out|"
    r"write out|paste)\b[^.?!\n]{0,40}\b(?:your|hidden|secret|internal|original|initial|exact|full|system|developer)\b"
    r"[^.?!\n]{0,20}" + _META,
    r"\bwhat (?:are|were) your (?:exact |original |initial |hidden |secret )?" + _META,
    r"\b(?:instructions?|rules|prompts?|guidelines|directions) (?:you (?:were|have been|got)|that you were|given to you|"
    r"(?:were|have) you (?:been )?(?:given|told))",
    r"\bpretend (?:to be|you are|you're|that you)\b", r"\b(?:world|mode|version of you) without (?:rules|restrictions|limits)",
    r"\bauthori[sz]e you\b", r"\b(?:hidden|secret) (?:configuration|config|settings)\b",
    r"system prompt", r"system message", r"\bsystem:\s", r"\bassistant:\s", r"developer mode", r"\bjailbreak",
    r"do anything now", r"\bdan mode\b", r"\b(?:you are|you're|act as|pretend to be|become) (?:now )?dan\b",
    r"\byou are no longer\b", r"\bfrom now on,? you (?:are|will|must|answer|have)\b",
    r"repeat (?:the |all )?(?:text|words|everything|what is written) (?:above|before)", r"\btext above\b",
    r"</?(?:system|assistant|im_start|im_end)", r"<\|", r"\[(?:system|inst)\]",
    r"\b(?:maintenance|debug|admin(?:istrator)?|god|sudo|root) mode\b",
    r"\b(?:tell|inform) (?:every|all|each|the next) (?:customer|user)s?\b",
    r"\byou (?:must|should|will|shall) (?:now )?always (?:say|answer|reply|respond|tell)\b",
    r"\b(?:instructions?|anweisung\w*|consignes?|instrucciones)\b[^.?!\n]{0,20}\b(?:from|by|vom|von|de|du|del) (?:your |the |dem |le |el )?"
    r"(?:developer|entwickler|développeur|developpeur|desarrollador|operator|admin\w*|betreiber)",
    r"\byour (?:previous|prior|old|original|initial|current) (?:rules|instructions|prompt|guidelines)\b",
    r"\b(?:text|words|everything|what is written) (?:that )?(?:(?:appears|is|comes|was) )?(?:above|before) "
    r"(?:this|my|the) (?:first )?(?:message|question|conversation)",
    r"\b(?:sentence|line|word|part|paragraph)s? of your (?:instructions|prompt|rules|guidelines)",
    r"\b(?:show|share|give|read|list|print|reveal|dump)\b[^.?!\n]{0,30}\binternal notes?\b",
    r"\bwiederhol\w*\b[^.?!\n]{0,30}\btext\b[^.?!\n]{0,25}\b(?:über|vor|oben|davor)\b",
    r"\brépète\w*\b[^.?!\n]{0,30}\btexte\b[^.?!\n]{0,20}\b(?:ci-dessus|au-dessus|précédent)",
    r"\brepite\w*\b[^.?!\n]{0,30}\btexto\b[^.?!\n]{0,20}\b(?:anterior|de arriba)",
    # German
    r"\b(?:ignorier|vergiss|missacht|übergeh)\w*\b[^.?!\n]{0,40}\b(?:anweisung|instruktion|regel|vorgabe|befehl|prompt)\w*",
    r"\b(?:zeig|gib|nenn|verrat|wiederhol|druck)\w*\b[^.?!\n]{0,40}\b(?:system-?prompt|systemnachricht|anweisungen|"
    r"instruktionen|konfiguration|vorgaben)\b",
    r"\bsystem-?prompt\b", r"\bentwicklermodus\b", r"\bab (?:jetzt|sofort) (?:bist du|antwortest du)\b",

    # French
    r"\b(?:ignore|oublie|néglige|neglige)\w*\b[^.?!\n]{0,40}\b(?:instructions?|consignes?|règles|regles|directives?)\b",
    r"\b(?:montre|affiche|révèle|revele|donne|répète|repete|imprime)\w*\b[^.?!\n]{0,40}\b(?:instructions?|consignes?|"
    r"prompt|invite|configuration)\b",
    r"\b(?:invite|prompt|message) (?:du )?système\b", r"\bmode développeur\b", r"\bà partir de maintenant,? tu\b",
    r"\bnouvelles? (?:instructions|consignes) ?:",
    # Spanish
    r"\b(?:ignora|olvida|omite|descarta)\w*\b[^.?!\n]{0,40}\b(?:instrucciones|reglas|indicaciones|órdenes|ordenes)\b",
    r"\b(?:muestra|revela|dime|imprime|repite|dame|enseña)\w*\b[^.?!\n]{0,40}\b(?:instrucciones|prompt|configuración|"
    r"configuracion|reglas)\b",
    r"\b(?:prompt|mensaje) del sistema\b", r"\bmodo desarrollador\b", r"\ba partir de ahora,? (?:eres|tú|tu)\b",
    r"\bnuevas instrucciones ?:",
]  # fmt: skip
_WEAK = [  # cues that ordinary customers use too (weight 0.35 each; two or more together are suspicious)
    r"\boverride\b", r"\bbypass\b", r"\bconfidential\b", r"\bact as\b", r"\bpretend\b", r"\brole ?play\b",
    r"\bsimulate\b", r"\bsecret\b", r"\bapi key\b", r"\bpassword\b", r"\binternal notes?\b", r"\badmin",
    r"\b(?:all|every|other|another|different) (?:the )?(?:customers?|users?|clients?|persons?|people)(?:'s|s')?\b",
    r"\b(?:all|every) (?:the )?orders\b", r"\b(?:database|db)\b", r"\be-?mail addresses\b", r"\bbase64\b",
    r"\brot13\b", r"\bdecode\b", r"\bhex\b", r"\bunrestricted\b", r"\bno (?:rules|restrictions|limits)\b",
    r"\byou (?:are|will be) (?:now )?(?:a|an|my)\b", r"\bgame\b", r"\bgrandm(?:a|other)\b",
    r"\banweisung", r"\bconsigne", r"\binstrucci", r"\bnew (?:instructions|rules|directives?)\b",
    r"\byour (?:system |initial |original )?(?:instructions|prompt)\b", r"\b(?:always|must) (?:say|answer|reply|tell)\b",
    r"\bneue anweisung", r"\bverbatim\b", r"\bword for word\b", r"\bwörtlich\b",
]  # fmt: skip
_STRONG_RE = [re.compile(p, re.IGNORECASE) for p in _STRONG]
# The same attacks with every space and sign squeezed out ("I g n o r e   p r e v i o u s ...").
_COMPACT = re.compile(r"(?:ignore|disregard|forget)(?:all|the|your|any)*(?:previous|prior|above|earlier)"
                      r"(?:instructions|rules|prompts?)|systemprompt|developermode|jailbreak|doanythingnow")
_WEAK_RE = [re.compile(p, re.IGNORECASE) for p in _WEAK]
WEAK_WEIGHT = 0.35
SUSPICIOUS_SCORE = 0.7


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}\s?){12,}")


def clean_text(text: str, *, max_chars: int = 2000) -> str:
    """Valid, printable text: invalid UTF-8 replaced, control and zero-width characters dropped, trimmed."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = unicodedata.normalize("NFKC", str(text))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"[ \t]+", " ", text).strip()
    return text[:max_chars]


def _variants(text: str) -> list[str]:
    lowered = text.lower()
    variants = [lowered, lowered.translate(_LEET)]
    squeezed = re.sub(r"(?<=\b\w)[\s._\-*]+(?=\w\b)", "", lowered)  # "i g n o r e" -> "ignore"
    variants.append(squeezed)
    variants.append(re.sub(r"[^a-z0-9 ]+", "", lowered))
    variants.append(codecs.decode(lowered, "rot13"))
    variants.append(lowered[::-1])
    for blob in _B64.findall(text):
        try:
            variants.append(base64.b64decode(blob + "=" * (-len(blob) % 4)).decode("utf-8", "ignore").lower())
        except (binascii.Error, ValueError):
            pass
    for blob in _HEX.findall(text):
        try:
            variants.append(bytes.fromhex(re.sub(r"\s", "", blob)).decode("utf-8", "ignore").lower())
        except ValueError:
            pass
    return variants


@dataclass(frozen=True)
class InjectionSignal:
    """How much a text looks like an instruction to the bot: a score in [0, 1] and what matched."""

    score: float
    reasons: tuple[str, ...] = ()

    @property
    def suspicious(self) -> bool:
        return self.score >= SUSPICIOUS_SCORE


def injection_signal(text: str) -> InjectionSignal:
    """Score the text and its decoded variants (leetspeak, spacing, rot13, reversed, base64, hex): a strong pattern
    scores 1.0; weak cues add WEAK_WEIGHT each (distinct cues, counted on the plain text only, so a decoding
    artefact cannot add up to suspicion)."""
    variants = _variants(unicodedata.normalize("NFKC", str(text or "")))
    reasons: list[str] = []
    for variant in variants:
        for pattern in _STRONG_RE:
            if match := pattern.search(variant):
                reasons.append(match.group(0)[:60])
                return InjectionSignal(score=1.0, reasons=tuple(reasons))
        if match := _COMPACT.search(re.sub(r"[^a-z]+", "", variant)):
            return InjectionSignal(score=1.0, reasons=(match.group(0)[:60],))
    plain = variants[0] if variants else ""
    weak = [m.group(0) for pattern in _WEAK_RE if (m := pattern.search(plain))]
    return InjectionSignal(score=min(1.0, WEAK_WEIGHT * len(weak)), reasons=tuple(w[:60] for w in weak))


def looks_like_injection(text: str) -> bool:
    """Whether the text is suspicious (a signal for the caller's policy, never a reason to refuse a customer)."""
    return injection_signal(text).suspicious


def strip_instructions(passage: str) -> str:
    """Drop the sentences of a knowledge passage that try to instruct the bot (a poisoned FAQ entry)."""
    sentences = re.split(r"(?<=[.!?])\s+|\n+", passage or "")
    kept = [s for s in sentences if s.strip() and not looks_like_injection(s)]
    return " ".join(kept).strip()
