"""What support stores: knowledge (FAQ, policy chunks, product cards) with embeddings, intent classifier
versions, conversations and their messages."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ecomops.models.scoped import StoreOwned


class KnowledgeKind(models.TextChoices):
    FAQ = "faq", "FAQ entry"
    POLICY = "policy", "Policy section"
    PRODUCT = "product", "Product"


class SupportState(StoreOwned):
    """One row per store: the knowledge version stamp. Every knowledge write bumps it, so each worker's
    in-memory index knows when it is stale (edits and deletions included)."""

    knowledge_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store"], name="supportstate_unique_store")]


class PolicyPage(StoreOwned):
    """A policy page (markdown or text). Saved pages are chunked by heading into KnowledgeEntry rows."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="policypage_unique_store_slug")]
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class KnowledgeEntry(StoreOwned):
    kind = models.CharField(max_length=16, choices=KnowledgeKind.choices, default=KnowledgeKind.FAQ)
    title = models.CharField(max_length=500, help_text="The FAQ question, the policy heading or the product title")
    text = models.TextField(help_text="The FAQ answer, the policy section or the product card")
    source_key = models.CharField(
        max_length=200, blank=True, help_text="Where a derived entry comes from: 'policy:<id>:<n>', 'product:<id>'"
    )
    policy_page = models.ForeignKey(PolicyPage, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    product = models.ForeignKey(
        "ecomops.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    embedding = models.BinaryField(null=True, blank=True, editable=False, help_text="float32[384], unit length")
    embedded_hash = models.CharField(max_length=64, blank=True, editable=False, help_text="sha256 of embedded text")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["store", "kind"], name="knowledge_store_kind"),
            models.Index(fields=["store", "source_key"], name="knowledge_store_source"),
        ]
        ordering = ["kind", "title"]
        verbose_name_plural = "knowledge entries"

    def __str__(self) -> str:
        return f"{self.kind}: {self.title[:60]}"


class ClassifierVersion(StoreOwned):
    version = models.PositiveIntegerField()
    is_active = models.BooleanField(default=False)
    artifact = models.BinaryField(editable=False, help_text="The head: npz of classes, weights, temperature")
    metrics = models.JSONField(default=dict, blank=True)
    training_source = models.CharField(max_length=300, blank=True)
    job = models.ForeignKey("ecomops.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "version"], name="classifierversion_unique_store_version")
        ]
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"


class ConversationStatus(models.TextChoices):
    BOT = "bot", "With the bot"
    WAITING = "waiting", "Waiting for a human"
    RESOLVED = "resolved", "Resolved"


class Conversation(StoreOwned):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session_key = models.CharField(max_length=64, blank=True, help_text="Anonymous widget session id")
    channel = models.CharField(max_length=16, default="widget", help_text="widget, api or inbox")
    customer = models.ForeignKey("ecomops.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    customer_email = models.EmailField(blank=True)
    status = models.CharField(max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.BOT)
    last_intent = models.CharField(max_length=64, blank=True)
    handoff_intent = models.CharField(max_length=64, blank=True)
    handoff_reason = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True, help_text="The bot's summary for the agent")
    suggested_reply = models.TextField(blank=True)
    failed_answers = models.PositiveSmallIntegerField(default=0)
    csat = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    handed_off_at = models.DateTimeField(null=True, blank=True)
    first_human_reply_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by_human = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["store", "status", "-updated_at"], name="conversation_store_status"),
            models.Index(fields=["store", "session_key"], name="conversation_store_session"),
        ]
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"


class MessageRole(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    BOT = "bot", "Bot"
    AGENT = "agent", "Agent"
    NOTE = "note", "Internal note"
    SYSTEM = "system", "System"


class Message(StoreOwned):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    intent = models.CharField(max_length=64, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    sources = models.JSONField(default=list, blank=True)
    grounded = models.BooleanField(null=True, blank=True)
    answer_mode = models.CharField(max_length=16, blank=True, help_text="generated, extractive, order, handoff, ...")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["store", "conversation", "created_at"], name="message_store_conv_time")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"
