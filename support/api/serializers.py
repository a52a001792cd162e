"""Explicit input and output serializers of the support API (logic lives in services)."""

from __future__ import annotations

from rest_framework import serializers

from support.models import ClassifierVersion, Conversation, KnowledgeEntry, KnowledgeKind, Message


class AnswerInputSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=10_000, allow_blank=True, trim_whitespace=False)
    customer_email = serializers.EmailField(required=False, allow_blank=True)
    order_number = serializers.CharField(required=False, allow_blank=True, max_length=64)
    customer_id = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                        help_text="The merchant's customer id, for a customer your system authenticated")
    conversation_id = serializers.UUIDField(required=False, allow_null=True)
    generate = serializers.BooleanField(required=False, default=True,
                                        help_text="False: quote the best passage instead of generating")


class SourceSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    id = serializers.IntegerField(required=False)
    kind = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField(required=False)
    cited = serializers.BooleanField()


class AnswerOutputSerializer(serializers.Serializer):
    answer = serializers.CharField()
    intent = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField(allow_null=True)
    sources = SourceSerializer(many=True)
    handoff = serializers.BooleanField()
    conversation_id = serializers.UUIDField()


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, read_only=True)

    class Meta:
        model = Message
        fields = ["id", "role", "text", "author", "intent", "confidence", "sources", "grounded", "answer_mode", "created_at"]
        read_only_fields = fields


class MessageCreateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["agent", "note", "customer"], default="agent")
    text = serializers.CharField(max_length=10_000, allow_blank=True)


class ConversationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Conversation
        fields = ["id", "channel", "status", "customer_email", "last_intent", "handoff_reason", "summary",
                  "suggested_reply", "csat", "created_at", "updated_at", "handed_off_at", "first_human_reply_at",
                  "resolved_at"]
        read_only_fields = fields  # changed only through the actions (services), never by PUT/PATCH


class HandoffSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why a human takes over (shown in the inbox)")


class ConversationCreateSerializer(serializers.Serializer):
    customer_email = serializers.EmailField(required=False, allow_blank=True)


class CsatSerializer(serializers.Serializer):
    csat = serializers.IntegerField(min_value=1, max_value=5)


class KnowledgeEntrySerializer(serializers.ModelSerializer):
    embedded = serializers.SerializerMethodField()

    class Meta:
        model = KnowledgeEntry
        fields = ["id", "kind", "title", "text", "is_active", "source_key", "embedded", "created_at", "updated_at"]
        read_only_fields = ["id", "source_key", "embedded", "created_at", "updated_at"]

    def get_embedded(self, obj) -> bool:
        return bool(obj.embedded_hash)

    def validate_kind(self, value):
        if value != KnowledgeKind.FAQ:
            raise serializers.ValidationError("Only FAQ entries are written here; policy pages and products sync themselves.")
        return value


class ClassifierVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClassifierVersion
        fields = ["id", "version", "is_active", "metrics", "training_source", "created_at"]
        read_only_fields = fields


class TrainInputSerializer(serializers.Serializer):
    intents_path = serializers.CharField(required=False, allow_blank=True)
