"""Reads of the recommender, always scoped to one store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from ecomops.models import Store
from recommender.models import EvaluationReport, RecommendationImpression, RecommenderConfig, RecommenderModel


def model_versions(store: Store):
    return RecommenderModel.objects.for_store(store).order_by("-version")


def active_model(store: Store) -> RecommenderModel | None:
    return RecommenderModel.objects.for_store(store).filter(is_active=True).first()


def model_get(store: Store, model_id: int) -> RecommenderModel | None:
    return RecommenderModel.objects.for_store(store).filter(pk=model_id).first()


def config_for(store: Store) -> RecommenderConfig | None:
    return RecommenderConfig.objects.for_store(store).select_related("challenger").first()


def serving_problems(store: Store):
    """Versions that failed to load when a web process tried to serve them."""
    return RecommenderModel.objects.for_store(store).exclude(load_error="").order_by("-version")


def latest_reports(store: Store, *, limit: int = 5):
    """Evaluation reports of this store plus those on public datasets (they hold no merchant data)."""
    return EvaluationReport.objects.filter(Q(store=store) | Q(store__isnull=True)).order_by("-created_at")[:limit]


def impression_stats(store: Store, *, days: int = 30) -> list[dict[str, Any]]:
    """Served lists, click-through and conversion per model version (null model = trending fallback)."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        RecommendationImpression.objects.for_store(store).filter(created_at__gte=since)
        .values("model_id", "model__algorithm", "model__version")
        .annotate(
            impressions=Count("pk"),
            attributed=Count("pk", filter=Q(attributed_at__isnull=False)),
            clicks=Count("pk", filter=Q(clicked=True)),
            purchases=Count("pk", filter=Q(purchased=True)),
        )
        .order_by("-impressions")
    )
    out = []
    for row in rows:
        n = row["impressions"] or 1
        label = f"{row['model__algorithm']} v{row['model__version']}" if row["model_id"] else "trending (fallback)"
        out.append({**row, "label": label, "ctr": row["clicks"] / n, "conversion": row["purchases"] / n})
    return out


def training_job_running(store: Store):
    """The newest queued or running training job of the store, for the progress bar on the page."""
    from ecomops.models import Job, JobStatus

    return (
        Job.objects.for_store(store).filter(kind="recommender_train", status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
        .order_by("-created_at").first()
    )


def evaluation_job_running(store: Store):
    """The newest queued or running offline evaluation job of the store, for its progress bar."""
    from ecomops.models import Job, JobStatus
    from recommender.services.evaluation import EVALUATE_KIND

    return (
        Job.objects.for_store(store).filter(kind=EVALUATE_KIND, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
        .order_by("-created_at").first()
    )
