"""The Analytics page (funnels, retention, lifecycle, RFM, top products, trends, paths, live counters).

The page is a shell: its charts load from the analytics API (/api/v1/stores/<slug>/analytics/...) in parallel, so it
renders at once and each chart appears as its query returns. Live counters arrive over the store websocket.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import JsonResponse
from django.views import View
from django.views.generic import TemplateView

from ecomops.models import EventType
from ecomops.scoping import StoreViewMixin
from ecomops.selectors.overview import store_today
from recommender.analytics.funnel import DEFAULT_STEPS
from recommender.analytics.live import analytics_live_snapshot
from recommender.analytics.rfm import SEGMENTS
from recommender.api.analytics import DEFAULT_RANGE_DAYS, RfmQuerySerializer, _rfm_csv_response


class AnalyticsView(StoreViewMixin, TemplateView):
    template_name = "recommender/analytics.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        end = store_today(self.store)
        context.update(
            event_types=EventType.choices,
            default_steps=",".join(DEFAULT_STEPS),
            default_start=(end - timedelta(days=DEFAULT_RANGE_DAYS - 1)).isoformat(),
            default_end=end.isoformat(),
            segments=SEGMENTS,
            api_base=f"/api/v1/stores/{self.store.slug}/analytics/",
            live_json=analytics_live_snapshot(self.store),
        )
        return context


class RfmCsvView(StoreViewMixin, View):
    """Download of the RFM customer list (all, or ?segment=<key>) as CSV, for the page's export links."""

    def get(self, request, store_slug):
        serializer = RfmQuerySerializer(data=request.GET.dict(), context={"store": self.store})
        if not serializer.is_valid():
            return JsonResponse(serializer.errors, status=400)
        return _rfm_csv_response(self.store, serializer)
