"""Prompt-injection screening for customer text and retrieved passages.

The real guarantee is architectural: the bot's context never holds another customer's data, internal notes
or secrets, and order facts come from a verified database look-up, not from the model. This module adds the
second line: it recognises instruction-like text (also behind base64, hex, rot13, leetspeak or spacing tricks),
so the bot declines instead of playing along, and it strips such sentences from knowledge passages.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata

_PATTERNS = [
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
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
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


def looks_like_injection(text: str) -> bool:
    return any(_INJECTION.search(v) for v in _variants(text or ""))


def strip_instructions(passage: str) -> str:
    """Drop the sentences of a knowledge passage that try to instruct the bot (a poisoned FAQ entry)."""
    sentences = re.split(r"(?<=[.!?])\s+|\n+", passage or "")
    kept = [s for s in sentences if s.strip() and not looks_like_injection(s)]
    return " ".join(kept).strip()
