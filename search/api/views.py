"""The storefront's search: public, read-only, rate-limited, one store's active catalogue only."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ecomops.api.throttling import AnonRateThrottle
from ecomops.models import Store
from search.api.serializers import StorefrontSearchQuerySerializer, StorefrontSearchResponseSerializer
from search.selectors import PUBLIC, SearchFilters, products_in_order, search_products
from search.services import search_event_record


class StorefrontSearchThrottle(AnonRateThrottle):
    """Per client address (behind NUM_PROXIES trusted proxies) and store; the rate is read per request from
    settings.SEARCH_STOREFRONT_RATE so it can be changed without a restart of the class."""

    scope = "storefront_search"

    def get_rate(self):
        return getattr(settings, "SEARCH_STOREFRONT_RATE", "120/min")

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": f"{self.scope}:{view.kwargs.get('store_slug', '')}",
                                    "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class StorefrontSearchView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [StorefrontSearchThrottle]

    @extend_schema(
        operation_id="storefront_search",
        summary="Search a store's public catalogue (hybrid: full text, typos, meaning)",
        parameters=[StorefrontSearchQuerySerializer, OpenApiParameter("store_slug", str, OpenApiParameter.PATH)],
        responses={200: StorefrontSearchResponseSerializer},
        auth=[],
        tags=["storefront"],
    )
    def get(self, request, store_slug: str):
        store = get_object_or_404(Store, slug=store_slug)
        data = {key: request.query_params.get(key) for key in request.query_params if key != "attr"}
        data["attr"] = request.query_params.getlist("attr")
        serializer = StorefrontSearchQuerySerializer(data=data)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        filters = SearchFilters(
            category=params.get("category", ""), price_min=params.get("price_min"), price_max=params.get("price_max"),
            in_stock=params.get("in_stock"), attributes=params.get("attr") or {}, statuses=PUBLIC.statuses,
        )
        result = search_products(store, params["q"], filters=filters, limit=params["limit"])
        products = products_in_order(store, result.product_ids)
        search_event_record(store=store, query=params["q"], results=result.count)
        body = {
            "query": result.query,
            "count": result.count,
            "did_you_mean": result.did_you_mean,
            "results": [{"sku": p.sku, "title": p.title, "brand": p.brand, "category": p.category, "price": p.price,
                         "currency": p.currency, "in_stock": p.stock > 0, "attributes": p.attributes}
                        for p in products],
        }
        return Response(StorefrontSearchResponseSerializer(body).data)
