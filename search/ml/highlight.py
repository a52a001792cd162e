"""Matched words wrapped in <mark>, everything else HTML-escaped: the output is safe to render as HTML."""

from __future__ import annotations

import html
import re

from search.ml.text import STOP_WORDS, tokens

MIN_PREFIX = 3


def highlight_html(text: str, terms: list[str]) -> str:
    """`text` escaped, with each word that starts with a query term (or that a term starts with, for plurals
    typed in the singular) wrapped in <mark>. Matching is on whole words, case-insensitive."""
    words = {t for term in terms for t in tokens(term) if t not in STOP_WORDS and len(t) >= 2}
    if not text:
        return ""
    if not words:
        return html.escape(text)
    out: list[str] = []
    last = 0
    for match in re.finditer(r"\w+(?:[-']\w+)*", text):
        word = match.group(0).lower()
        if any(_matches(word, term) for term in words):
            out.append(html.escape(text[last:match.start()]))
            out.append(f"<mark>{html.escape(match.group(0))}</mark>")
            last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _matches(word: str, term: str) -> bool:
    if word == term:
        return True
    if len(term) >= MIN_PREFIX and word.startswith(term) and len(word) - len(term) <= 3:
        return True  # earbud -> earbuds, head -> heads (not kettle -> kettlebell: 4 letters more)
    return len(word) >= MIN_PREFIX and term.startswith(word) and len(term) - len(word) <= 2
