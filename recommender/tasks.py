"""Thin Celery doors: the training job and the nightly retrain (STYLE.md §3)."""

from __future__ import annotations

from celery import shared_task

from ecomops.models import Store
from ecomops.services.jobs import job_create, job_progress
from ecomops.tasks_base import job_task
from recommender.ml.registry import MODEL_NAMES
from recommender.services.training import model_train

TRAIN_KIND = "recommender_train"


@job_task(kind=TRAIN_KIND, queue="training", label="Train recommender", time_limit=3600)
def recommender_train(job, algorithm: str = "sasrec", window_days: int | None = None, activate: bool | None = None,
                      params: dict | None = None, **_ignored):
    """Train one algorithm, or every algorithm when `algorithm` is "all" (each its own version)."""
    names = list(MODEL_NAMES) if algorithm == "all" else [algorithm]
    results = []
    for n, name in enumerate(names):
        lo, span = 100 * n // len(names), 100 // len(names)

        def progress(pct: int, message: str, lo=lo, span=span, name=name) -> None:
            job_progress(job=job, progress=lo + pct * span // 100, message=f"[{name}] {message}")

        row = model_train(store=job.store, algorithm=name, params=params if len(names) == 1 else None,
                          window_days=window_days, activate=activate if len(names) == 1 else None,
                          created_by=job.created_by, job=job, on_progress=progress)
        results.append({"model_id": row.pk, "label": row.label, "metrics": row.metrics, "active": row.is_active})
    return {"models": results}


@shared_task(name="recommender.nightly_retrain", time_limit=300)
def nightly_retrain() -> int:
    """Queue a training job for every store that asked for a nightly retrain."""
    from recommender.models import RecommenderConfig

    queued = 0
    for config in RecommenderConfig.objects.filter(nightly_retrain=True).select_related("store"):
        store: Store = config.store
        job_create(store=store, kind=TRAIN_KIND, params={"algorithm": config.nightly_algorithm, "activate": True})
        queued += 1
    return queued
