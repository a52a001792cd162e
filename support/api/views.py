"""Support API: answer, conversations + messages, knowledge CRUD, classifier versions (thin doors to services)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from ecomops.api.base import StoreScopedAPIView, StoreScopedModelViewSet, StoreScopedViewSet
from ecomops.services.jobs import job_create, job_payload
from support import selectors
from support.models import ClassifierVersion, Conversation, KnowledgeEntry, MessageRole
from support.services import conversations as conv
from support.services.answering import answer_question
from support.services.classifier import TRAIN_JOB_KIND, classifier_activate
from support.services.knowledge import (
    KnowledgeInvalid,
    faq_entry_create,
    knowledge_entry_delete,
    knowledge_entry_update,
)

from . import serializers as s


class AnswerView(StoreScopedAPIView):
    """Answer a customer question: intent + confidence, cited sources, and whether a human takes over."""

    serializer_class = s.AnswerInputSerializer

    @extend_schema(request=s.AnswerInputSerializer, responses={200: s.AnswerOutputSerializer})
    def post(self, request, *args, **kwargs):
        data = s.AnswerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        conversation = None
        if v.get("conversation_id"):
            conversation = selectors.conversation_get(store=self.store, public_id=v["conversation_id"])
            if conversation is None:
                raise NotFound("No such conversation.")
        customer = None
        if v.get("customer_id"):
            customer = selectors.customer_by_external_id(store=self.store, external_id=v["customer_id"])
            if customer is None:
                raise ValidationError({"customer_id": ["No customer with this id in this store."]})
        result = answer_question(
            store=self.store, question=v["question"], customer_email=v.get("customer_email") or "",
            order_number=v.get("order_number") or "", customer=customer, conversation=conversation, channel="api",
            use_lm=None if v.get("generate", True) else False,
        )
        return Response(s.AnswerOutputSerializer(result.as_dict()).data)


class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StoreScopedViewSet):
    """Conversations are read here and changed only through explicit actions, each a service that broadcasts
    to the inbox and the customer's widget: messages, handoff, resolve, csat, and DELETE (erasure). There is no
    PUT/PATCH: a conversation's fields (its customer e-mail among them, which order look-ups trust) are the
    services' to set."""

    queryset_model = Conversation
    serializer_class = s.ConversationSerializer
    lookup_field = "public_id"
    filterset_fields = ["status", "last_intent"]

    def scoped_queryset(self):
        return selectors.conversations_for_store(store=self.store)

    @extend_schema(request=s.ConversationCreateSerializer, responses={201: s.ConversationSerializer})
    def create(self, request, *args, **kwargs):
        data = s.ConversationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = conv.conversation_start(store=self.store, channel="api",
                                               customer_email=data.validated_data.get("customer_email") or "")
        return Response(s.ConversationSerializer(conversation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MessageCreateSerializer, responses={200: s.MessageSerializer(many=True), 201: s.MessageSerializer})
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, *args, **kwargs):
        conversation = self.get_object()
        if request.method == "GET":
            return Response(s.MessageSerializer(selectors.messages_for(conversation, internal=True), many=True).data)
        data = s.MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role, text = data.validated_data["role"], data.validated_data["text"]
        try:
            if role == MessageRole.NOTE:
                message = conv.note_add(conversation=conversation, text=text, author=request.user)
            elif role == MessageRole.AGENT:
                message = conv.agent_reply_send(conversation=conversation, text=text, author=request.user)
            else:
                reply = answer_question(store=self.store, question=text, conversation=conversation, channel="api")
                message = reply.message
        except conv.ConversationActionInvalid as exc:
            raise ValidationError(exc.errors) from None
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Erase the conversation and its messages (e.g. a customer's deletion request); the inbox is told."""
        conv.conversation_delete(conversation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.HandoffSerializer, responses={200: s.ConversationSerializer})
    @action(detail=True, methods=["post"])
    def handoff(self, request, *args, **kwargs):
        """Put the conversation in the human queue (an agent takes it over from the bot)."""
        conversation = self.get_object()
        data = s.HandoffSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = conv.conversation_handoff(conversation=conversation, reason=data.validated_data["reason"],
                                                 intent=conversation.last_intent)
        return Response(s.ConversationSerializer(conversation).data)

    @extend_schema(request=None, responses={200: s.ConversationSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, *args, **kwargs):
        conversation = conv.conversation_resolve(conversation=self.get_object())
        return Response(s.ConversationSerializer(conversation).data)

    @extend_schema(request=s.CsatSerializer, responses={200: s.ConversationSerializer})
    @action(detail=True, methods=["post"])
    def csat(self, request, *args, **kwargs):
        conversation = self.get_object()  # another store's conversation is a 404 before the body is read
        data = s.CsatSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = conv.conversation_rate(conversation=conversation, score=data.validated_data["csat"])
        return Response(s.ConversationSerializer(conversation).data)


class KnowledgeViewSet(StoreScopedModelViewSet):
    queryset_model = KnowledgeEntry
    serializer_class = s.KnowledgeEntrySerializer
    filterset_fields = ["kind", "is_active"]
    search_fields = ["title", "text"]

    def scoped_queryset(self):
        return selectors.knowledge_for_store(store=self.store)

    def perform_create(self, serializer):
        try:
            serializer.instance = faq_entry_create(store=self.store, title=serializer.validated_data["title"],
                                                   text=serializer.validated_data["text"],
                                                   is_active=serializer.validated_data.get("is_active", True))
        except KnowledgeInvalid as exc:
            raise ValidationError(exc.errors) from None

    def perform_update(self, serializer):
        v = serializer.validated_data
        try:
            serializer.instance = knowledge_entry_update(entry=serializer.instance, title=v.get("title"),
                                                         text=v.get("text"), is_active=v.get("is_active"))
        except KnowledgeInvalid as exc:
            raise ValidationError(exc.errors) from None

    def perform_destroy(self, instance):
        knowledge_entry_delete(entry=instance)


class ClassifierVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StoreScopedViewSet):
    queryset_model = ClassifierVersion
    serializer_class = s.ClassifierVersionSerializer
    lookup_field = "version"

    def scoped_queryset(self):
        return selectors.classifier_versions(store=self.store)

    @extend_schema(request=None, responses={200: s.ClassifierVersionSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, *args, **kwargs):
        return Response(s.ClassifierVersionSerializer(classifier_activate(version=self.get_object())).data)

    @extend_schema(request=None, responses={202: dict})
    @action(detail=False, methods=["post"])
    def train(self, request, *args, **kwargs):
        job = job_create(store=self.store, kind=TRAIN_JOB_KIND, params={}, created_by=request.user)
        return Response(job_payload(job), status=status.HTTP_202_ACCEPTED)
