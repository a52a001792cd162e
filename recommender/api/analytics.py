"""Behaviour analytics API under /api/v1/stores/<store_slug>/analytics/ (read-only; analysts included).

One view per report, each with an explicit input serializer for its query parameters (bad input -> 400 with
field errors) and a thin body that calls a selector. Everything is computed in the database.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from ecomops import hotcache
from ecomops.api.base import StoreScopedAPIView
from ecomops.models import Event, EventType
from ecomops.selectors.overview import store_today
from ecomops.services.rollups import store_day_bounds
from recommender.analytics.cache import cached_report
from recommender.analytics.explore import (
    PRODUCT_METRICS,
    PathsSpec,
    event_trends,
    paths_after,
    top_categories,
    top_products,
)
from recommender.analytics.export import rfm_csv_rows
from recommender.analytics.funnel import (
    BREAKDOWNS,
    DEFAULT_STEPS,
    MAX_STEPS,
    ORDERS,
    UNITS,
    FunnelSpec,
    funnel_conversion,
)
from recommender.analytics.live import LIVE_MIN_INTERVAL_SECONDS, analytics_live_snapshot
from recommender.analytics.retention import (
    ANY_EVENT,
    RETENTION_MODES,
    LifecycleSpec,
    RetentionSpec,
    lifecycle,
    retention_matrix,
)
from recommender.analytics.rfm import SEGMENTS, RfmSpec, rfm_customers, rfm_table

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
WINDOW_RE = re.compile(r"^(\d{1,5})([smhd])$")
WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
PROPERTY_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
EVENT_CHOICES = EventType.values
EVENT_OR_ANY = [ANY_EVENT, *EVENT_CHOICES]


# --- input serializers ----------------------------------------------------------------------------------
LIVE_CACHE_SECONDS = LIVE_MIN_INTERVAL_SECONDS


class DateRangeSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First local day (default: 29 days before end)")
    end = serializers.DateField(required=False, help_text="Last local day, inclusive (default: today)")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        store = self.context["store"]
        end = attrs.get("end") or store_today(store)
        start = attrs.get("start") or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"start": "The start date is after the end date."})
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError({"start": f"The range is limited to {MAX_RANGE_DAYS} days."})
        attrs["start"], attrs["end"] = start, end
        attrs["lo"], attrs["hi"] = store_day_bounds(store, start, end)
        return attrs


class EventListField(serializers.CharField):
    """A comma-separated list of event types."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in EVENT_CHOICES]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown event type(s): {', '.join(unknown)}. Known: {', '.join(EVENT_CHOICES)}."
            )
        return tuple(items)


class FunnelQuerySerializer(DateRangeSerializer):
    steps = EventListField(
        required=False, default=DEFAULT_STEPS, help_text=f"Comma-separated event types, 2..{MAX_STEPS}"
    )
    window = serializers.CharField(
        required=False, default=timedelta(days=1), help_text="Conversion window from step 1: a number and s/m/h/d, e.g. 30m, 7d"
    )
    order = serializers.ChoiceField(choices=ORDERS, required=False, default="ordered")
    strict = serializers.BooleanField(required=False, default=False, help_text="Shortcut for order=strict")
    unit = serializers.ChoiceField(choices=UNITS, required=False, default="customer")
    breakdown = serializers.ChoiceField(choices=[*BREAKDOWNS, "device"], required=False, allow_blank=True, default="")
    breakdown_property = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_steps(self, steps):
        if not 2 <= len(steps) <= MAX_STEPS:
            raise serializers.ValidationError(f"A funnel needs 2 to {MAX_STEPS} steps.")
        return steps

    def validate_window(self, value):
        if isinstance(value, timedelta):  # the default
            return value
        match = WINDOW_RE.match(value.strip())
        if not match:
            raise serializers.ValidationError("Use a number followed by s, m, h or d, e.g. 30m or 7d.")
        seconds = int(match.group(1)) * WINDOW_UNITS[match.group(2)]
        if not 1 <= seconds <= 90 * 86400:
            raise serializers.ValidationError("The window must be between 1 second and 90 days.")
        return timedelta(seconds=seconds)

    def validate_breakdown_property(self, value):
        if value and not PROPERTY_RE.match(value):
            raise serializers.ValidationError("Use letters, digits and underscores only.")
        return value

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.pop("strict"):
            attrs["order"] = "strict"
        if attrs["breakdown"] == "device":
            attrs["breakdown"], attrs["breakdown_property"] = "property", "device"
        if attrs["breakdown"] == "property" and not attrs["breakdown_property"]:
            raise serializers.ValidationError({"breakdown_property": "Name the event property to break down by."})
        if attrs["order"] == "any" and len(set(attrs["steps"])) != len(attrs["steps"]):
            raise serializers.ValidationError({"steps": "An any-order funnel cannot repeat a step."})
        return attrs

    def to_spec(self) -> FunnelSpec:
        d = self.validated_data
        return FunnelSpec(steps=d["steps"], start=d["lo"], end=d["hi"], window=d["window"], order=d["order"],
                          unit=d["unit"], breakdown=d["breakdown"] or None, breakdown_property=d["breakdown_property"])


class PeriodEndMixin(serializers.Serializer):
    end = serializers.DateField(required=False, help_text="A day inside the last period (default: today)")

    def end_instant(self):
        end = self.validated_data.get("end")
        if end is None:
            return None
        return store_day_bounds(self.context["store"], end, end)[1] - timedelta(microseconds=1)


class RetentionQuerySerializer(PeriodEndMixin):
    period = serializers.ChoiceField(choices=["week", "month"], required=False, default="week")
    periods = serializers.IntegerField(required=False, default=12, min_value=1, max_value=52)
    mode = serializers.ChoiceField(choices=RETENTION_MODES, required=False, default="first_time")
    start_event = serializers.ChoiceField(choices=EVENT_OR_ANY, required=False, default=ANY_EVENT)
    return_event = serializers.ChoiceField(choices=EVENT_OR_ANY, required=False, default=ANY_EVENT)

    def to_spec(self) -> RetentionSpec:
        d = self.validated_data
        return RetentionSpec(period=d["period"], periods=d["periods"], mode=d["mode"], start_event=d["start_event"],
                             return_event=d["return_event"], end=self.end_instant())


class LifecycleQuerySerializer(PeriodEndMixin):
    period = serializers.ChoiceField(choices=["day", "week", "month"], required=False, default="week")
    periods = serializers.IntegerField(required=False, default=12, min_value=1, max_value=90)
    event = serializers.ChoiceField(choices=EVENT_OR_ANY, required=False, default=ANY_EVENT)

    def to_spec(self) -> LifecycleSpec:
        d = self.validated_data
        return LifecycleSpec(period=d["period"], periods=d["periods"], event=d["event"], end=self.end_instant())


class RfmQuerySerializer(serializers.Serializer):
    segment = serializers.ChoiceField(choices=[key for key, _ in SEGMENTS], required=False, allow_blank=True,
                                      default="", help_text="Only this group's customers")
    since = serializers.DateField(required=False, help_text="Only orders from this local day on (default: all)")
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**31 - 1)  # OFFSET is a bigint

    def to_spec(self) -> RfmSpec:
        since = self.validated_data.get("since")
        if since is None:
            return RfmSpec()
        return RfmSpec(since=store_day_bounds(self.context["store"], since, since)[0])


class TopProductsQuerySerializer(DateRangeSerializer):
    by = serializers.ChoiceField(choices=PRODUCT_METRICS, required=False, default="revenue")
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100)


class TrendsQuerySerializer(DateRangeSerializer):
    interval = serializers.ChoiceField(choices=["day", "week", "month"], required=False, default="day")
    events = EventListField(required=False, default="", allow_blank=True, help_text="Comma-separated; default all")


class PathsQuerySerializer(DateRangeSerializer):
    start_event = serializers.ChoiceField(choices=EVENT_CHOICES, required=False, default="view")
    depth = serializers.IntegerField(required=False, default=3, min_value=1, max_value=3)
    unit = serializers.ChoiceField(choices=UNITS, required=False, default="session")
    collapse_repeats = serializers.BooleanField(required=False, default=True)
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)


# --- views ----------------------------------------------------------------------------------------------
class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only errors reach this renderer (the CSV itself is streamed): render them as JSON text.
        return json.dumps(data).encode()


class AnalyticsAPIView(StoreScopedAPIView):
    """Base: read-only, no queryset, no filter backends; `query_serializer` validates request.query_params."""

    queryset_model = Event
    filter_backends: list = []
    pagination_class = None
    query_serializer: type[serializers.Serializer] = serializers.Serializer

    def cached(self, report: str, serializer: serializers.Serializer, compute):
        return cached_report(self.store, report, dict(serializer.validated_data), compute)

    def query(self) -> serializers.Serializer:
        params = {key: value for key, value in self.request.query_params.items() if key != "format"}
        serializer = self.query_serializer(data=params, context={"store": self.store, "request": self.request})
        serializer.is_valid(raise_exception=True)
        return serializer


def _schema(serializer, summary: str, **extra):
    return extend_schema(parameters=[serializer], responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
                         summary=summary, tags=["analytics"], **extra)


class FunnelAPIView(AnalyticsAPIView):
    query_serializer = FunnelQuerySerializer

    @_schema(FunnelQuerySerializer, "Funnel: units per step, conversion, drop-off and median time to convert")
    def get(self, request, store_slug):
        query = self.query()
        return Response(self.cached("funnel", query, lambda: funnel_conversion(self.store, query.to_spec())))


class RetentionAPIView(AnalyticsAPIView):
    query_serializer = RetentionQuerySerializer

    @_schema(RetentionQuerySerializer, "Retention cohorts (first-time or recurring, weekly or monthly)")
    def get(self, request, store_slug):
        query = self.query()
        return Response(self.cached("retention", query, lambda: retention_matrix(self.store, query.to_spec())))


class LifecycleAPIView(AnalyticsAPIView):
    query_serializer = LifecycleQuerySerializer

    @_schema(LifecycleQuerySerializer, "Lifecycle: new, returning, resurrecting and dormant customers per period")
    def get(self, request, store_slug):
        query = self.query()
        return Response(self.cached("lifecycle", query, lambda: lifecycle(self.store, query.to_spec())))


def _rfm_csv_response(store, serializer) -> StreamingHttpResponse:
    segment = serializer.validated_data["segment"] or None
    response = StreamingHttpResponse(rfm_csv_rows(store, serializer.to_spec(), segment=segment),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="rfm-{store.slug}-{segment or "all"}-{stamp}.csv"'
    return response


class RfmAPIView(AnalyticsAPIView):
    """The RFM table (groups with counts and revenue share) and a page of customers; ?format=csv streams all of them
    (or one group with ?segment=) as CSV."""

    query_serializer = RfmQuerySerializer
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]

    @_schema(RfmQuerySerializer, "RFM groups (Shopify-style 11 groups) and their customers; ?format=csv exports")
    def get(self, request, store_slug, csv: bool = False):
        serializer = self.query()
        if csv or request.accepted_renderer.format == "csv":
            return _rfm_csv_response(self.store, serializer)
        d = serializer.validated_data
        spec = serializer.to_spec()

        def compute():
            table = rfm_table(self.store, spec)
            table["customer_list"] = {
                "segment": d["segment"] or None,
                "limit": d["limit"],
                "offset": d["offset"],
                "results": rfm_customers(self.store, spec, segment=d["segment"] or None, limit=d["limit"],
                                         offset=d["offset"]),
            }
            return table

        return Response(self.cached("rfm", serializer, compute))


class RfmCsvAPIView(RfmAPIView):
    @extend_schema(parameters=[RfmQuerySerializer], tags=["analytics"], summary="RFM customer list as CSV",
                   responses={(200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR), 400: OpenApiTypes.OBJECT})
    def get(self, request, store_slug):
        return super().get(request, store_slug, csv=True)


class TopProductsAPIView(AnalyticsAPIView):
    query_serializer = TopProductsQuerySerializer

    @_schema(TopProductsQuerySerializer, "Top products and categories in a date range")
    def get(self, request, store_slug):
        query = self.query()
        d = query.validated_data
        return Response(self.cached("top-products", query, lambda: {
            "start": d["start"], "end": d["end"], "by": d["by"],
            "products": top_products(self.store, start=d["lo"], end=d["hi"], by=d["by"], limit=d["limit"]),
            "categories": top_categories(self.store, start=d["lo"], end=d["hi"], limit=d["limit"]),
        }))


class TrendsAPIView(AnalyticsAPIView):
    query_serializer = TrendsQuerySerializer

    @_schema(TrendsQuerySerializer, "Events per type, unique customers/sessions and revenue per day/week/month")
    def get(self, request, store_slug):
        query = self.query()
        d = query.validated_data
        return Response(self.cached("trends", query, lambda: event_trends(
            self.store, start=d["lo"], end=d["hi"], interval=d["interval"], event_types=d["events"] or ())))


class PathsAPIView(AnalyticsAPIView):
    query_serializer = PathsQuerySerializer

    @_schema(PathsQuerySerializer, "Most common next 1..3 events after an event")
    def get(self, request, store_slug):
        query = self.query()
        d = query.validated_data
        spec = PathsSpec(start_event=d["start_event"], start=d["lo"], end=d["hi"], depth=d["depth"], unit=d["unit"],
                         collapse_repeats=d["collapse_repeats"], limit=d["limit"])
        return Response(self.cached("paths", query, lambda: paths_after(self.store, spec)))


class LiveAPIView(AnalyticsAPIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["analytics"],
                   summary="Live counters: events per minute, active sessions, revenue today (also pushed on the "
                           "store websocket as analytics.live)")
    def get(self, request, store_slug):
        # Polled by every open Analytics page: one snapshot per process per second, and at once after an ingest.
        if not hotcache.enabled():
            return Response(analytics_live_snapshot(self.store))
        (activity,) = hotcache.store_stamps(self.store.pk, hotcache.ACTIVITY)
        return Response(hotcache.cached(("analytics-live", self.store.pk, activity), LIVE_CACHE_SECONDS,
                                        lambda: analytics_live_snapshot(self.store)))
