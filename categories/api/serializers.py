from __future__ import annotations

from rest_framework import serializers

from categories.ml.attributes import ATTRIBUTE_NAMES
from categories.models import AttributeSuggestion, CategorySuggestion, SuggestionReason, SuggestionStatus

MAX_ID = 2**63 - 1  # a bigint primary key; a larger number is a field error, not a database error


class CategorySuggestionOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    title = serializers.CharField(source="product.title", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)

    class Meta:
        model = CategorySuggestion
        fields = ["id", "sku", "title", "path", "confidence", "current_category", "reason", "source", "alternatives",
                  "status", "decided_by", "decided_at", "created_at"]


class AttributeSuggestionOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    title = serializers.CharField(source="product.title", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)

    class Meta:
        model = AttributeSuggestion
        fields = ["id", "sku", "title", "name", "value", "confidence", "evidence", "text_source", "existing_key",
                  "existing_value", "status", "decided_by", "decided_at", "created_at"]


class SuggestionQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=SuggestionStatus.choices, required=False, default="pending")
    min_confidence = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    reason = serializers.ChoiceField(choices=SuggestionReason.choices, required=False)


class AttributeQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=SuggestionStatus.choices, required=False, default="pending")
    min_confidence = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    name = serializers.ChoiceField(choices=list(ATTRIBUTE_NAMES), required=False)


class DecideIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=["accept", "reject"])
    category_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, default=list,
                                         max_length=1000)
    attribute_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, default=list,
                                          max_length=1000)
    overwrite = serializers.BooleanField(required=False, default=False,
                                         help_text="Replace a merchant's different attribute value")

    def validate(self, data):
        if not data["category_ids"] and not data["attribute_ids"]:
            raise serializers.ValidationError({"non_field_errors": ["Give category_ids or attribute_ids."]})
        return data


class DecideOut(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    conflicts = serializers.ListField(child=serializers.IntegerField(),
                                      help_text="Attribute suggestions left pending: the product has another value")
