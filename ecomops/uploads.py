"""Bounded reading of request bodies and uploaded files: never more than settings.UPLOAD_MAX_BYTES in memory.

Read in chunks and stop at the first byte past the cap, so an oversized body costs at most the cap, and the
caller answers with a clear error (413 JSON on the API, a message on a page) instead of reading it whole.
"""

from __future__ import annotations

from django.conf import settings

CHUNK = 64 * 1024


class UploadTooLarge(ValueError):
    def __init__(self, limit: int, what: str = "The upload"):
        self.limit = limit
        super().__init__(f"{what} is larger than the limit of {format_bytes(limit)}; split it into smaller parts.")


def format_bytes(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def upload_max_bytes() -> int:
    return int(settings.UPLOAD_MAX_BYTES)


def read_stream_capped(stream, *, max_bytes: int | None = None, what: str = "The request body") -> bytes:
    limit = upload_max_bytes() if max_bytes is None else max_bytes
    parts, total = [], 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise UploadTooLarge(limit, what)
        parts.append(chunk)
    return b"".join(parts)


def read_upload_capped(upload, *, max_bytes: int | None = None) -> bytes:
    """An UploadedFile (already spooled to disk by Django past FILE_UPLOAD_MAX_MEMORY_SIZE), read up to the cap."""
    limit = upload_max_bytes() if max_bytes is None else max_bytes
    name = f"The file {upload.name!r}" if getattr(upload, "name", None) else "The file"
    if upload.size is not None and upload.size > limit:
        raise UploadTooLarge(limit, name)
    parts, total = [], 0
    for chunk in upload.chunks(CHUNK):
        total += len(chunk)
        if total > limit:
            raise UploadTooLarge(limit, name)
        parts.append(chunk)
    return b"".join(parts)
