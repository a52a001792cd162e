"""Thin Celery tasks of the support app: embed changed knowledge, train the intent classifier (jobs), and answer a
widget message (a plain task on `inference`: one per customer message, streamed back through the channel layer).

No job parameter is a file path: the Bitext set's location comes from settings (SUPPORT_BITEXT_CSV), and an
operator's training file is copied server-side by `train_support` and referenced by its content hash.
"""

from __future__ import annotations

from celery import shared_task
from rest_framework import serializers

from ecomops.job_params import JobParamsSerializer
from ecomops.services.jobs import job_progress
from ecomops.tasks_base import job_task
from support.services.classifier import TRAIN_JOB_KIND, TRAINING_SETS, classifier_train
from support.services.knowledge import EMBED_JOB_KIND, knowledge_embed_pending
from support.services.widget import ANSWER_TASK, widget_answer_run


@job_task(kind=EMBED_JOB_KIND, queue="inference", label="Embed changed support knowledge", time_limit=1800,
          max_concurrent=8)
def support_embed(job):
    return knowledge_embed_pending(
        store=job.store, progress=lambda pct, msg: job_progress(job=job, progress=pct, message=msg)
    )


class TrainParams(JobParamsSerializer):
    """Which examples to train on; a file only by the name train_support stored it under (never a path)."""

    training_set = serializers.ChoiceField(choices=TRAINING_SETS, required=False, default="auto")
    base_upload = serializers.RegexField(r"^[0-9a-f]{64}\.csv$", required=False, allow_null=True)
    extra_upload = serializers.RegexField(r"^[0-9a-f]{64}\.csv$", required=False, allow_null=True)


@job_task(kind=TRAIN_JOB_KIND, queue="training", label="Train the support intent classifier", time_limit=1800,
          params=TrainParams, max_concurrent=2)
def support_train(job, training_set: str = "auto", base_upload: str | None = None, extra_upload: str | None = None):
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


# Not acks_late: answering stores the question and the reply, so running it twice would answer twice.
@shared_task(name=ANSWER_TASK, time_limit=180, soft_time_limit=150, ignore_result=True)
def support_widget_answer(conversation_id: int, text: str, request_id: str) -> str:
    return widget_answer_run(conversation_id=conversation_id, text=text, request_id=request_id)
