"""Copywriter API: one view per operation (STYLE.md §9), all through StoreScopedAPIView (tenancy + roles)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from copywriter import selectors, services
from copywriter.models import CopywriterModel, DescriptionDraft, EvaluationReport
from copywriter.services.review import NotAllowed
from ecomops.api.base import StoreScopedAPIView
from ecomops.services.jobs import job_payload

from . import serializers as s

TAGS = ["copywriter"]


def _bad(exc: Exception, field: str = "non_field_errors"):
    raise ValidationError({field: [str(exc)]})


class GenerationCreateApi(StoreScopedAPIView):
    serializer_class = s.CopywriterGenerationInputSerializer

    @extend_schema(tags=TAGS, request=s.CopywriterGenerationInputSerializer, responses={202: s.CopywriterJobOutputSerializer},
                   summary="Generate description drafts for products (a job on the inference queue)")
    def post(self, request, store_slug):
        ser = s.CopywriterGenerationInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        try:
            job = services.generation_start(
                store=self.store, user=request.user, skus=data.get("skus"), filters=data.get("filter"),
                options=data.get("options"), stream=data.get("stream", False))
        except ValueError as exc:
            _bad(exc, "skus" if data.get("skus") else "filter")
        return Response(job_payload(job), status=status.HTTP_202_ACCEPTED)


class DraftListApi(StoreScopedAPIView):
    serializer_class = s.CopywriterDraftSerializer
    queryset_model = DescriptionDraft

    @extend_schema(tags=TAGS, summary="Drafts with their facts report", responses=s.CopywriterDraftSerializer(many=True))
    def get(self, request, store_slug):
        unsupported = request.query_params.get("unsupported")
        qs = selectors.drafts_for(self.store, status=request.query_params.get("status") or None,
                                  unsupported={"true": True, "false": False}.get(unsupported or ""))
        if request.query_params.get("sku"):
            qs = qs.filter(product__sku=request.query_params["sku"])
        page = self.paginate_queryset(qs)
        if page is not None:
            return self.get_paginated_response(s.CopywriterDraftSerializer(page, many=True).data)
        return Response(s.CopywriterDraftSerializer(qs, many=True).data)


class _DraftActionApi(StoreScopedAPIView):
    queryset_model = DescriptionDraft

    def get_draft(self, pk) -> DescriptionDraft:
        return get_object_or_404(selectors.drafts_for(self.store), pk=pk)

    def act(self, fn, **kwargs):
        try:
            draft = fn(**kwargs)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None
        except ValueError as exc:
            _bad(exc)
        draft.refresh_from_db()
        return Response(s.CopywriterDraftSerializer(draft).data)

    def validated_action(self, request, pk, service):
        """Another store's draft is a 404 before any body validation; then the body, then the service."""
        draft = self.get_draft(pk)
        ser = self.serializer_class(data=request.data)
        ser.is_valid(raise_exception=True)
        return self.act(service, draft=draft, user=request.user, **ser.validated_data)


class _DraftTransitionApi(_DraftActionApi):
    """POST .../drafts/<pk>/<transition>: `serializer_class` validates the body, `service` moves the draft."""

    service = None  # set by each subclass: one of copywriter.services.draft_*

    def post(self, request, store_slug, pk):
        return self.validated_action(request, pk, self.service)


class DraftDetailApi(_DraftActionApi):
    serializer_class = s.CopywriterDraftEditSerializer

    @extend_schema(tags=TAGS, responses=s.CopywriterDraftSerializer, summary="One draft with its facts report")
    def get(self, request, store_slug, pk):
        return Response(s.CopywriterDraftSerializer(self.get_draft(pk)).data)

    @extend_schema(tags=TAGS, request=s.CopywriterDraftEditSerializer, responses=s.CopywriterDraftSerializer,
                   summary="Edit a draft (facts are re-checked)")
    def patch(self, request, store_slug, pk):
        return self.validated_action(request, pk, services.draft_edit)


@extend_schema_view(post=extend_schema(tags=TAGS, request=s.CopywriterDraftApproveSerializer,
                                       responses=s.CopywriterDraftSerializer, summary="Approve a draft"))
class DraftApproveApi(_DraftTransitionApi):
    serializer_class = s.CopywriterDraftApproveSerializer
    service = staticmethod(services.draft_approve)


@extend_schema_view(post=extend_schema(tags=TAGS, request=s.CopywriterDraftRejectSerializer,
                                       responses=s.CopywriterDraftSerializer, summary="Reject a draft with a reason"))
class DraftRejectApi(_DraftTransitionApi):
    serializer_class = s.CopywriterDraftRejectSerializer
    service = staticmethod(services.draft_reject)


@extend_schema_view(post=extend_schema(tags=TAGS, request=s.CopywriterDraftPublishSerializer,
                                       responses=s.CopywriterDraftSerializer,
                                       summary="Publish an approved draft to the product description"))
class DraftPublishApi(_DraftTransitionApi):
    serializer_class = s.CopywriterDraftPublishSerializer
    service = staticmethod(services.draft_publish)


class DraftBulkApproveApi(StoreScopedAPIView):
    serializer_class = s.CopywriterBulkApproveSerializer
    queryset_model = DescriptionDraft

    @extend_schema(tags=TAGS, request=s.CopywriterBulkApproveSerializer, responses=s.CopywriterBulkApproveOutputSerializer,
                   summary="Approve every open draft without unsupported facts or off-topic sentences")
    def post(self, request, store_slug):
        ser = s.CopywriterBulkApproveSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        try:
            out = services.drafts_bulk_approve(store=self.store, user=request.user,
                                               draft_ids=ser.validated_data.get("draft_ids"))
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(out)


class ModelVersionListApi(StoreScopedAPIView):
    serializer_class = s.CopywriterModelVersionSerializer
    queryset_model = CopywriterModel

    @extend_schema(tags=TAGS, responses=s.CopywriterModelVersionSerializer(many=True), summary="Fine-tuned model versions")
    def get(self, request, store_slug):
        return Response(s.CopywriterModelVersionSerializer(selectors.model_versions(self.store), many=True).data)


class ModelVersionActivateApi(StoreScopedAPIView):
    serializer_class = s.CopywriterModelVersionSerializer
    queryset_model = CopywriterModel

    @extend_schema(tags=TAGS, request=None, responses=s.CopywriterModelVersionSerializer,
                   summary="Activate a version (generation uses it from now on)")
    def post(self, request, store_slug, pk):
        version = get_object_or_404(selectors.model_versions(self.store), pk=pk)
        services.model_activate(store=self.store, version=version)
        version.refresh_from_db()
        return Response(s.CopywriterModelVersionSerializer(version).data)


class ModelRollbackApi(StoreScopedAPIView):
    queryset_model = CopywriterModel

    @extend_schema(tags=TAGS, request=None, responses={204: None}, summary="Roll back to the base model")
    def post(self, request, store_slug):
        services.model_activate(store=self.store, version=None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TrainingCreateApi(StoreScopedAPIView):
    serializer_class = s.CopywriterTrainingInputSerializer

    @extend_schema(tags=TAGS, request=s.CopywriterTrainingInputSerializer, responses={202: s.CopywriterJobOutputSerializer},
                   summary="Fine-tune on the store's human-written descriptions (a job on the training queue)")
    def post(self, request, store_slug):
        ser = s.CopywriterTrainingInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        try:
            job = services.training_start(store=self.store, user=request.user, **ser.validated_data)
        except ValueError as exc:
            _bad(exc)
        return Response(job_payload(job), status=status.HTTP_202_ACCEPTED)


class EvaluationReportListApi(StoreScopedAPIView):
    serializer_class = s.CopywriterEvaluationReportSerializer
    queryset_model = EvaluationReport

    def scoped_queryset(self):
        return selectors.evaluation_reports(self.store)

    @extend_schema(tags=TAGS, responses=s.CopywriterEvaluationReportSerializer(many=True), summary="Stored evaluation reports")
    def get(self, request, store_slug):
        return Response(s.CopywriterEvaluationReportSerializer(self.get_queryset()[:20], many=True).data)
