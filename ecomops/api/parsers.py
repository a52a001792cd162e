"""The API's body parsers: DRF's, plus one rule every view relies on — no NUL character in any string.

PostgreSQL text and jsonb cannot store U+0000, and a lookup with one fails in the driver; rejecting it while
parsing turns every such request into a 400 naming where the character was, whatever the view does next.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _nul_path(value: Any, path: str = "") -> str | None:
    """Where the first NUL is (a JSON-path-like string; '' for the root), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            where = f"{path}.{key_text}" if path else key_text
            if "\x00" in key_text:
                return where.replace("\x00", "\\x00") + " (key)"
            found = _nul_path(item, where)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def reject_nul(data: Any) -> Any:
    where = _nul_path(data)
    if where is not None:
        raise ParseError(f"A NUL character (\\u0000) is not allowed in any text field (at {where or 'the body'}).")
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return reject_nul(super().parse(stream, media_type, parser_context))


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        reject_nul({key: data.getlist(key) for key in data})
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        reject_nul({key: result.data.getlist(key) for key in result.data})
        return result
