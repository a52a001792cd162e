"""Thin Celery tasks: job ids in, services do the work (generation on `inference`, training on `training`)."""

from __future__ import annotations

from copywriter.services.generation import GENERATE_JOB_KIND, run_generation_job
from copywriter.services.training import TRAIN_JOB_KIND, run_training_job
from ecomops.tasks_base import job_task


@job_task(kind=GENERATE_JOB_KIND, queue="inference", label="Generate product descriptions", time_limit=3600)
def copywriter_generate(job, **params):
    return run_generation_job(job, **params)


@job_task(kind=TRAIN_JOB_KIND, queue="training", label="Fine-tune the copywriter model", time_limit=3 * 3600)
def copywriter_train(job, **params):
    return run_training_job(job, **params)
