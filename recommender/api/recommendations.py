"""Serving API: one view per operation, explicit query and output serializers (STYLE.md §9)."""

from __future__ import annotations

import time

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from ecomops import fastpath, hotcache
from ecomops.api.base import StoreScopedAPIView
from ecomops.models import Customer, Product
from recommender import selectors
from recommender.models import RecommenderModel
from recommender.services import serving, training


class RecommendationQuery(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=100, default=10)
    category = serializers.CharField(required=False, allow_blank=True, max_length=300)


class RecommendedItem(serializers.Serializer):
    sku = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField()
    price = serializers.CharField()
    score = serializers.FloatField()
    explanation = serializers.CharField()


class RecommendationList(serializers.Serializer):
    fallback = serializers.BooleanField()
    reason = serializers.CharField(required=False)
    model = serializers.CharField()
    model_version = serializers.IntegerField(allow_null=True)
    impression_id = serializers.UUIDField()
    count = serializers.IntegerField()
    results = RecommendedItem(many=True)


class _ListView(StoreScopedAPIView):
    serializer_class = RecommendationList
    pagination_class = None

    def query(self, request) -> dict:
        q = RecommendationQuery(data=request.query_params)
        if not q.is_valid():
            raise ValidationError(q.errors)
        data = dict(q.validated_data)
        data["category"] = data.get("category") or None
        return data

    def respond(self, fn, **kwargs) -> Response:
        started = time.perf_counter()
        try:
            payload = fn(store=self.store, **kwargs, **self.query(self.request))
        except serving.UnknownProduct:
            raise NotFound("No such product.") from None
        response = Response(payload)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response


class CustomerRecommendationsAPIView(_ListView):
    queryset_model = Customer

    @extend_schema(parameters=[RecommendationQuery], responses=RecommendationList,
                   summary="Personal recommendations (unknown customer -> trending with fallback=true)")
    def get(self, request, store_slug, external_id):
        response = self.respond(serving.recommend_for_customer, external_id=external_id)
        keyed_on = getattr(response.data, "keyed_on", None)
        if keyed_on is not None:  # kept by the ASGI fast path (ecomops/fastpath.py) under the same freshness key
            fastpath.note(request, store_id=self.store.pk, stamps=keyed_on[0], extra=keyed_on[1],
                          ttl=serving.PERSONAL_CACHE_SECONDS, impression=response.data.impression,
                          impression_id=response.data["impression_id"])
        return response


class SimilarProductsAPIView(_ListView):
    queryset_model = Product

    @extend_schema(parameters=[RecommendationQuery], responses=RecommendationList, summary="Similar products")
    def get(self, request, store_slug, sku):
        return self.respond(serving.similar_products, sku=sku)


class BoughtTogetherAPIView(_ListView):
    queryset_model = Product

    @extend_schema(parameters=[RecommendationQuery], responses=RecommendationList, summary="Frequently bought together")
    def get(self, request, store_slug, sku):
        return self.respond(serving.bought_together, sku=sku)


class TrendingAPIView(_ListView):
    @extend_schema(parameters=[RecommendationQuery], responses=RecommendationList, summary="Trending products")
    def get(self, request, store_slug):
        # Kept by the ASGI fast path (ecomops/fastpath.py) under the catalog stamp read before computing; each
        # replay logs the same impression fields under a new id.
        capturing = fastpath.capturing(request) is not None and hotcache.enabled()
        stamps = hotcache.store_stamps(self.store.pk, hotcache.CATALOG) if capturing else ()
        response = self.respond(serving.trending_list)
        if capturing:
            # 10 s: the list itself may already be up to a minute old (the hot cache), time passing is its only
            # other input, and refilling costs one full request per worker every 10 s.
            fastpath.note(request, store_id=self.store.pk, stamps=stamps, ttl=10,
                          impression=response.data.impression, impression_id=response.data["impression_id"])
        return response


class ModelVersion(serializers.Serializer):
    id = serializers.IntegerField()
    algorithm = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    is_active = serializers.BooleanField()
    params = serializers.JSONField()
    metrics = serializers.JSONField()
    data_stats = serializers.JSONField()
    error = serializers.CharField()
    load_error = serializers.CharField()
    trained_at = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)


class ModelListAPIView(StoreScopedAPIView):
    serializer_class = ModelVersion
    queryset_model = RecommenderModel
    pagination_class = None

    @extend_schema(responses=ModelVersion(many=True), summary="Trained model versions of the store")
    def get(self, request, store_slug):
        return Response(ModelVersion(selectors.model_versions(self.store)[:100], many=True).data)


class ModelActivateAPIView(StoreScopedAPIView):
    serializer_class = ModelVersion
    queryset_model = RecommenderModel

    @extend_schema(request=None, responses=ModelVersion, summary="Activate a ready version (roll forward or back)")
    def post(self, request, store_slug, pk):
        model = selectors.model_get(self.store, pk)
        if model is None:
            raise NotFound("No such model version.")
        try:
            training.model_activate(model=model)
        except ValueError as exc:
            raise ValidationError({"model": [str(exc)]}) from None
        return Response(ModelVersion(model).data, status=status.HTTP_200_OK)
