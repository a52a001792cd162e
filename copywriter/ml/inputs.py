"""What the copywriter is given: a product's facts and the merchant's style options (validated, no Django)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import facts as factlib

TONES = ("neutral", "premium", "playful", "technical", "brand")
LENGTH_WORDS = {"short": 50, "medium": 100, "long": 200}
MAX_ATTRIBUTES = 25
MAX_VALUE_CHARS = 200


class BadProductInput(ValueError):
    """The product cannot be described: no title or no attributes."""


@dataclass
class ProductFacts:
    title: str
    brand: str = ""
    category: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, *, title: str, brand: str = "", category: str = "",
              attributes: Mapping[str, Any] | None = None) -> ProductFacts:
        """Validate and normalise; oversized attribute sets are truncated with a warning."""
        title = (title or "").strip()
        if not title:
            raise BadProductInput("The product has no title.")
        attrs = {str(k).strip(): factlib._flatten(v).strip() for k, v in (attributes or {}).items()
                 if str(k).strip() and factlib._flatten(v).strip()}
        if not attrs:
            raise BadProductInput("The product has no attributes; add at least one (e.g. colour, material).")
        warnings = []
        if len(attrs) > MAX_ATTRIBUTES:
            warnings.append(f"Only the first {MAX_ATTRIBUTES} of {len(attrs)} attributes were used.")
            attrs = dict(list(attrs.items())[:MAX_ATTRIBUTES])
        long_keys = [k for k, v in attrs.items() if len(v) > MAX_VALUE_CHARS]
        for k in long_keys:
            attrs[k] = attrs[k][:MAX_VALUE_CHARS].rsplit(" ", 1)[0]
        if long_keys:
            warnings.append(f"Attribute values truncated to {MAX_VALUE_CHARS} characters: {', '.join(long_keys)}.")
        for k, v in factlib.colour_conflicts(title, attrs).items():
            warnings.append(f"The title names another colour than {k} {v!r}; the description follows the title and "
                            f"leaves {k} out. Check the catalogue's {k} field.")
        for k, v in factlib.material_conflicts(title, attrs).items():
            warnings.append(f"The title names another material than {k} {v!r}; the description follows the title "
                            f"and leaves {k} out. Check the catalogue's {k} field.")
        return cls(title[:300], (brand or "").strip()[:200], (category or "").strip()[:300], attrs, warnings)


@dataclass
class Options:
    tone: str = "neutral"
    brand_voice: str = ""
    length: str = "medium"
    keywords: list[str] = field(default_factory=list)
    avoid_words: list[str] = field(default_factory=list)
    audience: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Options:
        data = dict(data or {})
        tone = data.get("tone") or "neutral"
        length = data.get("length") or "medium"
        if tone not in TONES:
            raise ValueError(f"Unknown tone {tone!r}; choose one of {', '.join(TONES)}.")
        if length not in LENGTH_WORDS:
            raise ValueError(f"Unknown length {length!r}; choose short, medium or long.")
        return cls(tone, str(data.get("brand_voice") or "")[:500], length,
                   _word_list(data.get("keywords")), _word_list(data.get("avoid_words")),
                   str(data.get("audience") or "")[:120])

    @property
    def target_words(self) -> int:
        return LENGTH_WORDS[self.length]


def _word_list(v: Any) -> list[str]:
    if not v:
        return []
    if isinstance(v, str):
        v = v.split(",")
    return [str(x).strip()[:60] for x in v if str(x).strip()][:20]
