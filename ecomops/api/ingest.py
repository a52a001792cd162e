"""`POST /api/v1/stores/<store_slug>/events/bulk`: up to 10,000 events in one all-or-nothing batch.

A thin door into ecomops.services.ingest.events_bulk_ingest (the same validation and writer the import_events
command uses). The serializers here document the payload; validation of 10,000 rows runs in the service, which
is an order of magnitude faster than a DRF serializer per row.
"""

from __future__ import annotations

import codecs
import json

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from ecomops.api.base import StoreScopedAPIView
from ecomops.api.serializers import BatchErrorSerializer
from ecomops.models import Event, EventType
from ecomops.services.ingest import MAX_BULK_EVENTS, IngestRejected, RowError, events_bulk_ingest
from ecomops.uploads import UploadTooLarge, read_stream_capped


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class CappedJSONParser(BaseParser):
    """JSON, read in chunks up to settings.UPLOAD_MAX_BYTES: a bigger body is a 413 with the limit in the message,
    decided after reading at most the cap (a declared Content-Length past the cap is refused before reading).

    Not a JSONParser subclass on purpose: DRF reads `request.body` whole for those, and Django then answers an
    oversized body with an HTML 400 (RequestDataTooBig) before any parser runs."""

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = int(settings.UPLOAD_MAX_BYTES)
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            if declared and int(declared) > limit:
                raise UploadTooLarge(limit, "The request body")
            raw = read_stream_capped(stream, max_bytes=limit) if stream is not None else b""
        except UploadTooLarge as exc:
            raise RequestBodyTooLarge(str(exc)) from None
        except ValueError:
            raise ParseError("Content-Length is not a number.") from None
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(codecs.decode(raw, encoding), parse_constant=self._reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None

    @staticmethod
    def _reject_constant(name: str):
        raise ValueError(f"{name} is not valid JSON")


class EventBulkRowSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a time zone, e.g. 2026-03-01T12:00:00Z")
    customer = serializers.CharField(required=False, help_text="The customer's external id (must exist in the store)")
    session_id = serializers.CharField(required=False, help_text="Anonymous session; needed when there is no customer")
    product = serializers.CharField(required=False, help_text="Product sku (must exist in the store)")
    properties = serializers.DictField(required=False)


class EventBulkInputSerializer(serializers.Serializer):
    events = EventBulkRowSerializer(many=True, help_text=f"At most {MAX_BULK_EVENTS:,} events")


class EventBulkOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Events written")
    duplicates = serializers.IntegerField(help_text="Events already in the store (same dedupe key), not written again")
    received = serializers.IntegerField()


def _error_response(errors: list[RowError]) -> Response:
    exc = IngestRejected(errors)
    return Response(
        {"detail": str(exc), "errors": [e.as_dict() for e in exc.errors[:1000]]}, status=status.HTTP_400_BAD_REQUEST
    )


class EventBulkIngestApi(StoreScopedAPIView):
    """Append up to 10,000 behaviour events in one request, validated as a whole.

    Each event needs a `type`, a time-zone-aware `occurred_at`, and a `customer` (external id) or a `session_id`;
    `product` is a sku. Unknown customers or skus are errors, never silent drops. One bad row answers 400 with
    the row index and field of every problem, and nothing is written. A re-sent event (same customer or session,
    type, product and time) is recognised by its dedupe key and counted in `duplicates` instead of written twice.
    """

    queryset_model = Event
    serializer_class = EventBulkInputSerializer
    parser_classes = [CappedJSONParser]

    @extend_schema(
        summary="Bulk-append events (up to 10,000, all or nothing)",
        tags=["events"],
        request=EventBulkInputSerializer,
        responses={201: EventBulkOutputSerializer, 400: BatchErrorSerializer,
                   413: OpenApiResponse(description="The body is larger than UPLOAD_MAX_BYTES.")},
        examples=[
            OpenApiExample(
                "Two events",
                request_only=True,
                value={
                    "events": [
                        {"type": "view", "occurred_at": "2026-03-01T12:00:00Z", "session_id": "s-1", "product": "SKU-1"},
                        {"type": "purchase", "occurred_at": "2026-03-01T12:05:00+01:00", "customer": "C-42"},
                    ]
                },
            ),
            OpenApiExample(
                "A bad row",
                response_only=True,
                status_codes=["400"],
                value={
                    "detail": "1 problem(s); nothing was written. First: row 1, product: unknown product sku 'NOPE' in this store",
                    "errors": [{"row": 1, "field": "product", "message": "unknown product sku 'NOPE' in this store"}],
                },
            ),
        ],
    )
    def post(self, request, store_slug: str):
        events = request.data.get("events") if isinstance(request.data, dict) else request.data
        if not isinstance(events, list):
            return _error_response([RowError(None, "events", "send {\"events\": [ ... ]}, a list of event objects")])
        try:
            result = events_bulk_ingest(store=self.store, rows=events)
        except IngestRejected as exc:
            return _error_response(exc.errors)
        return Response(
            {"count": result.created, "duplicates": result.duplicates, "received": result.received},
            status=status.HTTP_201_CREATED,
        )
