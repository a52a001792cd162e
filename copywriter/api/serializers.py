"""Explicit input and output serializers of the copywriter API (no logic here)."""

from __future__ import annotations

from rest_framework import serializers

from copywriter.ml.generate import LENGTH_WORDS, TONES
from copywriter.models import CopywriterModel, DescriptionDraft, EvaluationReport


class CopywriterGenerationOptionsSerializer(serializers.Serializer):
    tone = serializers.ChoiceField(choices=TONES, default="neutral")
    brand_voice = serializers.CharField(required=False, allow_blank=True, max_length=500)
    length = serializers.ChoiceField(choices=list(LENGTH_WORDS), default="medium")
    keywords = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=20)
    avoid_words = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=20)
    audience = serializers.CharField(required=False, allow_blank=True, max_length=120)


class CopywriterGenerationFilterSerializer(serializers.Serializer):
    category = serializers.CharField(required=False, allow_blank=True)
    brand = serializers.CharField(required=False, allow_blank=True)
    status = serializers.CharField(required=False, allow_blank=True)
    missing_description = serializers.BooleanField(required=False, default=False)


class CopywriterGenerationInputSerializer(serializers.Serializer):
    skus = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=500)
    filter = CopywriterGenerationFilterSerializer(required=False)
    options = CopywriterGenerationOptionsSerializer(required=False)
    stream = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs.get("skus") and not attrs.get("filter"):
            raise serializers.ValidationError({"skus": "Give product SKUs or a filter."})
        return attrs


class CopywriterJobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)


class CopywriterDraftSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    title = serializers.CharField(source="product.title", read_only=True)
    model_version = serializers.IntegerField(source="model_version.version", read_only=True, allow_null=True,
                                             default=None)

    class Meta:
        model = DescriptionDraft
        fields = ["id", "sku", "title", "status", "description", "bullets", "meta_title", "meta_description",
                  "unsupported_facts", "offtopic_sentences", "covered_attributes", "missing_attributes", "warnings",
                  "options", "source",
                  "model_label", "model_version", "reject_reason", "job", "created_at", "approved_at",
                  "published_at"]
        read_only_fields = fields


class CopywriterDraftEditSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=20000)
    meta_title = serializers.CharField(max_length=60, required=False, allow_blank=True)
    meta_description = serializers.CharField(max_length=155, required=False, allow_blank=True)


class CopywriterDraftApproveSerializer(serializers.Serializer):
    allow_unsupported = serializers.BooleanField(required=False, default=False)


class CopywriterDraftRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class CopywriterDraftPublishSerializer(serializers.Serializer):
    overwrite_human = serializers.BooleanField(required=False, default=False)


class CopywriterBulkApproveSerializer(serializers.Serializer):
    draft_ids = serializers.ListField(child=serializers.IntegerField(), required=False)


class CopywriterBulkApproveOutputSerializer(serializers.Serializer):
    approved = serializers.ListField(child=serializers.IntegerField())
    skipped_unsupported = serializers.ListField(child=serializers.IntegerField())
    skipped_offtopic = serializers.ListField(child=serializers.IntegerField())


class CopywriterModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CopywriterModel
        fields = ["id", "version", "method", "is_active", "metrics", "loss_curve", "params", "created_at"]
        read_only_fields = fields


class CopywriterTrainingInputSerializer(serializers.Serializer):
    epochs = serializers.IntegerField(min_value=1, max_value=20, default=1)
    method = serializers.ChoiceField(choices=["lora", "full"], default="lora")
    max_steps = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class CopywriterEvaluationReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = EvaluationReport
        fields = ["id", "dataset", "n_examples", "systems", "created_at"]
        read_only_fields = fields
