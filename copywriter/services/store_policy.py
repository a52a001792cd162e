"""Shipping and returns sentences are the store's promise, not product copy: a new description that replaces
the old one keeps them (the copy model writes about the product and never states a policy)."""

from __future__ import annotations

import re

POLICY_WORDS = re.compile(r"\b(ship(?:s|ping|ped)?|deliver(?:y|s|ed)?|dispatch(?:ed|es)?|returns?|refunds?|exchanges?)\b",
                          re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


def policy_sentences(text: str) -> list[str]:
    """The sentences of `text` that state shipping, delivery or returns terms, in order."""
    return [s.strip() for s in _SENTENCE.findall(text or "") if s.strip() and POLICY_WORDS.search(s)]


def kept_policy_sentences(*, original: str, new: str) -> list[str]:
    """The original's policy sentences that the new text does not already say."""
    present = _norm(new or "")
    return [s for s in policy_sentences(original) if _norm(s) not in present]


def with_policy_sentences(*, original: str, new: str) -> str:
    """`new`, followed by the original's shipping and returns sentences it lacks (as their own paragraph)."""
    kept = kept_policy_sentences(original=original, new=new)
    return f"{new.rstrip()}\n\n{' '.join(kept)}" if kept else new
