"""Thin Celery jobs of the support app: embed changed knowledge, train the intent classifier."""

from __future__ import annotations

from ecomops.services.jobs import job_progress
from ecomops.tasks_base import job_task
from support.services.classifier import TRAIN_JOB_KIND, classifier_train
from support.services.knowledge import EMBED_JOB_KIND, knowledge_embed_pending


@job_task(kind=EMBED_JOB_KIND, queue="inference", label="Embed changed support knowledge", time_limit=1800)
def support_embed(job, **_ignored):
    return knowledge_embed_pending(
        store=job.store, progress=lambda pct, msg: job_progress(job=job, progress=pct, message=msg)
    )


@job_task(kind=TRAIN_JOB_KIND, queue="training", label="Train the support intent classifier", time_limit=1800)
def support_train(job, training_set: str = "auto", base_upload: str | None = None, extra_upload: str | None = None,
                  **_ignored):
    """Examples come from settings and the shipped team file; `base_upload`/`extra_upload` name files that
    train_support stored server-side (never a path)."""
    version = classifier_train(
        store=job.store,
        training_set=training_set,
        base_upload=base_upload,
        extra_upload=extra_upload,
        job=job,
        progress=lambda pct, msg: job_progress(job=job, progress=pct, message=msg),
    )
    return {"version": version.version, "accuracy": version.metrics.get("accuracy"),
            "macro_f1": version.metrics.get("macro_f1")}
