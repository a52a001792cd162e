"""Thin Celery tasks of the support app: embed changed knowledge, train the intent classifier (jobs), and answer a
widget message (a plain task on `inference`: one per customer message, streamed back through the channel layer).

No job kind takes parameters from a request or a job row: the training data's location comes from settings
(ECOMOPS_SUPPORT_BITEXT_PATH, default the shared Bitext dataset). Only the `train_support` command, running the
job in its own process, may hand it an operator's files (`inline`), which are never stored on the row.
"""

from __future__ import annotations

from celery import shared_task

from ecomops.services.jobs import job_progress
from ecomops.tasks_base import job_task
from support.services.classifier import TRAIN_JOB_KIND, classifier_train
from support.services.knowledge import EMBED_JOB_KIND, knowledge_embed_pending
from support.services.widget import ANSWER_TASK, widget_answer_run


@job_task(kind=EMBED_JOB_KIND, queue="inference", label="Embed changed support knowledge", time_limit=1800,
          max_concurrent=8)
def support_embed(job):
    return knowledge_embed_pending(
        store=job.store, progress=lambda pct, msg: job_progress(job=job, progress=pct, message=msg)
    )


@job_task(kind=TRAIN_JOB_KIND, queue="training", label="Train the support intent classifier", time_limit=1800,
          max_concurrent=2)
def support_train(job, bitext_path=None, intents_path=None):
    """`bitext_path` / `intents_path` arrive only from an in-process run (see the module docstring)."""
    version = classifier_train(
        store=job.store,
        bitext_path=bitext_path,
        intents_path=intents_path,
        job=job,
        progress=lambda pct, msg: job_progress(job=job, progress=pct, message=msg),
    )
    return {"version": version.version, "accuracy": version.metrics.get("accuracy"),
            "macro_f1": version.metrics.get("macro_f1")}


# Not acks_late: answering stores the question and the reply, so running it twice would answer twice.
@shared_task(name=ANSWER_TASK, time_limit=180, soft_time_limit=150, ignore_result=True)
def support_widget_answer(conversation_id: int, text: str, request_id: str) -> str:
    return widget_answer_run(conversation_id=conversation_id, text=text, request_id=request_id)
