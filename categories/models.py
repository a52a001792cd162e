"""What is stored: the store's category model (the trained head and its abstain threshold) and the suggestions
waiting for a merchant's review. Nothing here changes a product; accepting a suggestion does (services)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ecomops.models.scoped import StoreOwned


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class SuggestionSource(models.TextChoices):
    STORE = "store", "Store's own categories"
    TAXONOMY = "taxonomy", "Shopify taxonomy (zero-shot)"


class SuggestionReason(models.TextChoices):
    MISSING = "missing", "No category"
    DOUBTFUL = "doubtful", "Category disagrees with a confident prediction"


class CategoryModel(StoreOwned):
    """One trained head per re-score; the newest is the store's current model."""

    source = models.CharField(max_length=16, choices=SuggestionSource.choices)
    features = models.CharField(max_length=32, blank=True)
    threshold = models.FloatField(help_text="Abstain below this confidence")
    target_precision = models.FloatField(default=0.9)
    classes = models.JSONField(default=list, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    head = models.BinaryField(null=True, blank=True, help_text="joblib of the fitted head (store source only)")
    job = models.ForeignKey("ecomops.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["store", "-created_at"], name="catmodel_store_created")]

    def __str__(self) -> str:
        return f"{self.source} model ({len(self.classes)} classes, threshold {self.threshold:.2f})"


class _Suggestion(StoreOwned):
    product = models.ForeignKey("ecomops.Product", on_delete=models.CASCADE, related_name="+")
    confidence = models.FloatField()
    status = models.CharField(max_length=16, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class CategorySuggestion(_Suggestion):
    path = models.CharField(max_length=300, help_text="Suggested category path")
    current_category = models.CharField(max_length=300, blank=True, help_text="The product's category when scored")
    reason = models.CharField(max_length=16, choices=SuggestionReason.choices)
    source = models.CharField(max_length=16, choices=SuggestionSource.choices)
    alternatives = models.JSONField(default=list, blank=True, help_text="[[path, confidence], ...] runners-up")
    model = models.ForeignKey(CategoryModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-confidence", "pk"]
        constraints = [models.UniqueConstraint(fields=["product"], condition=models.Q(status="pending"),
                                               name="catsugg_one_pending_per_product")]
        indexes = [models.Index(fields=["store", "status", "-confidence"], name="catsugg_store_status_conf")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.path} ({self.confidence:.2f}, {self.status})"


class AttributeSuggestion(_Suggestion):
    name = models.CharField(max_length=64)
    value = models.CharField(max_length=200)
    evidence = models.CharField(max_length=200, blank=True, help_text="The words it was read from")
    text_source = models.CharField(max_length=16, default="title", help_text="title or description")
    existing_key = models.CharField(max_length=100, blank=True, help_text="The merchant's key for it, if any")
    existing_value = models.CharField(max_length=200, blank=True, help_text="The merchant's value when extracted")

    class Meta:
        ordering = ["-confidence", "pk"]
        constraints = [models.UniqueConstraint(fields=["product", "name"], condition=models.Q(status="pending"),
                                               name="attrsugg_one_pending_per_name")]
        indexes = [models.Index(fields=["store", "status", "-confidence"], name="attrsugg_store_status_conf")]

    @property
    def conflicts(self) -> bool:
        return bool(self.existing_key)

    def __str__(self) -> str:
        return f"{self.product_id}: {self.name}={self.value} ({self.status})"
