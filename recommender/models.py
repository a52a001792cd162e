"""What the recommender stores: trained model versions, the per-store serving config, served impressions
(with their attributed clicks and purchases) and offline evaluation reports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from ecomops.models.scoped import StoreOwned


class ModelStatus(models.TextChoices):
    TRAINING = "training", "Training"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class RecommenderModel(StoreOwned):
    """One trained version of one algorithm for one store. Exactly one version per store may be active."""

    algorithm = models.CharField(max_length=32)
    version = models.PositiveIntegerField(help_text="Per store, increasing")
    status = models.CharField(max_length=16, choices=ModelStatus.choices, default=ModelStatus.TRAINING)
    is_active = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True, help_text="Hyper-parameters")
    data_window_start = models.DateTimeField(null=True, blank=True)
    data_window_end = models.DateTimeField(null=True, blank=True)
    data_stats = models.JSONField(default=dict, blank=True, help_text="customers, items, interactions")
    metrics = models.JSONField(default=dict, blank=True, help_text="Validation metrics (leave-last-out)")
    training_log = models.JSONField(default=list, blank=True, help_text="One entry per epoch")
    artifact_path = models.CharField(max_length=500, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    artifact_bytes = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why training failed")
    load_error = models.TextField(blank=True, help_text="Why serving could not load the artifact")
    job = models.ForeignKey("ecomops.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["store", "version"], name="recmodel_unique_store_version"),
            models.UniqueConstraint(
                fields=["store"], condition=models.Q(is_active=True), name="recmodel_one_active_per_store"
            ),
        ]
        indexes = [models.Index(fields=["store", "status", "-version"], name="recmodel_store_status")]

    def __str__(self) -> str:
        return f"{self.algorithm} v{self.version}"

    @property
    def label(self) -> str:
        return f"{self.algorithm} v{self.version}"


class RecommenderConfig(StoreOwned):
    """Per-store serving settings: an optional A/B split and the nightly retrain."""

    challenger = models.ForeignKey(
        RecommenderModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="Served to `challenger_share` of customers (by a stable hash of their id)",
    )
    challenger_share = models.FloatField(default=0.0)
    nightly_retrain = models.BooleanField(default=False)
    nightly_algorithm = models.CharField(max_length=32, default="sasrec")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store"], name="recconfig_unique_store")]

    def __str__(self) -> str:
        return f"recommender config of store {self.store_id}"


class Surface(models.TextChoices):
    CUSTOMER = "customer", "For a customer"
    SIMILAR = "similar", "Similar items"
    BOUGHT_TOGETHER = "bought_together", "Bought together"
    TRENDING = "trending", "Trending"


class RecommendationImpression(StoreOwned):
    """One served list. Clicks (a later view of a listed product) and purchases are attributed to it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    model = models.ForeignKey(RecommenderModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    surface = models.CharField(max_length=20, choices=Surface.choices)
    customer = models.ForeignKey("ecomops.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    product_ids = models.JSONField(default=list)
    fallback = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)
    attributed_at = models.DateTimeField(null=True, blank=True)
    clicked = models.BooleanField(default=False)
    purchased = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["store", "created_at"], name="recimp_store_created")]

    def __str__(self) -> str:
        return f"{self.surface} @ {self.created_at:%Y-%m-%d %H:%M}"


class EvaluationReport(models.Model):
    """An offline evaluation run. `store` is null for public datasets (no merchant data in them)."""

    store = models.ForeignKey("ecomops.Store", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    dataset = models.CharField(max_length=300)
    report = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.dataset} @ {self.created_at:%Y-%m-%d %H:%M}"
