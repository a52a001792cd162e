"""What the copywriter stores: drafts under review, description history, model versions, evaluations."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ecomops.models.scoped import StoreOwned, StoreScopedManager


class DraftStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    EDITED = "edited", "Edited"
    APPROVED = "approved", "Approved"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"


OPEN_DRAFT_STATUSES = frozenset({DraftStatus.DRAFT, DraftStatus.EDITED, DraftStatus.APPROVED})


class CopywriterModel(StoreOwned):
    """A fine-tuned model version of one store (the base model has no row: version None means base)."""

    class Method(models.TextChoices):
        LORA = "lora", "LoRA adapter"
        FULL = "full", "Full fine-tune"

    version = models.PositiveIntegerField()
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.LORA)
    path = models.CharField(max_length=500, help_text="Directory of the saved weights / adapter")
    is_active = models.BooleanField(default=False)
    metrics = models.JSONField(default=dict, blank=True)
    loss_curve = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey("ecomops.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["store", "version"], name="copywriter_model_unique_version")]

    def __str__(self) -> str:
        return f"v{self.version} ({self.method})"

    @property
    def label(self) -> str:
        return f"store-v{self.version}-{self.method}"


class DescriptionDraft(StoreOwned):
    product = models.ForeignKey("ecomops.Product", on_delete=models.CASCADE, related_name="copy_drafts")
    job = models.ForeignKey("ecomops.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=12, choices=DraftStatus.choices, default=DraftStatus.DRAFT)
    description = models.TextField()
    bullets = models.JSONField(default=list, blank=True)
    meta_title = models.CharField(max_length=60, blank=True)
    meta_description = models.CharField(max_length=155, blank=True)
    unsupported_facts = models.JSONField(default=list, blank=True)
    covered_attributes = models.JSONField(default=list, blank=True)
    missing_attributes = models.JSONField(default=list, blank=True)
    offtopic_sentences = models.JSONField(
        default=list, blank=True,
        help_text="Sentences the relevance check calls off-topic or naming another product type: "
                  "[{text, score, reason, family}]")
    warnings = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=40, help_text="model, model+edited or template")
    model_version = models.ForeignKey(CopywriterModel, on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="drafts")
    model_label = models.CharField(max_length=80, help_text="Which model wrote it, e.g. smollm2-135m-instruct")
    raw_text = models.TextField(blank=True, help_text="The model's text before grounding edits")
    new_tokens = models.PositiveIntegerField(default=0)
    reject_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["store", "status", "-created_at"], name="copy_draft_store_status")]

    def __str__(self) -> str:
        return f"draft {self.pk} {self.product_id} {self.status}"

    @property
    def has_unsupported_facts(self) -> bool:
        return bool(self.unsupported_facts)

    @property
    def passes_checks(self) -> bool:
        """Neither fact checker nor relevance check found anything: what bulk approval requires."""
        return not self.unsupported_facts and not self.offtopic_sentences


class DescriptionRevision(StoreOwned):
    """One entry of a product's description history: who, when, which text, written by whom or which model."""

    class Source(models.TextChoices):
        HUMAN = "human", "Human"
        MODEL = "model", "Model"
        RESTORE = "restore", "Restore"

    product = models.ForeignKey("ecomops.Product", on_delete=models.CASCADE, related_name="description_revisions")
    description = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    model_label = models.CharField(max_length=80, blank=True)
    draft = models.ForeignKey(DescriptionDraft, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.product_id} {self.source} {self.created_at:%Y-%m-%d %H:%M}"


class EvaluationReport(models.Model):
    """The figures of one evaluate_copywriter run; store is empty for a run on an external CSV only."""

    store = models.ForeignKey("ecomops.Store", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    dataset = models.CharField(max_length=500)
    n_examples = models.PositiveIntegerField()
    systems = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StoreScopedManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"eval {self.dataset} n={self.n_examples}"
