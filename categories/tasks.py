"""Thin Celery door: the re-score job (train the store's head, re-score the catalogue, extract attributes)."""

from __future__ import annotations

from rest_framework import serializers

from categories.services import RESCORE_KIND, catalogue_rescore
from ecomops.job_params import JobParamsSerializer
from ecomops.services.jobs import job_progress
from ecomops.tasks_base import job_task


class RescoreParams(JobParamsSerializer):
    target_precision = serializers.FloatField(required=False, default=0.9, min_value=0.5, max_value=0.99,
                                              help_text="Precision the abstain threshold is chosen for")
    attributes = serializers.BooleanField(required=False, default=True,
                                          help_text="Also extract attribute suggestions")


@job_task(kind=RESCORE_KIND, queue="training", label="Suggest categories and attributes", time_limit=1800,
          params=RescoreParams, max_concurrent=1)
def categories_rescore(job, target_precision: float = 0.9, attributes: bool = True, listener=None):
    def progress(pct: int, message: str) -> None:
        job_progress(job=job, progress=pct, message=message)
        if listener is not None:
            listener(pct, message)

    return catalogue_rescore(store=job.store, job=job, target_precision=target_precision, attributes=attributes,
                             on_progress=progress)
