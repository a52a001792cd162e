"""Request guards in front of every view: inputs no view should ever see become a clean 4xx here.

- A NUL character in the query string or the path (PostgreSQL text cannot hold one; a filter would reach the
  database with it and fail): 400, JSON on API paths, naming the parameter.
- A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE on an API path: a JSON 413 before the body is read (Django's
  own answer is an HTML 400), also when the limit trips while a view reads the body.
- The database unreachable (restarting, failed over): a 503 with Retry-After and a plain reason instead of a
  500 page; the next request opens a fresh connection and succeeds once it is back (bench/faults.py).
JSON bodies are checked for NUL by the API's parser (ecomops.api.parsers).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def _too_big(limit: int) -> JsonResponse:
    from ecomops.uploads import UploadTooLarge

    # The same words as the bulk endpoints' capped parser (ecomops.uploads), whichever of the two trips first.
    return JsonResponse({"detail": str(UploadTooLarge(limit, "The request body"))}, status=413)


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path.startswith(API_PREFIX)
        bad = self._nul_parameter(request)
        if bad is not None:
            message = f"The query parameter {bad!r} contains a NUL character." if bad else "The path contains a NUL character."
            if api:
                return JsonResponse({bad or "path": [message]}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if api and limit is not None and not request.content_type.startswith("multipart/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return _too_big(limit)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig) and request.path.startswith(API_PREFIX):
            return _too_big(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        if isinstance(exception, OperationalError | InterfaceError) and _is_connection_failure(exception):
            logger.error("database unavailable: %s", exception)
            message = "The database is unavailable for a moment; please retry shortly."
            if request.path.startswith(API_PREFIX):
                response = JsonResponse({"detail": message}, status=503)
            else:
                response = HttpResponse(message, status=503, content_type="text/plain")
            response["Retry-After"] = "5"
            return response
        return None

    @staticmethod
    def _nul_parameter(request) -> str | None:
        """The name of the first query parameter holding a NUL ('' for the path itself), or None."""
        if "\x00" in request.path:
            return ""
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return key.replace("\x00", "\\x00")
        return None


def _is_connection_failure(exc: Exception) -> bool:
    """A lost or refused connection, not a query error (a lock timeout or a bad statement stays a 500)."""
    if isinstance(exc, InterfaceError):
        return True
    text = str(exc).lower()
    return any(
        hint in text for hint in ("connection", "server closed", "terminating", "shutting down", "starting up",
                                  "recovery mode", "could not connect")
    )
