"""Categories REST API: one view per operation, resolved through StoreScopedAPIView (another store's suggestion
is an unknown id, exactly like a missing one)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from categories import selectors
from categories.api import serializers as s
from categories.models import AttributeSuggestion, CategorySuggestion
from categories.services import rescore_start, suggestions_decide
from categories.tasks import RescoreParams
from ecomops.api.base import StoreScopedAPIView, validated_data
from ecomops.api.serializers import JobSerializer
from ecomops.job_params import params_to_json, params_validate


class CategorySuggestionsAPIView(StoreScopedAPIView):
    queryset_model = CategorySuggestion
    serializer_class = s.CategorySuggestionOut

    @extend_schema(parameters=[s.SuggestionQuery], responses=s.CategorySuggestionOut(many=True),
                   summary="Category suggestions, most confident first (default: pending)")
    def get(self, request, store_slug):
        q = validated_data(s.SuggestionQuery, request.query_params)
        qs = selectors.category_suggestions(self.store, status=q["status"], min_confidence=q.get("min_confidence"),
                                            reason=q.get("reason"))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.CategorySuggestionOut(page, many=True).data)


class AttributeSuggestionsAPIView(StoreScopedAPIView):
    queryset_model = AttributeSuggestion
    serializer_class = s.AttributeSuggestionOut

    @extend_schema(parameters=[s.AttributeQuery], responses=s.AttributeSuggestionOut(many=True),
                   summary="Attribute suggestions extracted from titles and descriptions (default: pending)")
    def get(self, request, store_slug):
        q = validated_data(s.AttributeQuery, request.query_params)
        qs = selectors.attribute_suggestions(self.store, status=q["status"], min_confidence=q.get("min_confidence"),
                                             name=q.get("name"))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.AttributeSuggestionOut(page, many=True).data)


class DecideAPIView(StoreScopedAPIView):
    queryset_model = CategorySuggestion
    serializer_class = s.DecideIn
    pagination_class = None

    @extend_schema(request=s.DecideIn, responses=s.DecideOut,
                   summary="Accept or reject suggestions in bulk (all or nothing; accepting writes the product)")
    def post(self, request, store_slug):
        data = validated_data(s.DecideIn, request.data)
        result = suggestions_decide(store=self.store, user=request.user, action=data["action"],
                                    category_ids=data["category_ids"], attribute_ids=data["attribute_ids"],
                                    overwrite=data["overwrite"])
        return Response(s.DecideOut(result.as_dict()).data)


class RescoreAPIView(StoreScopedAPIView):
    queryset_model = CategorySuggestion
    serializer_class = RescoreParams
    pagination_class = None

    @extend_schema(request=RescoreParams, responses={202: JobSerializer},
                   summary="Train the store's category head and re-score the catalogue (a job on the training queue)")
    def post(self, request, store_slug):
        serializer, params = params_validate(RescoreParams, request.data if request.data else {}, store=self.store)
        job = rescore_start(store=self.store, created_by=request.user, params=params_to_json(serializer, params))
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
